"""Reads of measurements: latest per kind, a kind's readings over a period, period statistics."""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from patients.kinds import BLOOD_PRESSURE, KINDS, Kind
from patients.measurements.alerts import AttentionReason, Triage, open_alerts_by_patient
from patients.models import (
    READING_DAY_TIME_ZONE,
    Alert,
    ImportBatch,
    LatestReading,
    Measurement,
    Patient,
)
from portal.dates import calendar_days_since

PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "1y": 365, "all": None}
DEFAULT_PERIOD = "30d"


def period_start(period: str, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return None if days is None else (now or timezone.now()) - datetime.timedelta(days=days)


def latest_per_kind(*, patient: Patient) -> dict[str, LatestReading]:
    """The newest reading of every catalogue kind the patient has (time and values), by kind:
    the rows the database keeps in LatestReading, one index scan."""
    rows = (
        LatestReading.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient, kind__in=list(KINDS))
        .order_by("kind")
    )
    return {row.kind: row for row in rows}


def readings(*, patient: Patient, kind: str, since: datetime.datetime | None) -> QuerySet:
    """The readings table: newest first, as named rows of what it shows (no model instances:
    the table pages through years of readings 50 at a time)."""
    qs = Measurement.objects.for_clinic(patient.clinic_id).filter(patient=patient, kind=kind)
    if since is not None:
        qs = qs.filter(measured_at__gte=since)
    return qs.order_by("-measured_at").values_list(*READING_COLUMNS, named=True)


def recent_imports(*, patient: Patient, limit: int) -> list[ImportBatch]:
    """The patient's newest file imports, whatever their state."""
    return list(
        ImportBatch.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient)
        .only("patient_id", "filename", "format", "status", "created_at", "rows_imported")
        .order_by("-created_at", "-id")[:limit]
    )


READING_COLUMNS = (
    "measured_at", "value", "systolic", "diastolic", "pulse", "irregular_heartbeat", "source",
    "device",
)  # fmt: skip


@dataclass(frozen=True)
class PeriodStats:
    count: int
    mean: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    systolic_mean: float | None = None
    diastolic_mean: float | None = None
    systolic_max: int | None = None
    diastolic_max: int | None = None


DASHBOARD_KINDS = (BLOOD_PRESSURE, "weight", "heart_rate")
READING_DAY_TIME_ZONE_INFO = zoneinfo.ZoneInfo(READING_DAY_TIME_ZONE)
TREND_PERIOD = datetime.timedelta(days=7)


@dataclass(frozen=True)
class DashboardCell:
    """One dashboard column for one patient: the newest reading of a kind and its trend."""

    kind: Kind
    measured_at: datetime.datetime | None = None
    value: Decimal | None = None
    systolic: int | None = None
    diastolic: int | None = None
    trend: int = 0  # +1 up, -1 down, 0 level or unknown
    sparkline: Sparkline | None = None
    crossed: str = ""  # the newest reading is outside a limit: "upper" or "lower"

    @property
    def is_blood_pressure(self) -> bool:
        return self.kind.code == BLOOD_PRESSURE


@dataclass
class PatientSummary:
    """What the clinic dashboard shows per patient: latest key values, their trend, recency."""

    cells: list[DashboardCell]  # one per DASHBOARD_KINDS, in that order (empty when none)
    last_reading_at: datetime.datetime | None
    # Calendar days in the clinic's time zone: 0 today, 1 yesterday (a reading at 22:00
    # yesterday is "yesterday" at 08:00, though fewer than 24 hours ago).
    days_since_last_reading: int | None = None
    reasons: list[AttentionReason] = field(default_factory=list)  # why they need attention

    @property
    def latest(self) -> dict[str, DashboardCell]:
        return {c.kind.code: c for c in self.cells if c.measured_at is not None}


# Per patient of the page and dashboard kind, one row: the newest reading (LatestReading) and,
# from the daily counts and sums (DailyReading, at most 30 rows, one index-only scan), the means
# of the last 7 days and the 7 before (the trend), and the daily means (the sparkline). Both
# tables are kept by the database from the readings, so a visit groups no month of readings by
# day. The trend is worked out here, rounded half up to the kind's decimals (a change the page
# cannot show is no trend); without readings in both weeks, from the last two days with
# readings. The sparkline's points come as the compact text static/js/sparkline.js reads. One
# statement, next to nothing left to do in Python for 75 cells. Every row is held to the
# clinic (tenancy) as well as to the page's patients.
_DASHBOARD_SQL = """
SELECT p.id, k.kind, l.measured_at, l.value, l.systolic, l.diastolic,
       coalesce(sign(CASE WHEN w.recent IS NOT NULL AND w.before IS NOT NULL
                     THEN round(w.recent, k.decimals) - round(w.before, k.decimals)
                     ELSE round(w.last_days[1], k.decimals) - round(w.last_days[2], k.decimals)
                     END)::int, 0) AS trend,
       w.points, w.low, w.high
FROM unnest(%(patients)s::bigint[]) AS p(id)
CROSS JOIN unnest(%(kinds)s::text[], %(decimals)s::int[]) AS k(kind, decimals)
JOIN patients_latestreading l
  ON l.clinic_id = %(clinic)s AND l.patient_id = p.id AND l.kind = k.kind
CROSS JOIN LATERAL (
    SELECT sum(d.main_sum) FILTER (WHERE d.day > %(week)s)
               / nullif(sum(d.main_count) FILTER (WHERE d.day > %(week)s), 0) AS recent,
           sum(d.main_sum) FILTER (WHERE d.day <= %(week)s AND d.day > %(fortnight)s)
               / nullif(sum(d.main_count) FILTER (WHERE d.day <= %(week)s
                                                  AND d.day > %(fortnight)s), 0) AS before,
           (array_agg(d.main_sum / d.main_count ORDER BY d.day DESC))[1:2] AS last_days,
           string_agg((d.day - %(first_day)s) || ':' || d.main_mean
                      || coalesce(':' || d.second_mean, ''), ',' ORDER BY d.day) AS points,
           min(d.main_mean) AS low,
           max(d.main_mean) AS high
    FROM patients_dailyreading d
    WHERE d.clinic_id = %(clinic)s AND d.patient_id = p.id AND d.kind = k.kind
      AND d.day >= %(first_day)s AND d.day <= %(today)s AND d.main_mean IS NOT NULL
) w
"""
SPARKLINE_DAYS = 30


@dataclass(frozen=True)
class Sparkline:
    """A kind's daily means over the last `SPARKLINE_DAYS` local days, as the text
    static/js/sparkline.js draws: `day:mean[:diastolic mean]` per day with readings, comma-
    separated, days counted from the first of them (0) to today (29). `low` and `high`: the
    lowest and the highest daily mean."""

    points: str
    low: float
    high: float


def dashboard_summaries(
    *, clinic_id: int, patients: list[Patient], triage: Triage | None = None
) -> dict[int, PatientSummary]:
    """Summaries for one page of patients (from `patients.selectors.dashboard_patients`, which
    annotates `last_reading_at` and, with `triage`, the rules that hold) in one query, however
    many readings they have; with `triage`, one more for the page's open alerts, to say in
    words why a patient needs attention and mark the values outside a limit.

    The trend compares the mean of the last 7 local days (today and the 6 before) with the
    mean of the 7 days before; a patient without readings in both weeks compares the means of
    their last two days with readings in the last 30.
    """
    if not patients:  # e.g. a search without matches
        return {}
    today = timezone.localdate(timezone.now(), READING_DAY_TIME_ZONE_INFO)
    first_day = today - datetime.timedelta(days=SPARKLINE_DAYS - 1)
    params = {
        "patients": [p.pk for p in patients],
        "kinds": list(DASHBOARD_KINDS),
        "decimals": [KINDS[code].decimals for code in DASHBOARD_KINDS],
        "clinic": clinic_id,
        "today": today,
        "first_day": first_day,
        # The last 7 days are today and the 6 before; the week before them, the 7 before that.
        "week": today - TREND_PERIOD,
        "fortnight": today - 2 * TREND_PERIOD,
    }
    with connection.cursor() as cursor:
        cursor.execute(_DASHBOARD_SQL, params)
        newest = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
    alerts: dict[int, list[Alert]] = {}
    if triage is not None:
        # Only the patients the list counted open alerts for (none on most pages: no query).
        alerted = [p.pk for p in patients if getattr(p, "open_alert_count", 1)]
        if alerted:
            alerts = open_alerts_by_patient(clinic_id=clinic_id, patient_ids=alerted)
    summaries = {}
    for p in patients:
        holding = p.holding_rule_ids if triage is not None else []
        crossed = triage.out_of_range(holding) if triage is not None else {}
        cells = []
        for code in DASHBOARD_KINDS:
            row = newest.get((p.pk, code))
            if row is None:
                cells.append(DashboardCell(KINDS[code]))
                continue
            measured_at, value, systolic, diastolic, trend, points, low, high = row
            sparkline = Sparkline(points, low, high) if points else None
            mark = crossed.get(code, "")
            cell = DashboardCell(
                KINDS[code], measured_at, value, systolic, diastolic, trend, sparkline, mark
            )
            cells.append(cell)
        reasons = triage.reasons(holding, alerts.get(p.pk, [])) if triage is not None else []
        last = p.last_reading_at
        days = None if last is None else calendar_days_since(last, today=today)
        summaries[p.pk] = PatientSummary(cells, last, days, reasons)
    return summaries
