"""Plausibility rules shared by manual entry and every import: one place, the catalogue's ranges."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from hashlib import sha256

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.imports.base import Reading
from patients.kinds import BLOOD_PRESSURE, BP_LIMITS, KINDS

# The plausible range of a measurement's time, for every source (manual entry, every parser):
# from EARLIEST until now plus CLOCK_SKEW. The one place for it: `measured_at_problem`.
CLOCK_SKEW = datetime.timedelta(minutes=5)
EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)


def measured_at_problem(
    measured_at: datetime.datetime, *, now: datetime.datetime | None = None
) -> str | None:
    """Why this time cannot be a measurement's (translated), or None.

    Safe at the ends of Python's calendar: year 1 at +14:00 or year 9999 at -14:00 lies outside
    what a datetime can hold in UTC (OverflowError); such a time is far outside the range anyway.
    """
    if measured_at.utcoffset() is None:  # timezone.is_naive
        return _("The time has no time zone.")
    try:
        # Compared in UTC: two aware datetimes of different zones take 2 µs to compare.
        instant = measured_at.astimezone(datetime.UTC)
    except OverflowError:
        instant = EARLIEST - CLOCK_SKEW if measured_at.year < 2000 else None
    if instant is None or instant > (now or timezone.now()) + CLOCK_SKEW:
        return _("The measurement is in the future.")
    if instant < EARLIEST:
        return _("The date is too far in the past.")
    return None


def _outside(value: int | Decimal | None, low: int | Decimal, high: int | Decimal) -> bool:
    return value is not None and not (low <= value <= high)


def reading_problems(reading: Reading, *, now: datetime.datetime | None = None) -> list[str]:
    """Why this reading cannot be stored (translated), or an empty list."""
    now = now or timezone.now()
    kind = KINDS.get(reading.kind)
    if kind is None:
        return [_("Unknown kind of measurement.")]
    problems = []
    if problem := measured_at_problem(reading.measured_at, now=now):
        problems.append(problem)
    if reading.kind == BLOOD_PRESSURE:
        problems += _blood_pressure_problems(reading)
    elif reading.value is None:
        problems.append(_("The value is missing."))
    elif _outside(reading.value, kind.minimum, kind.maximum):
        problems.append(
            _("%(kind)s must be between %(low)s and %(high)s %(unit)s.")
            % {"kind": kind.label, "low": kind.minimum, "high": kind.maximum,
               "unit": kind.unit_display}
        )  # fmt: skip
    return problems


# Lazy labels: translated only for a reading with a problem (an import checks 100,000s).
_BP_CHECKS = (
    ("systolic", gettext_lazy("Systolic pressure"), BP_LIMITS.systolic, "mmHg"),
    ("diastolic", gettext_lazy("Diastolic pressure"), BP_LIMITS.diastolic, "mmHg"),
    ("pulse", gettext_lazy("Pulse"), BP_LIMITS.pulse, "/min"),
)


_SYSTOLIC, _DIASTOLIC, _PULSE = BP_LIMITS.systolic, BP_LIMITS.diastolic, BP_LIMITS.pulse


def _blood_pressure_problems(reading: Reading) -> list[str]:
    systolic, diastolic, pulse = reading.systolic, reading.diastolic, reading.pulse
    if systolic is None or diastolic is None:
        return [_("Blood pressure needs both a systolic and a diastolic value.")]
    # The usual case in one expression; the checks below only to say what is wrong.
    if (
        _SYSTOLIC[0] <= systolic <= _SYSTOLIC[1]
        and _DIASTOLIC[0] <= diastolic <= _DIASTOLIC[1]
        and (pulse is None or _PULSE[0] <= pulse <= _PULSE[1])
        and systolic > diastolic
    ):
        return []
    problems = []
    for field, label, (low, high), unit in _BP_CHECKS:
        if _outside(getattr(reading, field), low, high):
            problems.append(
                _("%(kind)s must be between %(low)s and %(high)s %(unit)s.")
                % {"kind": label, "low": low, "high": high, "unit": unit}
            )
    if reading.systolic <= reading.diastolic:
        problems.append(_("The systolic pressure must be higher than the diastolic pressure."))
    return problems


# Measurement.value's decimal_places: a value is stored as the device measured it, to this
# precision (a Withings scale's 77.85 kg stays 77.85); display code rounds it, half up.
STORED_QUANTUM = Decimal("0.001")


def stored_value(reading: Reading) -> Decimal | None:
    """The value as stored: what the device measured, at the column's precision."""
    if reading.value is None:
        return None
    return reading.value.quantize(STORED_QUANTUM, rounding=ROUND_HALF_UP)


_KEY_QUANTUM = {code: Decimal(1).scaleb(-kind.decimals) for code, kind in KINDS.items()}


def _key_value(reading: Reading) -> Decimal | None:
    """The value as the dedup key sees it: at the catalogue's display decimals, rounded half
    even (Decimal's default). This is how values were stored until issue 9, so the keys of
    readings stored before stay valid and a file imported then is still a duplicate now. It
    also lets one weighing seen at 75.07 (Apple's lb → kg) and 75.1 (the scale) match. Never
    change the rounding here: stored keys would stop matching."""
    if reading.value is None:
        return None
    return reading.value.quantize(_KEY_QUANTUM[reading.kind])


# Daily totals: a later export may total a day differently (more samples synced since), so the
# day itself identifies the reading and the first one stored is kept.
DAILY_TOTAL_KINDS = frozenset({"steps", "sleep_duration", "activity_minutes"})


def dedup_key(reading: Reading) -> str:
    """Same kind, same instant, same values: the same reading, whatever file it came from."""
    if reading.kind in DAILY_TOTAL_KINDS:
        day = timezone.localtime(reading.measured_at).date().isoformat()
        text = f"{reading.kind}|{day}"
    else:
        instant = reading.measured_at.astimezone(datetime.UTC)
        if instant.microsecond:
            instant = instant.replace(microsecond=0)
        # "|".join(map(str, ...)) of kind, instant, value, systolic, diastolic, pulse (None as
        # "None"), as one f-string: the keys of stored readings must never change.
        text = (
            f"{reading.kind}|{instant.isoformat()}|{_key_value(reading)}|{reading.systolic}|"
            f"{reading.diastolic}|{reading.pulse}"
        )
    return sha256(text.encode()).hexdigest()[:32]
