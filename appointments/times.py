"""Local wall-clock time in the clinics' time zone (settings.TIME_ZONE, Europe/Amsterdam) to a
UTC instant, without guessing.

Twice a year a local time is not one instant: on the last Sunday of March 02:00-02:59 does not
exist (the clocks go from 02:00 to 03:00), on the last Sunday of October 02:00-02:59 happens
twice (03:00 back to 02:00). zoneinfo quietly picks one answer for both (`fold`); an appointment
at the wrong hour is worse than a question, so both are refused here and the person chooses.
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings


class LocalTimeProblem(ValueError):
    """The local date and time name no single instant."""


class NonexistentLocalTime(LocalTimeProblem):
    """Skipped by the clocks going forward."""


class AmbiguousLocalTime(LocalTimeProblem):
    """Lived twice, the clocks going back."""


def clinic_time_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def aware_from_local(
    day: datetime.date, time: datetime.time, zone: zoneinfo.ZoneInfo | None = None
) -> datetime.datetime:
    """The one instant that `day` at `time` names on the clocks of `zone`, in UTC."""
    zone = zone or clinic_time_zone()
    naive = datetime.datetime.combine(day, time.replace(tzinfo=None))
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Two offsets: a gap when neither survives the round trip through UTC, else an overlap.
        round_trip = first.astimezone(datetime.UTC).astimezone(zone).replace(tzinfo=None)
        if round_trip != naive:
            raise NonexistentLocalTime(naive)
        raise AmbiguousLocalTime(naive)
    return first.astimezone(datetime.UTC)


def local(moment: datetime.datetime, zone: zoneinfo.ZoneInfo | None = None) -> datetime.datetime:
    """`moment` on the clinics' clocks (for a form's initial date and time)."""
    return moment.astimezone(zone or clinic_time_zone())
