"""The chart of one kind over a period: JSON-ready series for static/js/measurement-chart.js.

However many readings a period holds, a page ships at most about a thousand points: up to
`MAX_RAW_POINTS` readings go out as they are; above that the database averages them into buckets
of a day (or a week when the readings span more than `MAX_DAY_BUCKETS_SPAN`), with the lowest
and highest value per bucket. Buckets follow the active time zone (the clinic's), so a reading
at 00:30 local time belongs to that local day, not to the UTC day before. Two queries: the count and
span of the readings decide between readings, days and weeks; the second returns the points.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    F,
    Max,
    Min,
    QuerySet,
    Value,
)
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.kinds import BLOOD_PRESSURE, KINDS, Kind
from patients.measurements.alerts import effective_rules
from patients.measurements.selectors import readings
from patients.models import Measurement, Patient, RuleType

MAX_RAW_POINTS = 400
# Day buckets while the readings span at most two years (at most ~732 points); week buckets
# beyond, which stay under 1000 points for up to 19 years of readings.
MAX_DAY_BUCKETS_SPAN = datetime.timedelta(days=731)

RAW, DAY, WEEK = "", "day", "week"

# ESH 2023 guideline: home blood pressure from 135 systolic or 85 diastolic mmHg is raised.
ESH_HOME_SYSTOLIC = 135
ESH_HOME_DIASTOLIC = 85


def _series_fields(kind: str) -> tuple[str, ...]:
    return ("systolic", "diastolic", "pulse") if kind == BLOOD_PRESSURE else ("value",)


def _bucket_size(qs: QuerySet[Measurement]) -> str:
    """RAW, DAY or WEEK, from the number of readings and the time they span (one query)."""
    stats = qs.order_by().aggregate(
        n=Count("id"), first=Min("measured_at"), last=Max("measured_at")
    )
    if stats["n"] <= MAX_RAW_POINTS:
        return RAW
    return DAY if stats["last"] - stats["first"] <= MAX_DAY_BUCKETS_SPAN else WEEK


def _points(qs: QuerySet[Measurement], fields: Iterable[str], size: str) -> QuerySet:
    """One row per reading (RAW) or per local day/week with count, mean, lowest and highest.

    The truncation is a selected column, so Django returns it as an aware datetime in the active
    time zone on every database (a reading at 00:30 local time counts for that local day).
    """
    if size == RAW:
        means = {f"{name}_mean": F(name) for name in fields}
        return (
            qs.order_by("measured_at")
            .annotate(bucket=F("measured_at"), n=Value(1), **means)
            .values("bucket", "n", *means)
        )
    trunc = TruncDay if size == DAY else TruncWeek
    aggregates: dict[str, Any] = {"n": Count("id")}
    for name in fields:
        aggregates |= {
            f"{name}_mean": Avg(name),
            f"{name}_min": Min(name),
            f"{name}_max": Max(name),
        }
    return (
        qs.order_by()
        .annotate(bucket=trunc("measured_at", tzinfo=timezone.get_current_timezone()))
        .values("bucket")
        .annotate(**aggregates)
        .order_by("bucket")
    )


def _number(value: float | Decimal | None, decimals: int) -> float | None:
    return None if value is None else round(float(value), decimals)


def _labels(kind: Kind) -> dict[str, str]:
    if kind.code == BLOOD_PRESSURE:
        return {"systolic": _("Systolic"), "diastolic": _("Diastolic"), "pulse": _("Pulse")}
    return {"value": str(kind.label)}


def _units(kind: Kind) -> dict[str, str]:
    if kind.code == BLOOD_PRESSURE:
        return {"systolic": "mmHg", "diastolic": "mmHg", "pulse": "/min"}
    return {"value": kind.unit_display}


def _references(kind: Kind) -> list[dict[str, object]]:
    if kind.code != BLOOD_PRESSURE:
        return []
    limits = (("systolic", ESH_HOME_SYSTOLIC), ("diastolic", ESH_HOME_DIASTOLIC))
    return [
        {
            "series": series,
            "value": value,
            "label": _("ESH home limit %(value)s mmHg") % {"value": value},
        }
        for series, value in limits
    ]


def _thresholds(patient: Patient, kind: Kind) -> list[dict[str, object]]:
    """The patient's upper and lower limits for this kind (their own or the clinic default)."""
    lines = []
    for rule in effective_rules(clinic_id=patient.clinic_id, patient=patient):
        if rule.kind != kind.code or rule.rule_type not in (RuleType.UPPER, RuleType.LOWER):
            continue
        pairs = (
            (("systolic", rule.limit), ("diastolic", rule.limit_diastolic))
            if kind.code == BLOOD_PRESSURE
            else (("value", rule.limit),)
        )
        for series, limit in pairs:
            if limit is not None:
                label = _("Limit %(value)s %(unit)s") % {
                    "value": round(float(limit), kind.decimals),
                    "unit": kind.unit_display,
                }
                lines.append({"series": series, "value": float(limit), "label": label})
    return lines


def chart_series(
    *, patient: Patient, kind: str, since: datetime.datetime | None
) -> dict[str, object]:
    """The patient's readings of `kind` since `since` (None: all), ready for `json_script`.

    `x` holds epoch seconds (a bucket's start when aggregated); each series has `mean` (the
    reading itself when not aggregated) and, when aggregated, `min` and `max` per bucket.
    """
    info = KINDS[kind]
    fields = _series_fields(kind)
    qs = readings(patient=patient, kind=kind, since=since)
    size = _bucket_size(qs)
    rows = list(_points(qs, fields, size))
    aggregated = size != RAW
    mean_decimals = info.decimals + (1 if aggregated else 0)
    labels, units = _labels(info), _units(info)
    series = []
    for name in fields:
        means = [_number(row[f"{name}_mean"], mean_decimals) for row in rows]
        if name == "pulse" and all(v is None for v in means):
            continue  # a blood-pressure monitor without pulse: no empty series
        entry: dict[str, object] = {
            "key": name,
            "label": labels[name],
            "unit": units[name],
            "mean": means,
        }
        if aggregated:
            entry |= {
                "min": [_number(row[f"{name}_min"], info.decimals) for row in rows],
                "max": [_number(row[f"{name}_max"], info.decimals) for row in rows],
            }
        series.append(entry)
    return {
        "kind": info.code,
        "label": str(info.label),
        "unit": info.unit_display,
        "decimals": info.decimals,
        "time_zone": timezone.get_current_timezone_name(),
        "count": sum(row["n"] for row in rows),
        "aggregated": aggregated,
        "bucket": size or None,
        "x": [int(row["bucket"].timestamp()) for row in rows],
        "series": series,
        "references": _references(info),
        "thresholds": _thresholds(patient, info),
        "time_label": _("Time"),
    }
