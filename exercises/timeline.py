"""One timeline of a patient's exercise and home measurements over a chosen period: weekly
adherence, daily pain and effort, and the daily steps, heart rate, blood pressure and weight,
on one shared axis of days (static/js/timeline.js draws the panels with uPlot, one above the
other, with one cursor).

Measurements come from the daily sums the database keeps (`patients.DailyReading`), so a
period of a year is at most 365 rows per kind whatever the number of readings; steps are the
day's total, the other kinds the day's mean.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from exercises.adherence import programs_adherence
from exercises.models import Program, SessionLog
from patients.kinds import BLOOD_PRESSURE, KINDS
from patients.models import DailyReading, Patient

PERIODS = (30, 90, 180, 365)
DEFAULT_PERIOD = 90
# The measurement panels, in order: steps are a daily total, the others a daily mean.
MEASUREMENT_KINDS = ("steps", "heart_rate", BLOOD_PRESSURE, "weight")
TOTAL_KINDS = frozenset({"steps"})


@dataclass(frozen=True)
class Timeline:
    first: datetime.date
    last: datetime.date
    chart: dict  # what timeline.js draws

    @property
    def weeks(self) -> list[dict]:
        """The chart's panels as weekly means, for the table beside it (screen readers, print)."""
        count = len(self.chart["days"])
        columns = [s["values"] for p in self.chart["panels"] for s in p["series"]]
        rows = []
        # Week by week: the period's first week may start before its first day.
        start = -self.first.weekday()
        while start < count:
            end = start + 7
            means = []
            for series in columns:
                values = [v for v in series[max(start, 0) : end] if v is not None]
                means.append(round(sum(values) / len(values), 1) if values else None)
            rows.append(
                {"week_start": self.first + datetime.timedelta(days=start), "values": means}
            )
            start = end
        rows.reverse()
        return rows

    @property
    def columns(self) -> list[str]:
        return [s["label"] for p in self.chart["panels"] for s in p["series"]]

    @property
    def has_data(self) -> bool:
        return any(
            value is not None
            for panel in self.chart["panels"]
            for series in panel["series"]
            for value in series["values"]
        )


def _epoch(day: datetime.date) -> int:
    # Noon UTC of the day: a point in the day whatever the viewer's offset.
    return int(datetime.datetime(day.year, day.month, day.day, 12, tzinfo=datetime.UTC).timestamp())


def patient_timeline(patient: Patient, days: int, today: datetime.date | None = None) -> Timeline:
    today = today or timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    index = {first + datetime.timedelta(days=n): n for n in range(days)}

    def empty() -> list:
        return [None] * days

    adherence = empty()
    programs = Program.objects.for_clinic(patient.clinic_id).filter(patient=patient)
    weekly: dict[datetime.date, list[int]] = defaultdict(lambda: [0, 0])
    zone = timezone.get_current_timezone()
    for program_weeks in programs_adherence(
        programs, today=today, zone=zone, since=first, with_scores=False
    ).values():
        for week in program_weeks:
            weekly[week.week_start][0] += week.done
            weekly[week.week_start][1] += week.prescribed
    for week_start, (done, prescribed) in weekly.items():
        if prescribed:
            # Drawn on each day of the week that lies in the period, as a step.
            for n in range(7):
                day = week_start + datetime.timedelta(days=n)
                if day in index and day <= today:
                    adherence[index[day]] = round(100 * done / prescribed)
    pain, effort = empty(), empty()
    for day, p, e in SessionLog.objects.filter(
        clinic_id=patient.clinic_id, program__patient=patient, day__gte=first, day__lte=today
    ).values_list("day", "pain", "effort"):
        # Two programs on one day: the higher score (a flag should not be averaged away).
        if p is not None:
            pain[index[day]] = max(p, pain[index[day]] or 0)
        if e is not None:
            effort[index[day]] = max(e, effort[index[day]] or 0)
    measured: dict[str, list] = {kind: empty() for kind in MEASUREMENT_KINDS}
    diastolic = empty()
    for kind, day, main_sum, main_mean, second_mean in DailyReading.objects.filter(
        clinic_id=patient.clinic_id,
        patient=patient,
        kind__in=MEASUREMENT_KINDS,
        day__gte=first,
        day__lte=today,
    ).values_list("kind", "day", "main_sum", "main_mean", "second_mean"):
        value = float(main_sum) if kind in TOTAL_KINDS else main_mean
        measured[kind][index[day]] = None if value is None else round(value, KINDS[kind].decimals)
        if kind == BLOOD_PRESSURE and second_mean is not None:
            diastolic[index[day]] = round(second_mean)
    panels = [
        {
            "key": "adherence",
            "label": _("Exercise"),
            "unit": "%",
            "range": [0, 100],
            "series": [{"label": _("Adherence (week)"), "values": adherence, "style": "step"}],
        },
        {
            "key": "pain_effort",
            "label": _("Pain and effort"),
            "unit": "0-10",
            "range": [0, 10],
            "series": [
                {"label": _("Pain"), "values": pain, "style": "points"},
                {"label": _("Effort"), "values": effort, "style": "points"},
            ],
        },
    ]
    for kind in MEASUREMENT_KINDS:
        series = [{"label": str(KINDS[kind].label), "values": measured[kind], "style": "line"}]
        if kind == BLOOD_PRESSURE:
            series = [
                {"label": _("Systolic"), "values": measured[kind], "style": "line"},
                {"label": _("Diastolic"), "values": diastolic, "style": "line"},
            ]
        panels.append(
            {
                "key": kind,
                "label": str(KINDS[kind].label),
                "unit": KINDS[kind].unit_display,
                "decimals": KINDS[kind].decimals,
                "series": series,
            }
        )
    # Noon UTC of each day, a day's seconds apart (UTC keeps no clock changes).
    chart = {"days": list(range(_epoch(first), _epoch(today) + 1, 86400)), "panels": panels}
    return Timeline(first=first, last=today, chart=chart)
