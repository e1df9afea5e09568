"""Apple Health "Export All Health Data" (device-formats.md, section 3): export.zip or export.xml.

Streamed: `iterparse` (through defusedxml) reads 16 KB at a time and every top-level element is
dropped from the tree once handled, so memory does not grow with the millions of heart-rate and
step samples that make these files hundreds of MB. What is kept until the end is small and
bounded by the patient's history, not by the file: blood-pressure halves waiting for their
partner (one entry per BP reading) and per-day totals (steps, exercise minutes, sleep).

Security: the export carries an internal DTD (element and attribute declarations only), so a
DOCTYPE is allowed, but any entity declaration (billion laughs) and any external reference are
refused by defusedxml and reported as an ImportFormatError. Control characters that older
exports contain (vertical tab) and XML 1.0 forbids are replaced by spaces before parsing.

Decisions:
- blood pressure: Apple writes the systolic and diastolic records inside a Correlation and again
  at top level. Both halves are keyed by (startDate, sourceName) and merged, so each reading is
  emitted once, paired whether it came from the correlation or only from top-level records;
- steps and exercise minutes are interval samples from the iPhone and the Watch that overlap:
  per local day (the patient's zone) we sum each source and keep the source with the largest
  total (what the Health app shows is a de-duplicated merge; summing every source inflates the
  count 2-4×). One reading per day at local noon, a neutral time away from midnight and DST
  changes, for the catalogue's per-day units;
- sleep: the asleep stages (Core, Deep, REM, Unspecified, and the old plain Asleep; not InBed
  or Awake) go to `sleep.Nights`, the one rule for a night shared with FHIR: noon to noon on
  the clock of each record's own startDate offset (not the patient's zone), dated by the day it
  starts, merged per source, the source with the most sleep, placed at the last wake-up;
- fractions: body fat and SpO2 are fractions (0.162); values above 1 are already percentages;
- `line` is the element's position under HealthData (ExportDate is 1), the "record number";
  a daily total carries the number of its first record.
"""

from __future__ import annotations

import datetime
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from django.utils.translation import gettext as _

from patients.kinds import BLOOD_PRESSURE

from . import archive
from .base import ImportFormatError, Item, Reading, RowError
from .common import clean_device, parser, peek, round2
from .sleep import Nights

FORMAT_CODE = "apple"

Q = "HKQuantityTypeIdentifier"
SYSTOLIC = Q + "BloodPressureSystolic"
DIASTOLIC = Q + "BloodPressureDiastolic"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
ASLEEP = frozenset(
    "HKCategoryValueSleepAnalysis" + v
    for v in ("Asleep", "AsleepUnspecified", "AsleepCore", "AsleepDeep", "AsleepREM")
)
LB = Decimal("0.45359237")
STONE = Decimal("6.35029318")
MASS_TO_KG = {"kg": Decimal(1), "lb": LB, "g": Decimal("0.001"), "st": STONE}
# type → (kind, {unit: converter}); a missing unit in the table is a row error.
INSTANT = {
    Q + "HeartRate": ("heart_rate", {"count/min": None}),
    Q + "BodyMass": ("weight", MASS_TO_KG),
    Q + "BodyMassIndex": ("bmi", {"count": None, "": None}),
    Q + "BodyFatPercentage": ("body_fat", {"%": "fraction"}),
    Q + "OxygenSaturation": ("spo2", {"%": "fraction"}),
    Q + "BodyTemperature": ("body_temperature", {"degC": None, "degF": "fahrenheit"}),
}
DAILY = {Q + "StepCount": "steps", Q + "AppleExerciseTime": "activity_minutes"}
DAILY_UNITS = {"steps": {"count"}, "activity_minutes": {"min"}}
# Control characters XML 1.0 forbids; in UTF-8 these bytes never occur inside a multi-byte
# character, so replacing them byte-wise is safe.
_CONTROL = bytes(range(0x00, 0x09)) + b"\x0b\x0c" + bytes(range(0x0E, 0x20))
_SCRUB = bytes.maketrans(_CONTROL, b" " * len(_CONTROL))
# Real elements are a few KB and a Workout has at most hundreds of children; hostile files that
# would make the parser buffer or build a huge subtree are refused.
MAX_RUN_BYTES = 1024 * 1024
MAX_CHILDREN = 10_000
_DEVICE_NAME = re.compile(r"name:([^,>]+)")


class _Scrubbed:
    """The XML bytes with forbidden control characters replaced, refusing a single tag or text
    run longer than MAX_RUN_BYTES (expat would buffer all of it: a memory bomb without entities).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._run = 0  # bytes since the last ">"

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        end = data.rfind(b">")
        self._run = self._run + len(data) if end < 0 else len(data) - end - 1
        if self._run > MAX_RUN_BYTES:
            raise ImportFormatError(_("The XML file has an element too large to be an export."))
        return data.translate(_SCRUB)


@parser(FORMAT_CODE)
def parse(stream: BinaryIO, *, filename: str, tz: datetime.tzinfo) -> Iterator[Item]:
    head, stream = peek(stream, 4)
    if not archive.is_zip(head):
        yield from parse_xml(stream, tz)
        return
    with archive.open_zip(stream) as zipped:
        yield from parse_archive(zipped, tz)


def parse_archive(zipped: zipfile.ZipFile, tz: datetime.tzinfo) -> Iterator[Item]:
    name = find_export_member(zipped)
    with archive.open_member(zipped, name, archive.MAX_XML_MEMBER_BYTES) as member:
        yield from parse_xml(member, tz)  # type: ignore[arg-type]


def find_export_member(zipped: zipfile.ZipFile) -> str:
    """`apple_health_export/export.xml`, any `*/export.xml`, else (localized exports such as
    `导出.xml`) the XML member whose root element is HealthData."""
    names = archive.member_names(zipped)
    if "apple_health_export/export.xml" in names:
        return "apple_health_export/export.xml"
    for name in names:
        if archive.basename(name) == "export.xml":
            return name
    for name in names:
        if name.endswith(".xml") and not name.endswith("export_cda.xml") and name.count("/") <= 1:
            with archive.open_member(zipped, name, archive.MAX_XML_MEMBER_BYTES) as member:
                if b"HealthData" in member.read(16 * 1024):
                    return name
    raise ImportFormatError(
        _("This ZIP file is not an Apple Health export: export.xml is missing.")
    )


@dataclass
class _BloodPressure:
    number: int
    systolic: str = ""
    diastolic: str = ""
    device: str = ""


@dataclass
class _State:
    tz: datetime.tzinfo
    bp: dict[tuple[str, str], _BloodPressure] = field(default_factory=dict)
    # (kind, local day) → source → [total, first record number]
    daily: dict[tuple[str, datetime.date], dict[str, list]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    nights: Nights = field(default_factory=Nights)


def parse_xml(stream: BinaryIO, tz: datetime.tzinfo) -> Iterator[Item]:
    state = _State(tz)
    number = 0
    depth = 0
    inside = 0  # elements within the current top-level element
    root: Element | None = None
    events = iterparse(_Scrubbed(stream), events=("start", "end"))
    try:
        for event, elem in events:
            if event == "start":
                depth += 1
                inside += depth > 2
                if inside > MAX_CHILDREN:
                    raise ImportFormatError(
                        _("The XML file has an element too large to be an export.")
                    )
                if root is None:
                    root = elem
                    if elem.tag != "HealthData":
                        raise ImportFormatError(_("This XML file is not an Apple Health export."))
                continue
            depth -= 1
            if depth != 1:
                continue
            number += 1
            inside = 0
            if elem.tag == "Record":
                if item := _record(elem, number, state):
                    yield item
            elif elem.tag == "Correlation":
                for child in elem.iter("Record"):
                    if child.get("type") in (SYSTOLIC, DIASTOLIC):
                        _bp_half(child, number, state, correlation=True)
            # Drop what was handled: the tree under the root stays empty.
            root.clear()  # type: ignore[union-attr]
    except DefusedXmlException:
        raise ImportFormatError(
            _("The XML file declares entities or external references; it is refused for safety.")
        ) from None
    except ParseError as exc:
        raise ImportFormatError(
            _("The XML file is damaged or incomplete (line %(line)s).") % {"line": exc.position[0]}
        ) from None
    if root is None:
        raise ImportFormatError(_("This XML file is not an Apple Health export."))
    yield from _finish(state)


def _when(text: str | None) -> datetime.datetime:
    # "2024-01-05 08:01:00 +0100": fromisoformat reads it once the space before the offset goes.
    if not text or len(text) < 25:
        raise ValueError(text)
    return datetime.datetime.fromisoformat(text[:19] + text[20:])


def _device(elem: Element) -> str:
    return _device_name(elem.get("device") or "", elem.get("sourceName") or "")


@lru_cache(maxsize=256)  # a few devices write millions of records
def _device_name(device: str, source: str) -> str:
    match = _DEVICE_NAME.search(device)
    return clean_device(match[1] if match else source)


def _record(elem: Element, number: int, state: _State) -> Item | None:
    """A top-level record: a reading now, or None (kept for the end, or not a kind we store)."""
    kind_type = elem.get("type") or ""
    try:
        if kind_type in INSTANT:
            return _instant(elem, number, kind_type)
        if kind_type in DAILY:
            _daily(elem, number, state, DAILY[kind_type])
        elif kind_type in (SYSTOLIC, DIASTOLIC):
            _bp_half(elem, number, state, correlation=False)
        elif kind_type == SLEEP:
            _sleep(elem, number, state)
    except (ValueError, InvalidOperation, OverflowError):  # Overflow: a year-1 date in the zone
        return RowError(number, _bad_record(elem))
    return None


def _bad_record(elem: Element) -> str:
    return _(
        "Record %(type)s has a value, unit or date that cannot be read: “%(value)s %(unit)s”."
    ) % {
        "type": (elem.get("type") or "").removeprefix(Q)[:60],
        "value": (elem.get("value") or "")[:30],
        "unit": (elem.get("unit") or "")[:20],
    }


def _instant(elem: Element, number: int, kind_type: str) -> Reading:
    kind, units = INSTANT[kind_type]
    unit = elem.get("unit") or ""
    if unit not in units:
        raise ValueError(unit)
    value = Decimal(elem.get("value") or "x")
    conversion = units[unit]
    if isinstance(conversion, Decimal):
        value = round2(value * conversion) if conversion != 1 else value
    elif conversion == "fraction" and value <= 1:
        value = round2(value * 100)
    elif conversion == "fahrenheit":
        value = round2((value - 32) * 5 / 9)
    return Reading(number, kind, _when(elem.get("startDate")), value=value, device=_device(elem))


def _bp_half(elem: Element, number: int, state: _State, *, correlation: bool) -> None:
    key = (elem.get("startDate") or "", elem.get("sourceName") or "")
    entry = state.bp.setdefault(key, _BloodPressure(number))
    value = elem.get("value") or ""
    if elem.get("type") == SYSTOLIC:
        entry.systolic = entry.systolic if entry.systolic and not correlation else value
    else:
        entry.diastolic = entry.diastolic if entry.diastolic and not correlation else value
    entry.device = entry.device or _device(elem)
    entry.number = min(entry.number, number)


def _daily(elem: Element, number: int, state: _State, kind: str) -> None:
    if (elem.get("unit") or "") not in DAILY_UNITS[kind]:
        raise ValueError(elem.get("unit"))
    value = Decimal(elem.get("value") or "x")
    day = _when(elem.get("startDate")).astimezone(state.tz).date()
    per_source = state.daily[(kind, day)]
    total = per_source.setdefault(elem.get("sourceName") or "", [Decimal(0), number])
    total[0] += value


def _sleep(elem: Element, number: int, state: _State) -> None:
    if elem.get("value") not in ASLEEP:
        return
    # As written, in the record's own offset: sleep.Nights reads the night on that clock.
    start = _when(elem.get("startDate"))
    end = _when(elem.get("endDate"))
    state.nights.add(start, end, source=elem.get("sourceName") or "", number=number)


def _finish(state: _State) -> Iterator[Item]:
    for (start, _source), entry in state.bp.items():
        yield _bp_reading(start, entry)
    for (kind, day), per_source in sorted(state.daily.items()):
        source, (total, number) = max(per_source.items(), key=lambda item: item[1][0])
        noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=state.tz)
        yield Reading(
            number, kind, noon, value=total.to_integral_value(), device=clean_device(source)
        )
    yield from state.nights.readings()


def _bp_reading(start: str, entry: _BloodPressure) -> Item:
    if not entry.systolic or not entry.diastolic:
        return RowError(
            entry.number, _("A blood pressure record has no matching systolic or diastolic value.")
        )
    try:
        return Reading(
            entry.number,
            BLOOD_PRESSURE,
            _when(start),
            systolic=int(Decimal(entry.systolic).to_integral_value()),
            diastolic=int(Decimal(entry.diastolic).to_integral_value()),
            device=entry.device,
        )
    except (ValueError, InvalidOperation):
        return RowError(
            entry.number,
            _("A blood pressure record cannot be read: “%(value)s”.")
            % {"value": f"{entry.systolic}/{entry.diastolic} {start}"[:60]},
        )
