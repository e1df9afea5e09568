"""OMRON connect CSV reports (device-formats.md, section 1).

Two families, told apart by their header (normalised: NFKC, no spaces, case-folded):
- the US/EMEA "Your Requested OMRON Report": separate date and time columns, month names in the
  phone's language, no time zone. English 9 columns (no flag columns, so the irregular
  heartbeat is unknown: None), Dutch and Spanish 17 columns ("complete" report: irregular
  heartbeat in column 9, device in column 16), German (only five column names are known, so
  the rest is matched by name where we can and never required);
- the Asia/Pacific export: every field quoted, `YYYY/MM/DD HH:MM` with an IANA zone per row, a
  blood-pressure file and a body-composition file; and the APAC "BP logbook" headers (section
  1e; their rows are undocumented, we read them like the APAC export).
The English 17-column header has never been seen: for a 17-column report whose flag columns
have unknown names we fall back on the positions the Dutch and Spanish headers share.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from patients.kinds import BLOOD_PRESSURE, KINDS

from .base import ImportFormatError, Item, Reading, RowError
from .common import (
    DELIMITERS,
    CsvFile,
    cell,
    clean_device,
    find_columns,
    is_blank,
    normalise_header,
    number_error,
    parse_decimal,
    parse_int,
    parser,
    short_row,
    split_header,
)
from .dates import (
    DateFormatError,
    aware,
    parse_clock,
    parse_month_name_date,
    parse_numeric_datetime,
)

FORMAT_CODE = "omron"

REPORT = {  # US/EMEA connect report
    "date": ("date", "datum", "fecha", "fechademedición"),
    "time": ("time", "tijd", "zeit", "uhrzeit", "hora", "heure"),
    "systolic": ("systolic(mmhg)", "systolisch(mmhg)", "sistólica(mmhg)", "systolique(mmhg)"),
    "diastolic": (
        "diastolic(mmhg)", "diastolisch(mmhg)", "diastólica(mmhg)", "diastolique(mmhg)",
    ),
    "pulse": ("pulse(bpm)", "hartslag(spm)", "puls(bpm)", "puls(spm)", "pulso(ppm)",
              "pouls(bpm)", "hartslag(bpm)"),
    "irregular": ("onregelmatigehartslaggedetecteerd", "sedetectólatidoarrítmico",
                  "irregularheartbeatdetected", "irregularheartbeat",
                  "unregelmäßigerherzschlagerkannt", "unregelmäßigerherzschlag"),
    "device": ("apparaat", "dispositivo", "device", "gerät", "appareil"),
}  # fmt: skip
APAC = {  # Asia/Pacific export and BP logbook (section 1d/1e), all languages of the logbook
    "date": ("measurementdate", "messdatum", "datumvanmeting", "datedemesure",
             "fechademedición", "datamisurazione", "datapomiaru", "測定日"),
    "zone": ("timezone", "zeitzone", "tijdzone", "fuseauhoraire", "zonahoraria", "fusoorario",
             "strefaczasowa", "タイムゾーン"),
    "systolic": ("sys(mmhg)", "sys", "最高血圧(mmhg)"),
    "diastolic": ("dia(mmhg)", "dia", "最低血圧(mmhg)"),
    "pulse": ("pulse(bpm)", "pulse", "pulso", "脈拍(bpm)"),
    "irregular": ("irregularheartbeatdetected",),
    "device": ("device", "devicemodelname", "modellnamedesgeräts", "modelnaamapparaat",
               "nomdumodèledel’appareil", "nomdumodèledel'appareil",
               "nombredelmodelodedispositivo", "nomemodellodispositivo",
               "nazwamodeluurządzenia", "機種"),
    # body-composition file
    "weight": ("weight(kg)",),
    "body_fat": ("bodyfat(%)",),
    "visceral_fat": ("visceralfat",),
    "bmr": ("restingmetabolism(kcal)",),
    "skeletal_muscle": ("skeletalmuscle(%)",),
    "bmi": ("bmi",),
}  # fmt: skip
BODY_KINDS = ("weight", "body_fat", "visceral_fat", "bmr", "skeletal_muscle", "bmi")
# The 17-column report's flag columns by position, shared by the Dutch and Spanish headers.
COMPLETE_COLUMNS = 17
COMPLETE_POSITIONS = {"irregular": 8, "device": 15}
NEGATIVE_FLAGS = frozenset(
    {"no", "nee", "nein", "non", "off", "0", "false", "notdetected", "nietgedetecteerd",
     "nichterkannt", "nodetectado", "nondétecté"}
)  # fmt: skip


@dataclass(frozen=True)
class Layout:
    family: str  # "report", "apac_bp" or "apac_body"
    columns: dict[str, int]


def layout_for(keys: list[str]) -> Layout | None:
    """Which OMRON family a normalised header belongs to, and where its columns are."""
    report = find_columns(keys, REPORT)
    if {"date", "time", "systolic", "diastolic"} <= report.keys():
        if len(keys) == COMPLETE_COLUMNS:
            for role, index in COMPLETE_POSITIONS.items():
                report.setdefault(role, index)
        return Layout("report", report)
    apac = find_columns(keys, APAC)
    if {"date", "zone", "systolic", "diastolic"} <= apac.keys():
        return Layout("apac_bp", apac)
    if {"date", "zone", "weight"} <= apac.keys():
        return Layout("apac_body", apac)
    return None


def sniff(header_line: str) -> tuple[str, Layout] | None:
    """(delimiter, layout) when a header line is an OMRON header under some delimiter."""
    for delimiter in DELIMITERS:
        keys = [normalise_header(c) for c in split_header(header_line, delimiter)]
        layout = layout_for(keys)
        if layout:
            return delimiter, layout
    return None


@parser(FORMAT_CODE)
def parse(stream: BinaryIO, *, filename: str, tz: datetime.tzinfo) -> Iterator[Item]:
    source = CsvFile(stream)
    found = sniff(source.header_text)
    if not found:
        raise ImportFormatError(
            _(
                "This is not an OMRON report we can read: the columns for date, time, "
                "systolic and diastolic pressure were not found."
            )
        )
    delimiter, layout = found
    source.with_delimiter(delimiter)
    rows = source.rows()
    if layout.family == "report":
        width = len(source.header)
        yield from _report_rows(rows, layout.columns, tz, date_key=source.keys[0], width=width)
        return
    rows = _full_rows(rows, len(source.header))
    if layout.family == "apac_bp":
        yield from _apac_bp_rows(rows, layout.columns, tz)
    else:
        yield from _apac_body_rows(rows, layout.columns, tz)


def _full_rows(
    rows: Iterator[tuple[int, list[str]]], width: int
) -> Iterator[tuple[int, list[str]] | RowError]:
    """The rows with a field for every header column; a RowError for a short non-blank one."""
    for line, row in rows:
        if len(row) < width and not all(is_blank(c) for c in row):
            yield short_row(line, row, width)
        else:
            yield line, row


def _report_rows(
    rows: Iterator[tuple[int, list[str]]],
    col: dict[str, int],
    tz: datetime.tzinfo,
    date_key: str,
    width: int,
) -> Iterator[Item]:
    bp_columns = _BpColumns.of(col)
    date_at, time_at = col["date"], col["time"]
    for line, row in rows:
        # The first cell decides for almost every row; all() only for rows that start blank.
        if not row or (is_blank(row[0]) and all(is_blank(c) for c in row)):
            continue
        try:
            measured_at = aware(
                parse_month_name_date(cell(row, date_at)), parse_clock(cell(row, time_at)), tz
            )
        except DateFormatError:
            if normalise_header(cell(row, 0)) == date_key:
                # A second section (activity) follows after blank lines; it is not blood
                # pressure. (Checked only here: its header row never has a date.)
                return
            yield RowError(line, _date_error(cell(row, date_at), cell(row, time_at)))
            continue
        if len(row) < width:
            yield short_row(line, row, width)
            continue
        if item := _bp_reading(line, row, bp_columns, measured_at):
            yield item


def _apac_timed_rows(
    rows: Iterator[tuple[int, list[str]] | RowError], col: dict[str, int], tz: datetime.tzinfo
) -> Iterator[tuple[int, list[str], datetime.datetime] | RowError]:
    """The non-blank APAC rows with their time, or a RowError for a short row or a time that
    cannot be read."""
    for item in rows:
        if isinstance(item, RowError):
            yield item
            continue
        line, row = item
        if all(is_blank(c) for c in row):
            continue
        measured_at = _apac_time(line, row, col, tz)
        yield measured_at if isinstance(measured_at, RowError) else (line, row, measured_at)


def _apac_bp_rows(
    rows: Iterator[tuple[int, list[str]] | RowError], col: dict[str, int], tz: datetime.tzinfo
) -> Iterator[Item]:
    bp_columns = _BpColumns.of(col)
    for timed in _apac_timed_rows(rows, col, tz):
        if isinstance(timed, RowError):
            yield timed
            continue
        line, row, measured_at = timed
        if item := _bp_reading(line, row, bp_columns, measured_at):
            yield item


def _apac_body_rows(
    rows: Iterator[tuple[int, list[str]] | RowError], col: dict[str, int], tz: datetime.tzinfo
) -> Iterator[Item]:
    for timed in _apac_timed_rows(rows, col, tz):
        if isinstance(timed, RowError):
            yield timed
            continue
        line, row, measured_at = timed
        device = clean_device(cell(row, col.get("device")))
        for kind in BODY_KINDS:
            text = cell(row, col.get(kind))
            try:
                value = parse_decimal(text)
            except ValueError:
                yield RowError(line, number_error(str(KINDS[kind].label), text))
                continue
            if value is not None:
                yield Reading(line, kind, measured_at, value=value, device=device)


def _apac_time(
    line: int, row: list[str], col: dict[str, int], tz: datetime.tzinfo
) -> datetime.datetime | RowError:
    zone_name = cell(row, col["zone"])
    zone = tz
    if zone_name and not is_blank(zone_name):
        zone = _zone(zone_name)
        if zone is None:
            return RowError(line, _("Unknown time zone “%(zone)s”.") % {"zone": zone_name[:60]})
    text = cell(row, col["date"])
    try:
        return parse_numeric_datetime(text, zone)
    except DateFormatError:
        return RowError(line, _date_error(text, ""))


@lru_cache(maxsize=64)
def _zone(name: str) -> datetime.tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _BpColumns:
    """Where a blood-pressure file keeps its values, looked up once per file, not per row."""

    numbers: tuple[tuple[int | None, str], ...]  # (column, role) of systolic, diastolic, pulse
    irregular: int | None  # None: the report cannot tell
    device: int | None

    @classmethod
    def of(cls, col: dict[str, int]) -> _BpColumns:
        roles = ("systolic", "diastolic", "pulse")
        return cls(tuple((col.get(r), r) for r in roles), col.get("irregular"), col.get("device"))


def _bp_reading(
    line: int, row: list[str], columns: _BpColumns, measured_at: datetime.datetime
) -> Item | None:
    values: list[int | None] = []
    width = len(row)
    for index, role in columns.numbers:
        text = row[index].strip() if index is not None and index < width else ""  # cell(), inline
        try:
            # parse_int's own first case, inline: three cells a row of 100,000s
            values.append(int(text) if text.isascii() and text.isdigit() else parse_int(text))
        except ValueError:
            return RowError(line, number_error(_role_label(role), text))
    systolic, diastolic, pulse = values
    if systolic is None and diastolic is None and pulse is None:
        return None  # a row of blanks or OMRON's INT_MIN sentinels: nothing was measured
    if systolic is None or diastolic is None:
        return RowError(line, _("The systolic or diastolic pressure is missing."))
    flag = None if columns.irregular is None else _flag(cell(row, columns.irregular))
    return Reading(
        line,
        BLOOD_PRESSURE,
        measured_at,
        systolic=systolic,
        diastolic=diastolic,
        pulse=pulse,
        irregular_heartbeat=flag,
        device="" if columns.device is None else clean_device(cell(row, columns.device)),
    )


def _flag(text: str) -> bool | None:
    """Blank is unknown (OMRON leaves flag cells blank when a cuff cannot tell); a negative word
    is False; any other text (the flag vocabulary was never published) means the flag is set."""
    if is_blank(text):
        return None
    return "".join(text.split()).casefold() not in NEGATIVE_FLAGS


def _role_label(role: str) -> str:
    return {
        "systolic": _("Systolic pressure"),
        "diastolic": _("Diastolic pressure"),
        "pulse": _("Pulse"),
    }[role]


def _date_error(date_text: str, time_text: str) -> str:
    return _("The date or time “%(value)s” cannot be read.") % {
        "value": f"{date_text} {time_text}".strip()[:60]
    }
