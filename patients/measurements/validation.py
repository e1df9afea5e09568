"""Plausibility rules shared by manual entry and every import: one place, the catalogue's ranges."""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patients.imports.base import Reading
from patients.kinds import BLOOD_PRESSURE, BP_LIMITS, KINDS

CLOCK_SKEW = datetime.timedelta(minutes=5)
EARLIEST = datetime.datetime(1900, 1, 1, tzinfo=datetime.UTC)


def _outside(value: int | Decimal | None, low: int | Decimal, high: int | Decimal) -> bool:
    return value is not None and not (low <= value <= high)


def reading_problems(reading: Reading, *, now: datetime.datetime | None = None) -> list[str]:
    """Why this reading cannot be stored (translated), or an empty list."""
    now = now or timezone.now()
    kind = KINDS.get(reading.kind)
    if kind is None:
        return [_("Unknown kind of measurement.")]
    problems = []
    if timezone.is_naive(reading.measured_at):
        problems.append(_("The time has no time zone."))
    elif reading.measured_at > now + CLOCK_SKEW:
        problems.append(_("The measurement is in the future."))
    elif reading.measured_at < EARLIEST:
        problems.append(_("The date is too far in the past."))
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


def _blood_pressure_problems(reading: Reading) -> list[str]:
    if reading.systolic is None or reading.diastolic is None:
        return [_("Blood pressure needs both a systolic and a diastolic value.")]
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


def rounded(reading: Reading) -> Decimal | None:
    """The value at the catalogue's number of decimals."""
    if reading.value is None:
        return None
    return reading.value.quantize(Decimal(1).scaleb(-KINDS[reading.kind].decimals))


# Daily totals: a later export may total a day differently (more samples synced since), so the
# day itself identifies the reading and the first one stored is kept.
DAILY_TOTAL_KINDS = frozenset({"steps", "sleep_duration", "activity_minutes"})


def dedup_key(reading: Reading) -> str:
    """Same kind, same instant, same values: the same reading, whatever file it came from."""
    if reading.kind in DAILY_TOTAL_KINDS:
        day = timezone.localtime(reading.measured_at).date().isoformat()
        parts: tuple = (reading.kind, day)
    else:
        instant = reading.measured_at.astimezone(datetime.UTC).replace(microsecond=0).isoformat()
        parts = (reading.kind, instant, rounded(reading), reading.systolic, reading.diastolic,
                 reading.pulse)  # fmt: skip
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
