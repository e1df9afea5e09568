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

from django.db.models import Prefetch

from exercises.models import (
    ExerciseLog,
    Program,
    ProgramItem,
    ProgramVersion,
    SessionLog,
    version_followed,
)


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
    """Each day's version (models.version_followed), for versions sorted by number."""
    by_day = {}
    day = first
    while day <= last:
        if (version := version_followed(versions, day, zone)) is not None:
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
    return programs_adherence([program], today=today, zone=zone, since=since)[program.pk]


def programs_adherence(
    programs: list[Program],
    *,
    today: datetime.date,
    zone: datetime.tzinfo,
    since: datetime.date | None = None,
    with_scores: bool = True,
) -> dict[int, list[WeekAdherence]]:
    """Each program's weeks, in four queries whatever the number of programs: the versions,
    their items, the ticks and the scores (only the columns the arithmetic needs: notes, goals
    and comments are encrypted and stay unread). Without scores (the timeline reads them per
    day itself), the weeks' pain and effort stay empty and the fourth query is not made."""
    ids = [program.pk for program in programs]
    versions: dict[int, list[ProgramVersion]] = defaultdict(list)
    items = Prefetch(
        "items",
        queryset=ProgramItem.objects.only(
            "id", "version_id", "slot", "times_per_day", "days_per_week", "weekdays"
        ),
    )
    for version in (
        ProgramVersion.objects.filter(program_id__in=ids)
        .defer("goal")
        .order_by("program_id", "number")
        .prefetch_related(items)
    ):
        versions[version.program_id].append(version)
    first_day = {pid: _first_day(vs, since) for pid, vs in versions.items()}
    starts = [day for day in first_day.values() if day is not None and day <= today]
    done: dict[tuple[int, datetime.date], int] = {}
    scores: dict[int, list[tuple[datetime.date, int | None, int | None]]] = defaultdict(list)
    if starts:
        span = {"program_id__in": ids, "day__gte": min(starts), "day__lte": today}
        # Plain tuples, not model rows: a year is a few thousand of them.
        done = {
            (item_id, day): times
            for item_id, day, times in ExerciseLog.objects.filter(**span).values_list(
                "item_id", "day", "times"
            )
        }
        if with_scores:
            for program_id, day, pain, effort in SessionLog.objects.filter(**span).values_list(
                "program_id", "day", "pain", "effort"
            ):
                scores[program_id].append((day, pain, effort))
    return {
        pid: _weeks(versions[pid], done, scores[pid], first_day.get(pid), today, zone)
        for pid in ids
    }


def _first_day(versions: list[ProgramVersion], since: datetime.date | None) -> datetime.date | None:
    if not versions:
        return None
    first = min(v.start_date for v in versions)
    return first if since is None else max(first, since)


def _weeks(
    versions: list[ProgramVersion],
    done: dict[tuple[int, datetime.date], int],
    scores: list[tuple[datetime.date, int | None, int | None]],
    first: datetime.date | None,
    today: datetime.date,
    zone: datetime.tzinfo,
) -> list[WeekAdherence]:
    if first is None or first > today:
        return []
    by_day = _version_by_day(versions, first, today, zone)
    items_of = {version.pk: list(version.items.all()) for version in versions}
    weeks: dict[datetime.date, WeekAdherence] = {}
    # Per week and slot: the days it ran, its last item (its dose), and what was done per day.
    running: dict[tuple[datetime.date, object], list[tuple[datetime.date, ProgramItem]]] = (
        defaultdict(list)
    )
    for day, version in sorted(by_day.items()):
        week = weeks.setdefault(_monday(day), WeekAdherence(_monday(day)))
        for item in items_of[version.pk]:
            if item.days_per_week is None:
                if day.isoweekday() in item.weekdays:
                    week.prescribed += item.times_per_day
                    week.done += min(done.get((item.pk, day), 0), item.times_per_day)
            else:
                running[(week.week_start, item.slot)].append((day, item))
    for (week_start, _slot), days in running.items():
        week = weeks[week_start]
        item = days[-1][1]
        due_days = min(item.days_per_week, len(days))
        week.prescribed += due_days * item.times_per_day
        per_day = sorted(
            (min(done.get((i.pk, d), 0), i.times_per_day) for d, i in days), reverse=True
        )
        week.done += sum(per_day[:due_days])
    for day, pain, effort in scores:
        week = weeks.get(_monday(day))
        if week is None or day < first:
            continue
        if pain is not None:
            week.pain.append(pain)
        if effort is not None:
            week.effort.append(effort)
    current = _monday(today)
    if current in weeks:
        weeks[current].complete = today.isoweekday() == 7
    return [weeks[w] for w in sorted(weeks)]
