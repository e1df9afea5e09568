"""Reads of measurements: latest per kind, a kind's readings over a period, period statistics."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from patients.kinds import BLOOD_PRESSURE, KINDS, Kind
from patients.models import Measurement, Patient

PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "1y": 365, "all": None}
DEFAULT_PERIOD = "30d"


def period_start(period: str, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return None if days is None else (now or timezone.now()) - datetime.timedelta(days=days)


# One index probe (measurement_patient_kind_time) per catalogue kind. Ranking all the patient's
# readings with a window function read years of them to keep a handful; the ORM's version of
# the probes (a subquery per kind) took longer to compile in Python than to run.
_LATEST_PER_KIND_SQL = """
SELECT latest.* FROM unnest(%(kinds)s::text[]) AS k(kind)
CROSS JOIN LATERAL (
    SELECT m.* FROM patients_measurement m
    WHERE m.clinic_id = %(clinic)s AND m.patient_id = %(patient)s AND m.kind = k.kind
    ORDER BY m.measured_at DESC, m.id DESC
    LIMIT 1
) latest
ORDER BY latest.kind
"""


def latest_per_kind(*, patient: Patient) -> dict[str, Measurement]:
    """The newest reading of every kind the patient has, in one query."""
    params = {"kinds": list(KINDS), "clinic": patient.clinic_id, "patient": patient.pk}
    return {m.kind: m for m in Measurement.objects.raw(_LATEST_PER_KIND_SQL, params)}


def readings(*, patient: Patient, kind: str, since: datetime.datetime | None) -> QuerySet:
    """The readings table: newest first, as named rows of what it shows (no model instances:
    the table pages through years of readings 50 at a time)."""
    qs = Measurement.objects.for_clinic(patient.clinic_id).filter(patient=patient, kind=kind)
    if since is not None:
        qs = qs.filter(measured_at__gte=since)
    return qs.order_by("-measured_at").values_list(*READING_COLUMNS, named=True)


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

    @property
    def is_blood_pressure(self) -> bool:
        return self.kind.code == BLOOD_PRESSURE


@dataclass
class PatientSummary:
    """What the clinic dashboard shows per patient: latest key values, their trend, recency."""

    cells: list[DashboardCell]  # one per DASHBOARD_KINDS, in that order (empty when none)
    last_reading_at: datetime.datetime | None

    @property
    def latest(self) -> dict[str, DashboardCell]:
        return {c.kind.code: c for c in self.cells if c.measured_at is not None}

    @property
    def days_since_last_reading(self) -> int | None:
        if self.last_reading_at is None:
            return None
        return (timezone.now() - self.last_reading_at).days


# Per patient of the page and dashboard kind: the two newest readings (one index probe on
# measurement_patient_kind_time each) and the means of the last 7 days and the 7 before (the
# trend). One statement: the ORM has no LATERAL join, and its version (subqueries for the ids,
# model instances, a third query for the means) cost the dashboard ~25 ms at clinic scale.
# Parameters only; every row is held to the clinic (tenancy) as well as to the page's patients.
_DASHBOARD_SQL = """
SELECT p.id, k.kind, r.measured_at, r.value, r.systolic, r.diastolic, w.recent, w.before
FROM unnest(%(patients)s::bigint[]) AS p(id)
CROSS JOIN unnest(%(kinds)s::text[]) AS k(kind)
JOIN LATERAL (
    SELECT m.measured_at, m.value, m.systolic, m.diastolic
    FROM patients_measurement m
    WHERE m.clinic_id = %(clinic)s AND m.patient_id = p.id AND m.kind = k.kind
    ORDER BY m.measured_at DESC, m.id DESC
    LIMIT 2
) r ON true
CROSS JOIN LATERAL (
    SELECT avg(coalesce(m.systolic, m.value)) FILTER (WHERE m.measured_at >= %(week)s) AS recent,
           avg(coalesce(m.systolic, m.value)) FILTER (WHERE m.measured_at < %(week)s) AS before
    FROM patients_measurement m
    WHERE m.clinic_id = %(clinic)s AND m.patient_id = p.id AND m.kind = k.kind
      AND m.measured_at >= %(fortnight)s AND m.measured_at <= %(now)s
) w
ORDER BY p.id, k.kind, r.measured_at DESC
"""


def _direction(newer: float | Decimal, older: float | Decimal, decimals: int) -> int:
    # Rounded to what the dashboard shows (half up, like `fixed`): a change it cannot show is
    # no trend.
    quantum = Decimal(1).scaleb(-decimals)
    shown_newer, shown_older = (
        Decimal(repr(float(v))).quantize(quantum, ROUND_HALF_UP) for v in (newer, older)
    )
    return (shown_newer > shown_older) - (shown_newer < shown_older)


def dashboard_summaries(*, clinic_id: int, patients: list[Patient]) -> dict[int, PatientSummary]:
    """Summaries for one page of patients (from `patients.selectors.dashboard_patients`, which
    annotates `last_reading_at`) in one query, however many readings they have.

    The trend compares the mean of the last 7 days with the mean of the 7 days before; a
    patient without readings in both compares their newest reading with the one before.
    """
    if not patients:  # e.g. a search without matches
        return {}
    now = timezone.now()
    params = {
        "patients": [p.pk for p in patients],
        "kinds": list(DASHBOARD_KINDS),
        "clinic": clinic_id,
        "now": now,
        "week": now - TREND_PERIOD,
        "fortnight": now - 2 * TREND_PERIOD,
    }
    with connection.cursor() as cursor:
        cursor.execute(_DASHBOARD_SQL, params)
        rows = cursor.fetchall()
    newest: dict[tuple[int, str], DashboardCell] = {}
    for patient_id, code, measured_at, value, systolic, diastolic, recent, before in rows:
        kind = KINDS[code]
        main = systolic if code == BLOOD_PRESSURE else value
        cell = newest.get((patient_id, code))
        if cell is None:
            trend = 0
            if recent is not None and before is not None:
                trend = _direction(recent, before, kind.decimals)
            newest[(patient_id, code)] = DashboardCell(
                kind, measured_at, value, systolic, diastolic, trend
            )
        elif (recent is None or before is None) and main is not None:
            newer = cell.systolic if cell.is_blood_pressure else cell.value
            if newer is not None:
                trend = _direction(newer, main, kind.decimals)
                newest[(patient_id, code)] = replace(cell, trend=trend)
    return {
        p.pk: PatientSummary(
            [newest.get((p.pk, code)) or DashboardCell(KINDS[code]) for code in DASHBOARD_KINDS],
            p.last_reading_at,
        )
        for p in patients
    }
