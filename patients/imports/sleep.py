"""Sleep: one rule for a night, whatever file it came from (Apple Health, FHIR).

- A night runs from noon to noon on the clock its records were written in: the offset of each
  record's own time ("2025-06-01 23:20:00 -0700" is read at -07:00), never the patient's or the
  portal's zone. Converted to Amsterdam first, a night recorded in California (core sleep
  23:20-05:00, deep 05:00-06:50) straddled 14:00 there and fell apart into two short nights.
- A night is dated by the day it starts: sleep from 02:00 belongs to the night before.
- Its reading is placed at the night's last wake-up, in the records' own offset: the end of the
  last asleep interval (Apple Health), the end of the effective period (a FHIR Observation of
  LOINC 93832-4, whose period runs from falling asleep to waking up). So one night from two
  sources has one `measured_at`, and the dedup key (`validation.dedup_key`: a daily total is
  its kind and day) recognises the second as the same night. A FHIR sleep Observation with a
  single effectiveDateTime is taken as that wake-up (the portal's own FHIR export writes so).
- Durations are real hours: a night over a DST change counts the hour the clock skipped or
  repeated once (23:00 CET to 07:00 CEST is 7 hours).
- Per night, the asleep intervals of one source are merged (overlapping stages are not counted
  twice) and the source with the most sleep wins; sources are never summed (an iPhone and a
  Watch record the same night).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from .base import Reading
from .common import clean_device, round2

KIND = "sleep_duration"
# A night starts at noon: shifting a time back 12 hours turns its night into a calendar day.
NIGHT_START = datetime.timedelta(hours=12)

Interval = tuple[datetime.datetime, datetime.datetime]


def night_of(start: datetime.datetime) -> datetime.date:
    """The night an asleep interval starting at `start` belongs to, on `start`'s own clock."""
    return (start - NIGHT_START).date()


def night_measured_at(
    start: datetime.datetime | None, end: datetime.datetime | None
) -> datetime.datetime | None:
    """Where a night's reading is placed: its last wake-up (`end`), as written; the start only
    when a source gives no end."""
    return end or start


@dataclass
class Nights:
    """Asleep intervals collected per night and source, then one reading per night."""

    # night → source → intervals
    intervals: dict[datetime.date, dict[str, list[Interval]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    numbers: dict[datetime.date, int] = field(default_factory=dict)  # the night's first record

    def add(
        self, start: datetime.datetime, end: datetime.datetime, *, source: str, number: int
    ) -> None:
        """One asleep interval; an empty or reversed one is ignored."""
        if end <= start:
            return
        night = night_of(start)
        self.intervals[night][source].append((start, end))
        self.numbers.setdefault(night, number)

    def readings(self) -> Iterator[Reading]:
        for night, per_source in sorted(self.intervals.items()):
            totals = []
            for source, intervals in per_source.items():
                merged = merge(intervals)
                # Instants, not clocks: Python subtracts two times of one ZoneInfo on the wall
                # clock, which made a night over a DST change an hour too long or short.
                seconds = sum(end.timestamp() - start.timestamp() for start, end in merged)
                totals.append((seconds, merged, source))
            seconds, merged, source = max(totals, key=lambda total: total[0])
            yield Reading(
                self.numbers[night],
                KIND,
                night_measured_at(merged[0][0], merged[-1][1]),  # type: ignore[arg-type]
                value=round2(Decimal(seconds) / 3600),
                device=clean_device(source),
            )


def merge(intervals: list[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, in time order (instants, whatever the offset)."""
    merged: list[list[datetime.datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]
