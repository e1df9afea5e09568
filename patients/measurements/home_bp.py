"""The home blood-pressure average of the European (ESH) home protocol.

References: 2023 ESH Guidelines for the management of arterial hypertension (Mancia et al.,
J Hypertens 2023;41:1874-2071, section on home blood pressure monitoring); the ESH practice
guidelines for home blood pressure monitoring (Parati et al., J Hum Hypertens 2010;24:779-785)
and the ESH working group's 2021 position paper on home monitoring (Stergiou et al.,
J Hypertens 2021;39:1742-1767). The protocol: duplicate readings (two, one minute apart) in the
morning and in the evening on 7 days (at least 3), the first day discarded, the mean of all the
remaining readings; home blood pressure is raised from 135 systolic OR 85 diastolic mmHg.

How the portal turns that protocol into a number, and why (issue 9 corrected the first version,
which discarded the first day *with readings* and flagged the rounded mean):

- Window: the 7 consecutive local calendar days ending with the local day of the patient's
  latest morning or evening reading (`window_start` = that day - 6, `window_end` = that day). A
  measuring week is consecutive days; taking "the last 7 days that have readings" instead could
  glue a week in January to a single reading in March. Readings after `now` (the 5-minute clock
  skew that validation allows) are ignored, so the figure does not change between page loads.
- Day 1 discarded: always `window_start`, the first calendar day of the window, whether or not
  it has readings. The protocol leaves out the first day of a measuring week; discarding "the
  first day with readings" instead made the discard wander (a daily measurer's arbitrary day, or
  day 2 when day 1 was empty, which threw away valid readings). Days 2-7 are the ones used.
- Morning: 04:00 up to 12:00 local time; evening: 17:00 up to midnight. The protocol asks for
  readings before breakfast and medication and before the evening meal; readings at other times
  (the afternoon, the night) are not home-protocol readings and are ignored.
- Every reading of a session counts: the protocol takes two readings per session and averages
  all of them, so a session's duplicate readings are not reduced to one. (Exact duplicates of
  one reading, the same file imported twice, are never stored: see validation.dedup_key.)
- Valid only with at least 3 days with readings (MIN_DAYS) AND at least 12 readings
  (MIN_READINGS) in days 2-7: 12 readings taken in one evening are not a measuring week. Without
  them the page says why (too few days, checked first, or too few readings) and shows no mean,
  since a mean of a few readings would be read as the protocol's answer.
- Days are local calendar dates in the clinic's time zone (the portal's TIME_ZONE: the clinics
  are Dutch), so a week across the change to or from daylight saving time still has 7 days, and a
  reading at 00:30 or 23:30 belongs to the local day it was taken on.
- Raised: the unrounded mean is compared with 135 systolic OR 85 diastolic (a mean of 134.6 is
  not raised). The mean is shown to one decimal, rounded half up, so a clinician reads "134.6/84.0
  mmHg — not raised (below 135/85)" rather than a whole-mmHg "135/84 — not raised" that seems to
  contradict itself. One decimal alone still rounds a mean of 134.95-134.99 up to "135.0": such a
  mean is shown as 134.9 (`_shown`), so the number never reaches a limit the mean is below.

One query: the morning and evening readings of the 8 × 24 hours up to the latest one (which
hold its 7 local days whatever daylight saving time does), at most a few dozen rows; the window
is cut from them and grouped by local day here.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils import timezone

from patients.kinds import BLOOD_PRESSURE
from patients.measurements.charts import ESH_HOME_DIASTOLIC, ESH_HOME_SYSTOLIC
from patients.models import Patient

WINDOW_DAYS = 7
MIN_READINGS = 12
MIN_DAYS = 3  # days with readings after window day 1
MORNING_HOURS = (4, 12)  # [04:00, 12:00) local time
EVENING_HOURS = (17, 24)  # [17:00, 24:00) local time
# Enough to hold WINDOW_DAYS local days before the latest reading, a DST change included.
WINDOW_SPAN = datetime.timedelta(days=WINDOW_DAYS + 1)

NO_READINGS = "no_readings"
TOO_FEW_READINGS = "too_few_readings"
TOO_FEW_DAYS = "too_few_days"
ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class HomeAverage:
    """The ESH home average; `systolic`/`diastolic` (one decimal) are None unless `is_valid`."""

    systolic: Decimal | None
    diastolic: Decimal | None
    reading_count: int  # readings averaged (window day 1 not included)
    days: int  # local days with readings among days 2-7 of the window
    window_start: datetime.date | None  # window day 1, the discarded day
    window_end: datetime.date | None
    is_raised: bool
    is_valid: bool
    reason: str  # "" when valid, else NO_READINGS, TOO_FEW_DAYS or TOO_FEW_READINGS

    min_readings: int = MIN_READINGS
    min_days: int = MIN_DAYS

    @property
    def discarded_day(self) -> datetime.date | None:
        return self.window_start

    @property
    def first_used_day(self) -> datetime.date | None:
        return self.window_start and self.window_start + datetime.timedelta(days=1)


# The morning and evening blood-pressure readings (local hours in the clinic's time zone) from
# WINDOW_SPAN before the latest one up to it. Plain SQL: the same statement through the ORM (an
# hour annotation, a subquery, a date expression) took longer to build in Python than to run.
_SESSION_READING = """
m.clinic_id = %(clinic)s AND m.patient_id = %(patient)s AND m.kind = %(kind)s
AND m.systolic IS NOT NULL AND m.diastolic IS NOT NULL AND m.measured_at <= %(now)s
AND (extract(hour FROM m.measured_at AT TIME ZONE %(tz)s) >= %(morning_from)s
         AND extract(hour FROM m.measured_at AT TIME ZONE %(tz)s) < %(morning_to)s
     OR extract(hour FROM m.measured_at AT TIME ZONE %(tz)s) >= %(evening_from)s
         AND extract(hour FROM m.measured_at AT TIME ZONE %(tz)s) < %(evening_to)s)
"""
# The latest one is found walking measurement_patient_kind_time backwards from `now`.
_SESSION_WINDOW_SQL = f"""
SELECT m.measured_at, m.systolic, m.diastolic FROM patients_measurement m
WHERE {_SESSION_READING} AND m.measured_at >= (
    SELECT m.measured_at FROM patients_measurement m WHERE {_SESSION_READING}
    ORDER BY m.measured_at DESC LIMIT 1
) - %(span)s
"""  # noqa: S608 (constants of this module only)


def _session_window(
    patient: Patient, tz: datetime.tzinfo, now: datetime.datetime
) -> list[tuple[datetime.datetime, int, int]]:
    params = {
        "clinic": patient.clinic_id,
        "patient": patient.pk,
        "kind": BLOOD_PRESSURE,
        "now": now,
        "tz": str(tz),
        "morning_from": MORNING_HOURS[0],
        "morning_to": MORNING_HOURS[1],
        "evening_from": EVENING_HOURS[0],
        "evening_to": EVENING_HOURS[1],
        "span": WINDOW_SPAN,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SESSION_WINDOW_SQL, params)
        return cursor.fetchall()


def _shown(mean: Decimal, limit: int) -> Decimal:
    """The mean to one decimal, half up, but never rounded up onto a limit it is below."""
    shown = mean.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
    if mean < limit <= shown:
        return mean.quantize(ONE_DECIMAL, rounding=ROUND_DOWN)
    return shown


def esh_home_average(*, patient: Patient, now: datetime.datetime | None = None) -> HomeAverage:
    """The ESH home blood-pressure average of the patient's latest measuring week (1 query)."""
    now = now or timezone.now()
    tz = timezone.get_default_timezone()
    rows = _session_window(patient, tz, now)
    if not rows:
        return HomeAverage(None, None, 0, 0, None, None, False, False, NO_READINGS)
    window_end = timezone.localtime(max(m for m, _s, _d in rows), tz).date()
    window_start = window_end - datetime.timedelta(days=WINDOW_DAYS - 1)
    kept: list[tuple[int, int]] = []
    days: set[datetime.date] = set()
    for measured_at, systolic, diastolic in rows:
        day = timezone.localtime(measured_at, tz).date()
        if day > window_start:  # window day 1 is discarded, whatever it holds
            kept.append((systolic, diastolic))
            days.add(day)
    reason = (
        TOO_FEW_DAYS
        if len(days) < MIN_DAYS
        else TOO_FEW_READINGS
        if len(kept) < MIN_READINGS
        else ""
    )
    if reason:
        return HomeAverage(
            None, None, len(kept), len(days), window_start, window_end, False, False, reason
        )
    systolic = Decimal(sum(s for s, _d in kept)) / len(kept)
    diastolic = Decimal(sum(d for _s, d in kept)) / len(kept)
    return HomeAverage(
        systolic=_shown(systolic, ESH_HOME_SYSTOLIC),
        diastolic=_shown(diastolic, ESH_HOME_DIASTOLIC),
        reading_count=len(kept),
        days=len(days),
        window_start=window_start,
        window_end=window_end,
        # The unrounded mean: 134.6 is below 135 although it rounds to 135.
        is_raised=systolic >= ESH_HOME_SYSTOLIC or diastolic >= ESH_HOME_DIASTOLIC,
        is_valid=True,
        reason="",
    )
