"""FHIR R4 Bundle of Observations (JSON), validated with fhir.resources (R4B models).

fhir.resources 8 ships R5 by default and R4B (4.3.0) as a subpackage; R4B's Bundle and
Observation are the R4 structures (R4B changed no element of either), so R4 documents validate.
The bundle shell is validated once and each Observation on its own, so one bad entry is a row
error (numbered by its position in `entry`, 1-based) instead of refusing the whole file.

Codes: LOINC from the catalogue (patients.kinds) plus the aliases below, the portal's local
code system (`urn:clinic-portal:measurement-kind`, code = kind code); the BP panel 85354-9 (or
the older 55284-4) with components 8480-6, 8462-4, 8867-4 and the local `irregular_heartbeat`
(valueBoolean); loose systolic/diastolic Observations are paired by time and device. Codes we do
not store (height, respiratory rate...) and other resource types are skipped silently, as the
Apple import skips types it does not store. Units are UCUM and converted to the catalogue's.

Times keep the offset they were written in. A value over an effectivePeriod is placed at its
start, except a day's total (at local noon of the start's day, like the Apple and Withings
totals) and a night's sleep (93832-4), which follows the one rule for a night in `sleep`: at the
period's end, the last wake-up, as the Apple Health import places the same night.

Hostile input: more than MAX_JSON_BYTES is refused before parsing; NaN/Infinity, invalid JSON,
nesting deeper than MAX_DEPTH (Python's parser would otherwise hit its recursion limit) and
numbers with thousands of digits are each an ImportFormatError.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from django.utils.translation import gettext as _
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from patients.kinds import (
    BLOOD_PRESSURE,
    DIASTOLIC_LOINC,
    HEART_RATE_LOINC,
    KINDS,
    LOCAL_SYSTEM,
    LOINC,
    SYSTOLIC_LOINC,
)

from .base import ImportFormatError, Item, Reading, RowError
from .common import clean_device, parser, read_capped, round2
from .dates import NOON, aware
from .sleep import KIND as SLEEP_KIND
from .sleep import night_measured_at

FORMAT_CODE = "fhir"
MAX_JSON_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64
IRREGULAR_CODE = "irregular_heartbeat"
OLD_BP_PANEL = "55284-4"
DAILY_KINDS = {"steps", "activity_minutes"}
SKIPPED_STATUSES = {"entered-in-error", "cancelled", "registered"}

LOINC_KINDS = {k.loinc: k.code for k in KINDS.values() if k.loinc}
LOINC_KINDS.update(
    {
        OLD_BP_PANEL: BLOOD_PRESSURE,
        "59408-5": "spo2",  # US Core pulse oximetry, alongside 2708-6
        "3141-9": "weight",  # body weight measured
        "77233-5": "body_fat",  # by bioelectrical impedance
        "101684-9": "body_water",
        "101685-6": "bone_mass",
        "55423-8": "steps",
    }
)

Convert = Callable[[Decimal], Decimal]
_same: Convert = lambda v: v  # noqa: E731
LB = Decimal("0.45359237")


def _fahrenheit(value: Decimal) -> Decimal:
    return (value - 32) * 5 / 9


def _kj(value: Decimal) -> Decimal:
    return value / Decimal("4.184")


MASS = {"kg": _same, "g": lambda v: v / 1000, "[lb_av]": lambda v: v * LB, "lb": lambda v: v * LB}
PERCENT = {"%": lambda v: v * 100 if v <= 1 else v, "1": lambda v: v * 100}
UNITS: dict[str, dict[str, Convert]] = {
    "heart_rate": {"/min": _same, "{beats}/min": _same, "beats/minute": _same, "bpm": _same},
    "weight": MASS,
    "bone_mass": MASS,
    "muscle_mass": MASS,
    "bmi": {"kg/m2": _same, "kg/m^2": _same},
    "body_fat": PERCENT,
    "body_water": PERCENT,
    "skeletal_muscle": PERCENT,
    "spo2": PERCENT,
    "visceral_fat": {"1": _same, "{index}": _same},
    "bmr": {"kcal/d": _same, "kcal/(24.h)": _same, "kcal": _same, "kJ/d": _kj},
    "body_temperature": {"Cel": _same, "°C": _same, "[degF]": _fahrenheit, "°F": _fahrenheit},
    "steps": {"/d": _same, "{steps}/d": _same, "{steps}": _same, "1/(24.h)": _same, "1": _same,
              "{count}": _same, "steps": _same},
    "sleep_duration": {"h": _same, "min": lambda v: v / 60, "s": lambda v: v / 3600},
    "activity_minutes": {"min/d": _same, "min": _same, "h": lambda v: v * 60},
}  # fmt: skip


@parser(FORMAT_CODE)
def parse(stream: BinaryIO, *, filename: str, tz: datetime.tzinfo) -> Iterator[Item]:
    document = load_bundle(stream)
    entries = document.get("entry") or []
    devices = _device_names(entries)
    loose: dict[tuple[datetime.datetime, str], dict[str, Any]] = {}
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
            continue
        try:
            observation = Observation.model_validate(resource)
        except ValidationError as exc:
            yield RowError(number, _invalid(exc))
            continue
        yield from _readings(number, observation, tz, devices, loose)
    for (measured_at, device), half in loose.items():
        if "systolic" in half and "diastolic" in half:
            yield Reading(
                half["number"],
                BLOOD_PRESSURE,
                measured_at,
                systolic=half["systolic"],
                diastolic=half["diastolic"],
                device=device,
            )
        else:
            yield RowError(
                half["number"],
                _("A systolic or diastolic observation at %(time)s has no partner.")
                % {"time": measured_at.isoformat()},
            )


def load_bundle(stream: BinaryIO) -> dict[str, Any]:
    data = read_capped(
        stream,
        MAX_JSON_BYTES,
        _("The FHIR file is larger than %(limit)s MB.") % {"limit": MAX_JSON_BYTES // 2**20},
    )
    try:
        document = json.loads(data, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ImportFormatError(_("The file is not valid JSON.")) from None
    if _depth(document) > MAX_DEPTH:
        raise ImportFormatError(_("The JSON file is nested too deeply."))
    if not isinstance(document, dict) or document.get("resourceType") != "Bundle":
        raise ImportFormatError(_("The JSON file is not a FHIR Bundle."))
    if not isinstance(document.get("entry", []), list):
        raise ImportFormatError(_("The FHIR Bundle is not valid: its entry is not a list."))
    try:
        Bundle.model_validate({k: v for k, v in document.items() if k != "entry"})
    except ValidationError as exc:
        raise ImportFormatError(
            _("The FHIR Bundle is not valid: %(reason)s") % {"reason": _first_error(exc)}
        ) from None
    return document


def _no_constant(name: str) -> None:
    raise ValueError(name)


def _depth(document: Any) -> int:
    """Nesting depth, without recursion."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}"[:200]


def _invalid(exc: ValidationError) -> str:
    return _("The Observation is not valid FHIR: %(reason)s") % {"reason": _first_error(exc)}


def _device_names(entries: list[Any]) -> dict[str, str]:
    """Device references (`Device/<id>` and fullUrl) → a readable name from the bundle."""
    names: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "Device":
            continue
        name = _device_label(resource)
        if resource.get("id"):
            names[f"Device/{resource['id']}"] = name
        if isinstance(entry.get("fullUrl"), str):
            names[entry["fullUrl"]] = name
    return names


def _device_label(resource: dict[str, Any]) -> str:
    parts = []
    for item in resource.get("deviceName") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            parts.append(item["name"])
            break
    if isinstance(resource.get("modelNumber"), str) and resource["modelNumber"] not in parts:
        parts.append(resource["modelNumber"])
    return clean_device(" ".join(parts))


def _codes(concept: Any) -> list[tuple[str, str]]:
    return [(c.system or "", c.code or "") for c in (concept.coding or [])] if concept else []


def _kind_of(concept: Any) -> tuple[str | None, str]:
    """(kind, LOINC code) of a CodeableConcept; the LOINC code says which BP half it is."""
    for system, code in _codes(concept):
        if system == LOINC and code in (SYSTOLIC_LOINC, DIASTOLIC_LOINC):
            return None, code
        if system == LOINC and code in LOINC_KINDS:
            return LOINC_KINDS[code], code
        if system == LOCAL_SYSTEM and code in KINDS:
            return code, ""
    return None, ""


def _effective(
    observation: Observation, kind: str | None, tz: datetime.tzinfo
) -> datetime.datetime | None:
    value = observation.effectiveDateTime or observation.effectiveInstant
    period = observation.effectivePeriod
    if value is None and period is not None:
        if kind == SLEEP_KIND:
            value = night_measured_at(period.start, period.end)
        else:
            value = period.start or period.end
        if kind in DAILY_KINDS and isinstance(value, datetime.datetime):
            # A day's total over a period: at local noon, like the Apple and Withings totals.
            value = value.astimezone(tz).date()
    if isinstance(value, datetime.datetime):
        offset = value.utcoffset()
        if offset is None:
            return value.replace(tzinfo=tz)
        # pydantic's own tzinfo class becomes a plain timezone (pickles for Celery, compares).
        return value.replace(tzinfo=datetime.timezone(offset))
    if isinstance(value, datetime.date):
        return aware(value, NOON, tz)
    return None


def _device(observation: Observation, devices: dict[str, str]) -> str:
    ref = observation.device
    if ref is None:
        return ""
    return devices.get(ref.reference or "", "") or clean_device(ref.display or "")


def _readings(
    number: int,
    observation: Observation,
    tz: datetime.tzinfo,
    devices: dict[str, str],
    loose: dict[tuple[datetime.datetime, str], dict[str, Any]],
) -> Iterator[Item]:
    if observation.status in SKIPPED_STATUSES:
        return
    kind, code = _kind_of(observation.code)
    if kind is None and not code:
        return
    measured_at = _effective(observation, kind, tz)
    if measured_at is None:
        yield RowError(number, _("The Observation has no effective date and time."))
        return
    device = _device(observation, devices)
    try:
        if kind == BLOOD_PRESSURE:
            yield _panel(number, observation, measured_at, device)
        elif kind is None:  # a loose systolic or diastolic observation
            half = loose.setdefault((measured_at, device), {"number": number})
            role = "systolic" if code == SYSTOLIC_LOINC else "diastolic"
            half[role] = _pressure(observation.valueQuantity)
        else:
            value = _value(kind, observation.valueQuantity, observation.valueInteger)
            yield Reading(number, kind, measured_at, value=value, device=device)
    except (ValueError, InvalidOperation, ArithmeticError) as exc:
        yield RowError(number, str(exc) or _("The Observation's value cannot be read."))


def _panel(
    number: int, observation: Observation, measured_at: datetime.datetime, device: str
) -> Reading:
    parts: dict[str, Any] = {}
    for component in observation.component or []:
        for system, code in _codes(component.code):
            if system == LOINC and code == SYSTOLIC_LOINC:
                parts["systolic"] = _pressure(component.valueQuantity)
            elif system == LOINC and code == DIASTOLIC_LOINC:
                parts["diastolic"] = _pressure(component.valueQuantity)
            elif system == LOINC and code == HEART_RATE_LOINC:
                parts["pulse"] = int(_value("heart_rate", component.valueQuantity, None))
            elif system == LOCAL_SYSTEM and code == IRREGULAR_CODE:
                parts["irregular_heartbeat"] = component.valueBoolean
    if "systolic" not in parts or "diastolic" not in parts:
        raise ValueError(_("The blood pressure panel lacks a systolic or diastolic component."))
    return Reading(number, BLOOD_PRESSURE, measured_at, device=device, **parts)


def _pressure(quantity: Any) -> int:
    if quantity is None or quantity.value is None:
        raise ValueError(_("A blood pressure component has no value."))
    unit = quantity.code or quantity.unit or "mm[Hg]"
    if unit not in ("mm[Hg]", "mmHg"):
        raise ValueError(_("Blood pressure in “%(unit)s” is not supported.") % {"unit": unit[:20]})
    return int(Decimal(quantity.value).to_integral_value())


def _value(kind: str, quantity: Any, integer: int | None) -> Decimal:
    if quantity is None or quantity.value is None:
        if integer is not None:
            return Decimal(integer)
        raise ValueError(_("The Observation has no value."))
    unit = quantity.code or quantity.unit or KINDS[kind].unit
    convert = UNITS.get(kind, {}).get(unit)
    if convert is None and unit == KINDS[kind].unit:
        convert = _same
    if convert is None:
        raise ValueError(
            _("The unit “%(unit)s” is not supported for %(kind)s.")
            % {"unit": unit[:20], "kind": KINDS[kind].label}
        )
    value = Decimal(quantity.value)
    converted = convert(value)
    return converted if converted == value else round2(converted)
