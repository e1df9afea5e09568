"""Reads of measurements: latest per kind, a kind's readings over a period, period statistics."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from patients.kinds import BLOOD_PRESSURE, KINDS, Kind
from patients.measurements.alerts import AttentionReason, Triage, open_alerts_by_patient
from patients.models import Alert, ImportBatch, LatestReading, Measurement, Patient
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
    reasons: list[AttentionReason] = field(default_factory=list)  # why they need attention

    @property
    def latest(self) -> dict[str, DashboardCell]:
        return {c.kind.code: c for c in self.cells if c.measured_at is not None}

    @property
    def days_since_last_reading(self) -> int | None:
        """Calendar days in the clinic's time zone: 0 today, 1 yesterday (a reading at 22:00
        yesterday is "yesterday" at 08:00, though fewer than 24 hours ago)."""
        if self.last_reading_at is None:
            return None
        return calendar_days_since(self.last_reading_at)


# Per patient of the page and dashboard kind: the two newest readings (one index probe on
# measurement_patient_kind_time each) and one scan of the last 30 days for the means of the last
# 7 days and the 7 before (the trend) and the daily means (the sparkline). One statement: the ORM
# has no LATERAL join, and its version (subqueries for the ids, model instances, a third query
# for the means) cost the dashboard ~25 ms at clinic scale. The 30 days are computed before the
# two newest readings are joined, once per patient and kind. Parameters only; every row is held
# to the clinic (tenancy) as well as to the page's patients.
_DASHBOARD_SQL = """
SELECT p.id, k.kind, r.measured_at, r.value, r.systolic, r.diastolic,
       w.recent, w.before, w.days, w.means, w.second_means
FROM unnest(%(patients)s::bigint[]) AS p(id)
CROSS JOIN unnest(%(kinds)s::text[]) AS k(kind)
CROSS JOIN LATERAL (
    SELECT sum(d.recent_sum) / nullif(sum(d.recent_n), 0) AS recent,
           sum(d.before_sum) / nullif(sum(d.before_n), 0) AS before,
           array_agg(d.day - %(first_day)s::date ORDER BY d.day) AS days,
           array_agg(round(d.mean, 2)::float8 ORDER BY d.day) AS means,
           array_agg(round(d.second_mean, 2)::float8 ORDER BY d.day) AS second_means
    FROM (
        SELECT (m.measured_at AT TIME ZONE %(tz)s)::date AS day,
               avg(coalesce(m.systolic, m.value)) AS mean,
               avg(m.diastolic) AS second_mean,
               sum(coalesce(m.systolic, m.value)) FILTER (WHERE m.measured_at >= %(week)s)
                   AS recent_sum,
               count(coalesce(m.systolic, m.value)) FILTER (WHERE m.measured_at >= %(week)s)
                   AS recent_n,
               sum(coalesce(m.systolic, m.value)) FILTER (WHERE m.measured_at < %(week)s
                   AND m.measured_at >= %(fortnight)s) AS before_sum,
               count(coalesce(m.systolic, m.value)) FILTER (WHERE m.measured_at < %(week)s
                   AND m.measured_at >= %(fortnight)s) AS before_n
        FROM patients_measurement m
        WHERE m.clinic_id = %(clinic)s AND m.patient_id = p.id AND m.kind = k.kind
          AND m.measured_at >= %(month)s AND m.measured_at <= %(now)s
        GROUP BY 1
    ) d
) w
JOIN LATERAL (
    SELECT m.measured_at, m.value, m.systolic, m.diastolic
    FROM patients_measurement m
    WHERE m.clinic_id = %(clinic)s AND m.patient_id = p.id AND m.kind = k.kind
    ORDER BY m.measured_at DESC, m.id DESC
    LIMIT 2
) r ON true
ORDER BY p.id, k.kind, r.measured_at DESC
"""
SPARKLINE_DAYS = 30


@dataclass(frozen=True)
class Sparkline:
    """A kind's daily means over the last `SPARKLINE_DAYS` local days: `days` counts from the
    first of them (0) to today (29); `second` is the diastolic of blood pressure."""

    days: list[int]
    means: list[float]
    second: list[float] | None = None

    @property
    def low(self) -> float:
        return min(self.means)

    @property
    def high(self) -> float:
        return max(self.means)


def _direction(newer: float | Decimal, older: float | Decimal, decimals: int) -> int:
    # Rounded to what the dashboard shows (half up, like `fixed`): a change it cannot show is
    # no trend.
    quantum = Decimal(1).scaleb(-decimals)
    shown_newer, shown_older = (
        Decimal(repr(float(v))).quantize(quantum, ROUND_HALF_UP) for v in (newer, older)
    )
    return (shown_newer > shown_older) - (shown_newer < shown_older)


def _sparkline(
    code: str, days: list[int] | None, means: list[float], second: list[float | None]
) -> Sparkline | None:
    # Floats from the database (float8): a sparkline needs no exact decimals, and 2,000
    # Decimals a page cost more to load than the statement took.
    if not days:
        return None
    return Sparkline(days, means, second if code == BLOOD_PRESSURE else None)


def dashboard_summaries(
    *, clinic_id: int, patients: list[Patient], triage: Triage | None = None
) -> dict[int, PatientSummary]:
    """Summaries for one page of patients (from `patients.selectors.dashboard_patients`, which
    annotates `last_reading_at` and, with `triage`, the rules that hold) in one query, however
    many readings they have; with `triage`, one more for the page's open alerts, to say in
    words why a patient needs attention and mark the values outside a limit.

    The trend compares the mean of the last 7 days with the mean of the 7 days before; a
    patient without readings in both compares their newest reading with the one before.
    """
    if not patients:  # e.g. a search without matches
        return {}
    now = timezone.now()
    first_day = timezone.localdate(now) - datetime.timedelta(days=SPARKLINE_DAYS - 1)
    params = {
        "patients": [p.pk for p in patients],
        "kinds": list(DASHBOARD_KINDS),
        "clinic": clinic_id,
        "now": now,
        "week": now - TREND_PERIOD,
        "fortnight": now - 2 * TREND_PERIOD,
        "first_day": first_day,
        "month": datetime.datetime.combine(
            first_day, datetime.time(), timezone.get_current_timezone()
        ),
        "tz": timezone.get_current_timezone_name(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_DASHBOARD_SQL, params)
        rows = cursor.fetchall()
    newest: dict[tuple[int, str], DashboardCell] = {}
    for row in rows:
        patient_id, code, measured_at, value, systolic, diastolic, recent, before = row[:8]
        kind = KINDS[code]
        main = systolic if code == BLOOD_PRESSURE else value
        cell = newest.get((patient_id, code))
        if cell is None:
            trend = 0
            if recent is not None and before is not None:
                trend = _direction(recent, before, kind.decimals)
            newest[(patient_id, code)] = DashboardCell(
                kind, measured_at, value, systolic, diastolic, trend, _sparkline(code, *row[8:])
            )
        elif (recent is None or before is None) and main is not None:
            newer = cell.systolic if cell.is_blood_pressure else cell.value
            if newer is not None:
                trend = _direction(newer, main, kind.decimals)
                newest[(patient_id, code)] = replace(cell, trend=trend)
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
            cell = newest.get((p.pk, code))
            if cell is None:
                cell = DashboardCell(KINDS[code])
            elif code in crossed:
                cell = replace(cell, crossed=crossed[code])
            cells.append(cell)
        reasons = triage.reasons(holding, alerts.get(p.pk, [])) if triage is not None else []
        summaries[p.pk] = PatientSummary(cells, p.last_reading_at, reasons)
    return summaries
