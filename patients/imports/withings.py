"""Withings Health Mate data export (device-formats.md, section 2): the ZIP or one of its CSVs.

From the ZIP we read only the members we understand, by base name, each through a size cap:
`bp.csv` (blood pressure; a row with a heart rate but no systolic/diastolic is a heart-rate
reading from a scale or watch, not blood pressure), `weight.csv` (weight and body composition,
which Withings gives as masses in kg: fat % and water % are derived with the weight of the same
row), `other.csv` (the only place with visceral fat and BMR; its percentages duplicate weight.csv
rounded to integers, so we skip them), `manual_spo2.csv` and `aggregates_steps.csv`. Files with
personal data (`account.csv`, `user.csv`, `devices.csv`) are never opened.
Dates are naive local times (`YYYY-MM-DD HH:MM:SS`); headers are localized to the account's
language (English verified; German and the French semicolon variant from single sources).
"""

from __future__ import annotations

import datetime
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import BinaryIO

from django.utils.translation import gettext as _

from patients.kinds import BLOOD_PRESSURE, KINDS

from . import archive
from .base import ImportFormatError, Item, Reading, RowError
from .common import (
    CsvFile,
    cell,
    find_columns,
    is_blank,
    normalise_header,
    number_error,
    parse_decimal,
    parse_int,
    parser,
    peek,
    percentage,
    short_row,
    split_header,
)
from .dates import NOON, DateFormatError, aware, parse_numeric_datetime

FORMAT_CODE = "withings"

DATE = ("date", "datum")
BP = {
    "date": DATE,
    "heart_rate": ("heartrate", "herzfrequenz", "fréquencecardiaque", "hartslag"),
    "systolic": ("systolic", "systole", "systolique", "systolisch"),
    "diastolic": ("diastolic", "diastole", "diastolique", "diastolisch"),
}
WEIGHT = {
    "date": DATE,
    "weight": ("weight(kg)", "gewicht(kg)", "poids(kg)"),
    "fat_mass": ("fatmass(kg)", "fettmasse(kg)", "massegrasse(kg)", "vetmassa(kg)"),
    "fat_ratio": ("fatratio(%)", "fatmass(%)", "tauxdegraisse(%)", "fettanteil(%)"),
    "bone_mass": ("bonemass(kg)", "knochenmasse(kg)", "masseosseuse(kg)", "botmassa(kg)"),
    "muscle_mass": ("musclemass(kg)", "muskelmasse(kg)", "massemusculaire(kg)", "spiermassa(kg)"),
    "hydration": ("hydration(kg)", "wasseranteil(kg)", "hydratation(kg)", "hydratatie(kg)"),
    "bmi": ("bmi",),
}
OTHER = {"type": ("type",), "date": DATE, "value": ("value",), "unit": ("unit",)}
DAILY = {"date": DATE, "value": ("value",)}
OTHER_TYPES = {"visceralfat": "visceral_fat", "bmr": "bmr"}
MEMBERS = ("bp.csv", "weight.csv", "other.csv", "manual_spo2.csv", "aggregates_steps.csv")


def table_for(keys: list[str], name: str = "") -> str | None:
    """Which Withings CSV a normalised header (and, for the two-column files, a name) is."""
    if {"date", "systolic", "diastolic"} <= find_columns(keys, BP).keys():
        return "bp.csv"
    if {"date", "weight"} <= find_columns(keys, WEIGHT).keys():
        return "weight.csv"
    if find_columns(keys, OTHER).keys() >= {"type", "date", "value"}:
        return "other.csv"
    if find_columns(keys, DAILY).keys() == {"date", "value"} and len(keys) == 2:
        base = archive.basename(name).casefold()
        if "spo2" in base:
            return "manual_spo2.csv"
        if "steps" in base:
            return "aggregates_steps.csv"
    return None


def sniff(header_line: str, name: str = "") -> str | None:
    for delimiter in (",", ";"):
        keys = [normalise_header(c) for c in split_header(header_line, delimiter)]
        table = table_for(keys, name)
        if table in ("bp.csv", "weight.csv"):
            return table
    return None


@dataclass(frozen=True)
class _File:
    header: list[str]
    col: dict[str, int]
    tz: datetime.tzinfo
    decimal_comma: bool

    def label(self, role: str) -> str:
        return self.header[self.col[role]].strip()[:40]


@parser(FORMAT_CODE)
def parse(stream: BinaryIO, *, filename: str, tz: datetime.tzinfo) -> Iterator[Item]:
    head, stream = peek(stream, 4)
    if archive.is_zip(head):
        yield from _parse_zip(stream, tz)
    else:
        yield from _parse_csv(stream, archive.basename(filename), tz, prefix="")


def _parse_zip(stream: BinaryIO, tz: datetime.tzinfo) -> Iterator[Item]:
    with archive.open_zip(stream) as zipped:
        yield from parse_archive(zipped, tz)


def parse_archive(zipped: zipfile.ZipFile, tz: datetime.tzinfo) -> Iterator[Item]:
    wanted = {archive.basename(n).casefold(): n for n in archive.member_names(zipped)}
    found = [wanted[m] for m in MEMBERS if m in wanted]
    if not found:
        raise ImportFormatError(
            _("This ZIP file is not a Withings export: it has no bp.csv or weight.csv.")
        )
    for name in found:
        with archive.open_member(zipped, name, archive.MAX_CSV_MEMBER_BYTES) as member:
            prefix = archive.basename(name)
            yield from _parse_csv(member, prefix, tz, prefix=prefix)  # type: ignore[arg-type]


def _parse_csv(stream: BinaryIO, name: str, tz: datetime.tzinfo, *, prefix: str) -> Iterator[Item]:
    source = CsvFile(stream)
    table = table_for(source.keys, name)
    if table is None and source.delimiter != ";":
        source.with_delimiter(";")
        table = table_for(source.keys, name)
    if table is None:
        raise ImportFormatError(
            _("“%(name)s” is not a Withings file we can read: its columns were not recognised.")
            % {"name": name[-80:]}
        )
    handler, synonyms = HANDLERS[table]
    ctx = _File(source.header, find_columns(source.keys, synonyms), tz, source.delimiter == ";")
    # other.csv is ragged by design: whole-body rows leave out the trailing position field.
    width = len(source.header) - (table == "other.csv")
    for line, row in source.rows():
        if all(is_blank(c) for c in row):
            continue
        items = [short_row(line, row, width)] if len(row) < width else handler(line, row, ctx)
        for item in items:
            if prefix and isinstance(item, RowError):
                item = RowError(item.line, f"{prefix}: {item.message}")
            yield item


def _when(line: int, text: str, tz: datetime.tzinfo) -> datetime.datetime | RowError:
    try:
        return parse_numeric_datetime(text, tz)
    except DateFormatError:
        return RowError(line, _("The date “%(value)s” cannot be read.") % {"value": text[:40]})


def _bp(line: int, row: list[str], ctx: _File) -> Iterator[Item]:
    measured_at = _when(line, cell(row, ctx.col["date"]), ctx.tz)
    if isinstance(measured_at, RowError):
        yield measured_at
        return
    values: dict[str, int | None] = {}
    for role in ("systolic", "diastolic", "heart_rate"):
        text = cell(row, ctx.col.get(role))
        try:
            values[role] = parse_int(text)
        except ValueError:
            yield RowError(line, number_error(ctx.label(role), text))
            return
    systolic, diastolic, rate = values["systolic"], values["diastolic"], values["heart_rate"]
    if systolic is None and diastolic is None:
        # Scales and watches write their heart rate into bp.csv too: not a blood pressure.
        if rate is not None:
            yield Reading(line, "heart_rate", measured_at, value=Decimal(rate))
        return
    if systolic is None or diastolic is None:
        yield RowError(line, _("The systolic or diastolic pressure is missing."))
        return
    yield Reading(
        line, BLOOD_PRESSURE, measured_at, systolic=systolic, diastolic=diastolic, pulse=rate
    )


def _weight(line: int, row: list[str], ctx: _File) -> Iterator[Item]:
    measured_at = _when(line, cell(row, ctx.col["date"]), ctx.tz)
    if isinstance(measured_at, RowError):
        yield measured_at
        return
    values: dict[str, Decimal | None] = {}
    for role, index in ctx.col.items():
        if role == "date":
            continue
        text = cell(row, index)
        try:
            values[role] = parse_decimal(text, decimal_comma=ctx.decimal_comma)
        except ValueError:
            yield RowError(line, number_error(ctx.label(role), text))
            return
    weight = values.get("weight")
    direct = {
        "weight": weight,
        "body_fat": values.get("fat_ratio"),
        "bone_mass": values.get("bone_mass"),
        "muscle_mass": values.get("muscle_mass"),
        "bmi": values.get("bmi"),
    }
    for kind, value in direct.items():
        if value is not None:
            yield Reading(line, kind, measured_at, value=value)
    for role, kind in (("fat_mass", "body_fat"), ("hydration", "body_water")):
        mass = values.get(role)
        if mass is None or direct.get(kind) is not None:
            continue
        if not weight:
            yield RowError(
                line,
                _("%(kind)s cannot be computed without the weight of the same row.")
                % {"kind": KINDS[kind].label},
            )
            continue
        yield Reading(line, kind, measured_at, value=percentage(mass, weight))


def _other(line: int, row: list[str], ctx: _File) -> Iterator[Item]:
    kind = OTHER_TYPES.get(normalise_header(cell(row, ctx.col["type"])).replace("_", ""))
    # Segmental values carry a body position; the portal keeps whole-body values only.
    if kind is None or (len(row) > 4 and not is_blank(row[4])):
        return
    yield from _single(line, row, ctx, kind)


def _daily(kind: str) -> Callable[[int, list[str], _File], Iterator[Item]]:
    def handle(line: int, row: list[str], ctx: _File) -> Iterator[Item]:
        yield from _single(line, row, ctx, kind)

    return handle


def _single(line: int, row: list[str], ctx: _File, kind: str) -> Iterator[Item]:
    text = cell(row, ctx.col["value"])
    try:
        value = parse_decimal(text, decimal_comma=ctx.decimal_comma)
    except ValueError:
        yield RowError(line, number_error(str(KINDS[kind].label), text))
        return
    if value is None:
        return
    date_text = cell(row, ctx.col["date"])
    if kind == "steps" and len(date_text) == 10:
        # A daily total: at local noon, like the Apple Health step totals.
        measured_at: datetime.datetime | RowError = _day_at_noon(line, date_text, ctx.tz)
    else:
        measured_at = _when(line, date_text, ctx.tz)
    if isinstance(measured_at, RowError):
        yield measured_at
        return
    yield Reading(line, kind, measured_at, value=value)


def _day_at_noon(line: int, text: str, tz: datetime.tzinfo) -> datetime.datetime | RowError:
    try:
        return aware(datetime.date.fromisoformat(text), NOON, tz)
    except ValueError:
        return RowError(line, _("The date “%(value)s” cannot be read.") % {"value": text[:40]})


Handler = Callable[[int, list[str], _File], Iterator[Item]]
HANDLERS: dict[str, tuple[Handler, dict[str, tuple[str, ...]]]] = {
    "bp.csv": (_bp, BP),
    "weight.csv": (_weight, WEIGHT),
    "other.csv": (_other, OTHER),
    "manual_spo2.csv": (_daily("spo2"), DAILY),
    "aggregates_steps.csv": (_daily("steps"), DAILY),
}
