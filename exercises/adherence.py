"""Adherence arithmetic: how much of what a program prescribed the patient did, per ISO week.

What was prescribed on a day is what the version followed that day says (selectors.version_on:
the newest version made by then, the first one before it was made), from the program's start
to its end date, never after today (a day still to come is not missed yet):
- an item on chosen weekdays is due `times_per_day` times on each of those days;
- an item on any `days_per_week` days is due `times_per_day` times on that many of the week's
  days, but never on more days than the program ran that week (a program starting on a
  Thursday asks at most 4 days of its first week).
Done is what the patient ticked off, never counted above what was due (an extra day does not
make up for a missed exercise). The same entry across versions is one slot, so a changed dose
mid-week does not split the week.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean

from exercises.models import ExerciseLog, Program, ProgramItem, ProgramVersion, SessionLog


@dataclass
class WeekAdherence:
    week_start: datetime.date  # the Monday
    prescribed: int = 0
    done: int = 0
    pain: list[int] = field(default_factory=list)
    effort: list[int] = field(default_factory=list)
    complete: bool = True  # False for the current week, still running

    @property
    def percent(self) -> int | None:
        return None if self.prescribed == 0 else round(100 * self.done / self.prescribed)

    @property
    def pain_mean(self) -> float | None:
        return round(mean(self.pain), 1) if self.pain else None

    @property
    def effort_mean(self) -> float | None:
        return round(mean(self.effort), 1) if self.effort else None


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _version_by_day(
    versions: list[ProgramVersion], first: datetime.date, last: datetime.date, zone: datetime.tzinfo
) -> dict[datetime.date, ProgramVersion]:
    """Each day's version, as selectors.version_on decides it, for versions sorted by number."""
    by_day = {}
    day = first
    while day <= last:
        end_of_day = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(), zone
        )
        made = [v for v in versions if v.created_at < end_of_day]
        version = made[-1] if made else versions[0]
        if version.runs_on(day):
            by_day[day] = version
        day += datetime.timedelta(days=1)
    return by_day


def program_adherence(
    program: Program,
    *,
    today: datetime.date,
    zone: datetime.tzinfo,
    since: datetime.date | None = None,
) -> list[WeekAdherence]:
    """Week by week from the program's first day (or `since`) to today, oldest first."""
    versions = list(program.versions.order_by("number").prefetch_related("items"))
    if not versions:
        return []
    first = min(v.start_date for v in versions)
    if since is not None:
        first = max(first, since)
    last = today
    if first > last:
        return []
    by_day = _version_by_day(versions, first, last, zone)
    done_by_item_day = {
        (log.item_id, log.day): log.times
        for log in ExerciseLog.objects.filter(program=program, day__gte=first, day__lte=last)
    }
    weeks: dict[datetime.date, WeekAdherence] = {}
    # Per week and slot: the days it ran, its last item (its dose), and what was done per day.
    running: dict[tuple[datetime.date, object], list[tuple[datetime.date, ProgramItem]]] = (
        defaultdict(list)
    )
    for day, version in sorted(by_day.items()):
        week = weeks.setdefault(_monday(day), WeekAdherence(_monday(day)))
        for item in version.items.all():
            if item.days_per_week is None:
                if day.isoweekday() in item.weekdays:
                    week.prescribed += item.times_per_day
                    week.done += min(done_by_item_day.get((item.pk, day), 0), item.times_per_day)
            else:
                running[(week.week_start, item.slot)].append((day, item))
    for (week_start, _slot), days in running.items():
        week = weeks[week_start]
        item = days[-1][1]
        due_days = min(item.days_per_week, len(days))
        week.prescribed += due_days * item.times_per_day
        per_day = sorted(
            (min(done_by_item_day.get((i.pk, d), 0), i.times_per_day) for d, i in days),
            reverse=True,
        )
        week.done += sum(per_day[:due_days])
    for session in SessionLog.objects.filter(program=program, day__gte=first, day__lte=last):
        week = weeks.get(_monday(session.day))
        if week is None:
            continue
        if session.pain is not None:
            week.pain.append(session.pain)
        if session.effort is not None:
            week.effort.append(session.effort)
    current = _monday(today)
    if current in weeks:
        weeks[current].complete = today.isoweekday() == 7
    return [weeks[w] for w in sorted(weeks)]
