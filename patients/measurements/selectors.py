"""Reads of measurements: latest per kind, a kind's readings over a period, period statistics."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Avg, Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from patients.kinds import BLOOD_PRESSURE, KINDS
from patients.models import Measurement, Patient

PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "1y": 365, "all": None}
DEFAULT_PERIOD = "30d"


def period_start(period: str, *, now: datetime.datetime | None = None) -> datetime.datetime | None:
    days = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    return None if days is None else (now or timezone.now()) - datetime.timedelta(days=days)


def latest_per_kind(*, patient: Patient) -> dict[str, Measurement]:
    """The newest reading of every kind the patient has, in one query."""
    ranked = (
        Measurement.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("kind")], order_by=F("measured_at").desc())
        )
        .filter(rank=1)
    )
    return {m.kind: m for m in ranked}


def readings(
    *, patient: Patient, kind: str, since: datetime.datetime | None
) -> QuerySet[Measurement]:
    qs = Measurement.objects.for_clinic(patient.clinic_id).filter(patient=patient, kind=kind)
    if since is not None:
        qs = qs.filter(measured_at__gte=since)
    return qs.order_by("-measured_at")


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


def period_stats(qs: QuerySet[Measurement]) -> PeriodStats:
    row = qs.order_by().aggregate(
        count=Count("id"),
        mean=Avg("value"),
        minimum=Min("value"),
        maximum=Max("value"),
        systolic_mean=Avg("systolic"),
        diastolic_mean=Avg("diastolic"),
        systolic_max=Max("systolic"),
        diastolic_max=Max("diastolic"),
    )
    return PeriodStats(**row)


DASHBOARD_KINDS = (BLOOD_PRESSURE, "weight", "heart_rate")


@dataclass
class PatientSummary:
    """What the clinic dashboard shows per patient: latest key values, their trend, recency."""

    latest: dict[str, Measurement]
    trend: dict[str, int]  # -1 down, 0 same, +1 up against the reading before
    last_reading_at: datetime.datetime | None

    @property
    def days_since_last_reading(self) -> int | None:
        if self.last_reading_at is None:
            return None
        return (timezone.now() - self.last_reading_at).days


def _main_value(m: Measurement) -> float:
    return float(m.systolic if m.kind == BLOOD_PRESSURE else m.value or 0)


def dashboard_summaries(*, clinic_id: int, patients: list[Patient]) -> dict[int, PatientSummary]:
    """Summaries for one page of patients (from `patients.selectors.dashboard_patients`, which
    annotates `last_reading_at`) in two queries, however many readings they have."""
    patient_ids = [p.pk for p in patients]
    # The two newest readings per patient and kind are picked by one subquery each, an index
    # probe on measurement_patient_kind_time; ranking every reading of the page's patients with
    # a window function read all of them (years of data: ~100 ms per page at clinic scale).
    newest: dict[str, Subquery] = {}
    for kind in DASHBOARD_KINDS:
        ordered = (
            Measurement.objects.for_clinic(clinic_id)
            .filter(patient=OuterRef("pk"), kind=kind)
            .order_by("-measured_at", "-pk")  # a tie-breaker: the two probes agree on the order
            .values("pk")
        )
        newest |= {f"{kind}_0": Subquery(ordered[:1]), f"{kind}_1": Subquery(ordered[1:2])}
    rows = (
        Patient.objects.for_clinic(clinic_id)
        .filter(pk__in=patient_ids)
        .order_by()
        .annotate(**newest)
        .values_list(*newest)
    )
    ids = [pk for row in rows for pk in row if pk is not None]
    ranked = (
        Measurement.objects.for_clinic(clinic_id)
        .filter(pk__in=ids)
        .order_by("patient_id", "kind", "-measured_at", "-pk")
    )
    summaries = {p.pk: PatientSummary({}, {}, p.last_reading_at) for p in patients}
    for m in ranked:
        summary = summaries[m.patient_id]
        if m.kind not in summary.latest:
            summary.latest[m.kind] = m
        else:  # without two weeks of readings: against the reading before
            newer = _main_value(summary.latest[m.kind])
            older = _main_value(m)
            summary.trend[m.kind] = (newer > older) - (newer < older)
    for (patient_id, kind), trend in _period_trends(clinic_id, patient_ids).items():
        summaries[patient_id].trend[kind] = trend
    return summaries


TREND_PERIOD = datetime.timedelta(days=7)


def _period_trends(clinic_id: int, patient_ids: list[int]) -> dict[tuple[int, str], int]:
    """Up (+1), down (-1) or level (0): the mean of the last 7 days against the 7 days before,
    for each patient and dashboard kind with readings in both periods (one query)."""
    now = timezone.now()
    recent, before = Q(measured_at__gte=now - TREND_PERIOD), Q(measured_at__lt=now - TREND_PERIOD)
    rows = (
        Measurement.objects.for_clinic(clinic_id)
        .filter(
            patient_id__in=patient_ids,
            kind__in=DASHBOARD_KINDS,
            measured_at__gte=now - 2 * TREND_PERIOD,
            measured_at__lte=now,
        )
        .values("patient_id", "kind")
        .annotate(
            recent_value=Avg("value", filter=recent),
            before_value=Avg("value", filter=before),
            recent_systolic=Avg("systolic", filter=recent),
            before_systolic=Avg("systolic", filter=before),
        )
    )
    trends = {}
    for row in rows:
        field = "systolic" if row["kind"] == BLOOD_PRESSURE else "value"
        newer, older = row[f"recent_{field}"], row[f"before_{field}"]
        if newer is not None and older is not None:
            kind = KINDS[row["kind"]]
            # Rounded to what the dashboard shows: a change it cannot show is no trend.
            newer, older = round(float(newer), kind.decimals), round(float(older), kind.decimals)
            trends[(row["patient_id"], row["kind"])] = (newer > older) - (newer < older)
    return trends
