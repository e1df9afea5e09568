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

from django.db.models import QuerySet

from exercises.models import (
    ExerciseLog,
    Program,
    ProgramItem,
    ProgramVersion,
    SessionLog,
    versions_followed,
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


# An item as `_weeks` reads it for every day: id, slot (as an int: a UUID hashes in Python),
# times a day, days a week (None: on chosen weekdays) and the chosen ISO weekdays.
_ItemRule = tuple[int, int, int, int | None, set[int]]


@dataclass(slots=True)
class _DaysAWeek:
    """One week of an item on any days a week: the days it ran, the dose of the last of them
    (times a day, days a week), and what was done on the days something was (at most that day's
    dose; a day with nothing done adds nothing to the best days' sum)."""

    days_ran: int = 0
    times_per_day: int = 0
    days_per_week: int = 0
    done_days: list[int] = field(default_factory=list)


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def program_adherence(
    program: Program,
    *,
    today: datetime.date,
    zone: datetime.tzinfo,
    since: datetime.date | None = None,
) -> list[WeekAdherence]:
    """Week by week from the program's first day (or `since`) to today, oldest first."""
    found = programs_adherence(
        Program.objects.filter(pk=program.pk), today=today, zone=zone, since=since
    )
    return found.get(program.pk, [])


def programs_adherence(
    programs: QuerySet[Program],
    *,
    today: datetime.date,
    zone: datetime.tzinfo,
    since: datetime.date | None = None,
    with_scores: bool = True,
) -> dict[int, list[WeekAdherence]]:
    """Each program's weeks, in four queries whatever the number of programs (`programs` is
    the versions' subquery): the versions, their items, the ticks and the scores (only the
    columns the arithmetic needs: notes, goals and comments are encrypted and stay unread).
    Without scores (the timeline reads them per day itself), the weeks' pain and effort stay
    empty and the fourth query is not made."""
    versions: dict[int, list[ProgramVersion]] = defaultdict(list)
    for version in (
        ProgramVersion.objects.filter(program__in=programs)
        .defer("goal")
        .order_by("program_id", "number")
    ):
        versions[version.program_id].append(version)
    # Each version's items as plain tuples (what `_weeks` reads, item by item, for every day):
    # as model rows with deferred fields, 60 items cost more than a year of ticks.
    items_of: dict[int, list[_ItemRule]] = defaultdict(list)
    for (
        version_id,
        item_id,
        slot,
        times_per_day,
        days_per_week,
        weekdays,
    ) in ProgramItem.objects.filter(
        version_id__in=[v.pk for program_versions in versions.values() for v in program_versions]
    ).values_list("version_id", "id", "slot", "times_per_day", "days_per_week", "weekdays"):
        items_of[version_id].append(
            (item_id, slot.int, times_per_day, days_per_week, set(weekdays or ()))
        )
    ids = list(versions)  # every program has a version
    first_day = {pid: _first_day(vs, since) for pid, vs in versions.items()}
    starts = [day for day in first_day.values() if day is not None and day <= today]
    done: dict[int, dict[tuple[int, datetime.date], int]] = defaultdict(dict)
    scores: dict[int, list[tuple[datetime.date, int | None, int | None]]] = defaultdict(list)
    if starts:
        span = {"program_id__in": ids, "day__gte": min(starts), "day__lte": today}
        # Plain tuples, not model rows: a year is a few thousand of them.
        for program_id, item_id, day, times in ExerciseLog.objects.filter(**span).values_list(
            "program_id", "item_id", "day", "times"
        ):
            done[program_id][(item_id, day)] = times
        if with_scores:
            for program_id, day, pain, effort in SessionLog.objects.filter(**span).values_list(
                "program_id", "day", "pain", "effort"
            ):
                scores[program_id].append((day, pain, effort))
    return {
        pid: _weeks(
            versions[pid], items_of, done[pid], scores[pid], first_day.get(pid), today, zone
        )
        for pid in ids
    }


def _first_day(versions: list[ProgramVersion], since: datetime.date | None) -> datetime.date | None:
    if not versions:
        return None
    first = min(v.start_date for v in versions)
    return first if since is None else max(first, since)


def _weeks(
    versions: list[ProgramVersion],
    items_of: dict[int, list[_ItemRule]],
    done: dict[tuple[int, datetime.date], int],
    scores: list[tuple[datetime.date, int | None, int | None]],
    first: datetime.date | None,
    today: datetime.date,
    zone: datetime.tzinfo,
) -> list[WeekAdherence]:
    if first is None or first > today:
        return []
    by_day = versions_followed(versions, first, today, zone)
    weeks: dict[datetime.date, WeekAdherence] = {}
    # Per week and slot of an item on any days a week.
    running: dict[tuple[datetime.date, int], _DaysAWeek] = {}
    week = None
    for day, version in by_day.items():  # in day order
        week_start = _monday(day)
        if week is None or week.week_start != week_start:
            week = weeks[week_start] = WeekAdherence(week_start)
        weekday = day.isoweekday()
        for item_id, slot, times_per_day, days_per_week, weekdays in items_of[version.id]:
            if days_per_week is None:
                if weekday in weekdays:
                    week.prescribed += times_per_day
                    week.done += min(done.get((item_id, day), 0), times_per_day)
                continue
            if (entry := running.get((week_start, slot))) is None:
                entry = running[(week_start, slot)] = _DaysAWeek()
            entry.days_ran += 1
            entry.times_per_day, entry.days_per_week = times_per_day, days_per_week
            if times := done.get((item_id, day), 0):
                entry.done_days.append(min(times, times_per_day))
    for (week_start, _slot), entry in running.items():
        week = weeks[week_start]
        due_days = min(entry.days_per_week, entry.days_ran)
        week.prescribed += due_days * entry.times_per_day
        week.done += sum(sorted(entry.done_days, reverse=True)[:due_days])
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
