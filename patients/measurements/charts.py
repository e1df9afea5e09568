"""The chart of one kind over a period: JSON-ready series for static/js/measurement-chart.js.

However many readings a period holds, a page ships at most about a thousand points: up to
`MAX_RAW_POINTS` readings go out as they are; above that the database averages them into buckets
of a day (or a week when the readings span more than `MAX_DAY_BUCKETS_SPAN`), with the lowest
and highest value per bucket. Buckets follow the active time zone (the clinic's), so a reading
at 00:30 local time belongs to that local day, not to the UTC day before. One statement decides
between readings, days and weeks from the count and span of the readings, returns the points and,
as a total row, the period's statistics; a second one reads the patient's limits.

Where the readings stop for a while (a holiday, a monitor in a drawer for a year) the line breaks:
a point without values goes between two points much further apart than usual, and the chart
draws no line through it (uPlot's `spanGaps: false`).
"""

from __future__ import annotations

import datetime
import itertools
import statistics
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from patients.kinds import BLOOD_PRESSURE, KINDS, Kind
from patients.measurements.alerts import effective_rules
from patients.measurements.selectors import PeriodStats
from patients.models import Patient, RuleType
from portal.numbers import fixed

MAX_RAW_POINTS = 400
# Day buckets while the readings span at most two years (at most ~732 points); week buckets
# beyond, which stay under 1000 points for up to 19 years of readings.
MAX_DAY_BUCKETS_SPAN = datetime.timedelta(days=731)

RAW, DAY, WEEK = "", "day", "week"

# A gap breaks the line when it is more than GAP_FACTOR times the usual (median) spacing of the
# points and longer than MIN_GAP. The minimum keeps a skipped day from breaking a line of daily
# readings, and keeps readings taken in pairs a minute apart (a median of minutes) from
# breaking every night.
GAP_FACTOR = 3
MIN_GAP = datetime.timedelta(days=2)

# ESH 2023 guideline: home blood pressure from 135 systolic or 85 diastolic mmHg is raised.
ESH_HOME_SYSTOLIC = 135
ESH_HOME_DIASTOLIC = 85


def _series_fields(kind: str) -> tuple[str, ...]:
    return ("systolic", "diastolic", "pulse") if kind == BLOOD_PRESSURE else ("value",)


def _points_sql(fields: tuple[str, ...], *, has_since: bool) -> str:
    """The period's points and, as the last row (x NULL), its totals: one statement.

    The bucket size is decided in SQL from the count and span of the readings; the bucket start
    is truncated in the clinic's time zone and returned as epoch seconds, the values as floats,
    so no row needs converting in Python. Field names come from `_series_fields`, never from
    input: the f-string is not injectable.
    """
    # Blood pressure's lowest and highest stay whole numbers (shorter JSON); `value` is numeric.
    extreme = {"value": "::float8"}
    aggregates = ", ".join(
        f"avg({f})::float8, min({f}){extreme.get(f, '')}, max({f}){extreme.get(f, '')}"
        for f in fields
    )
    readings = "m.clinic_id = %(clinic)s AND m.patient_id = %(patient)s AND m.kind = %(kind)s"
    if has_since:
        readings += " AND m.measured_at >= %(since)s"
    return f"""
WITH size AS MATERIALIZED (
    SELECT CASE WHEN count(*) <= %(max_raw)s THEN ''
                WHEN max(m.measured_at) - min(m.measured_at) <= %(max_day_span)s THEN 'day'
                ELSE 'week' END AS bucket
    FROM patients_measurement m
    WHERE {readings}
)
SELECT floor(extract(epoch FROM CASE (SELECT bucket FROM size) WHEN '' THEN m.measured_at
           ELSE date_trunc((SELECT bucket FROM size), m.measured_at, %(tz)s) END))::bigint AS x,
       (SELECT bucket FROM size), count(*), {aggregates}
FROM patients_measurement m
WHERE {readings}
GROUP BY ROLLUP (1)
ORDER BY 1 NULLS LAST
"""  # noqa: S608 (identifiers from this module only)


@dataclass(frozen=True)
class _Period:
    """The period's points as columns (`x`, `n`, and per series field its mean, min and max per
    point), its bucket size, and its totals over all readings (count and per field mean, min,
    max), the last row of the points statement."""

    size: str
    x: list[int]
    columns: dict[str, tuple[list, list, list]]
    count: int
    totals: dict[str, tuple[float | None, float | None, float | None]]


def _period(patient: Patient, kind: str, since: datetime.datetime | None) -> _Period:
    fields = _series_fields(kind)
    params = {
        "clinic": patient.clinic_id,
        "patient": patient.pk,
        "kind": kind,
        "since": since,
        "max_raw": MAX_RAW_POINTS,
        "max_day_span": MAX_DAY_BUCKETS_SPAN,
        "tz": timezone.get_current_timezone_name(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_points_sql(fields, has_since=since is not None), params)
        rows = cursor.fetchall()
    *points, total = rows
    # Columns, not an object per point: a two-year chart has 730 points of up to 9 values.
    columns = list(zip(*points, strict=True)) or [[] for _ in total]
    return _Period(
        size=points[0][1] if points else RAW,
        x=list(columns[0]),
        columns={f: tuple(columns[3 + 3 * i : 6 + 3 * i]) for i, f in enumerate(fields)},
        count=total[2],
        totals={f: tuple(total[3 + 3 * i : 6 + 3 * i]) for i, f in enumerate(fields)},
    )


def _gaps(x: list[int]) -> list[int]:
    """Indices `i` where the line should break between `x[i]` and `x[i + 1]`."""
    if len(x) < 3:  # two points have no usual spacing to compare with
        return []
    spacings = [b - a for a, b in itertools.pairwise(x)]
    limit = max(GAP_FACTOR * statistics.median(spacings), MIN_GAP.total_seconds())
    return [i for i, spacing in enumerate(spacings) if spacing > limit]


def _with_breaks(period: _Period) -> tuple[list[int], dict[str, tuple[list, list, list]]]:
    """The points with a point without values in the middle of every gap (see `_gaps`)."""
    x = list(period.x)
    columns = {name: tuple(list(c) for c in cols) for name, cols in period.columns.items()}
    for i in reversed(_gaps(period.x)):  # from the end, so earlier indices stay valid
        x.insert(i + 1, (period.x[i] + period.x[i + 1]) // 2)
        for cols in columns.values():
            for column in cols:
                column.insert(i + 1, None)
    return x, columns


def _stats(kind: str, period: _Period) -> PeriodStats:
    if kind == BLOOD_PRESSURE:
        systolic_mean, _min, systolic_max = period.totals["systolic"]
        diastolic_mean, _min, diastolic_max = period.totals["diastolic"]
        return PeriodStats(
            period.count,
            systolic_mean=systolic_mean,
            diastolic_mean=diastolic_mean,
            systolic_max=None if systolic_max is None else int(systolic_max),
            diastolic_max=None if diastolic_max is None else int(diastolic_max),
        )
    mean, minimum, maximum = period.totals["value"]
    return PeriodStats(period.count, mean=mean, minimum=minimum, maximum=maximum)


def _rounded(values: list[float | None], decimals: int) -> list[float | None]:
    """Half up, like the tables: round() on a float gives 77.8 for 77.85 (stored as
    77.8499…), so each value goes through its shortest decimal text first."""
    quantum = Decimal(1).scaleb(-decimals)
    return [
        None if v is None else float(Decimal(repr(v)).quantize(quantum, ROUND_HALF_UP))
        for v in values
    ]


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
                    "value": fixed(limit, kind.decimals),
                    "unit": kind.unit_display,
                }
                lines.append({"series": series, "value": float(limit), "label": label})
    return lines


def chart_and_stats(
    *, patient: Patient, kind: str, since: datetime.datetime | None
) -> tuple[dict[str, object], PeriodStats]:
    """The chart of `kind` since `since` (None: all) and the period's statistics (two queries:
    the points with their totals, the patient's limits).

    `x` holds epoch seconds (a bucket's start when aggregated); each series has `mean` (the
    reading itself when not aggregated) and, when aggregated, `min` and `max` per bucket. A
    point whose values are all None marks a gap in the readings: the line breaks there.
    """
    info = KINDS[kind]
    period = _period(patient, kind, since)
    aggregated = period.size != RAW
    mean_decimals = info.decimals + (1 if aggregated else 0)
    labels, units = _labels(info), _units(info)
    x, columns = _with_breaks(period)
    series = []
    for name, (means, minima, maxima) in columns.items():
        if name == "pulse" and all(v is None for v in means):
            continue  # a blood-pressure monitor without pulse: no empty series
        entry: dict[str, object] = {
            "key": name,
            "label": labels[name],
            "unit": units[name],
            "mean": _rounded(means, mean_decimals),
        }
        if aggregated:  # stored values, as measured: shown at the kind's decimals
            if name == "value":  # blood pressure's are whole numbers already
                minima, maxima = _rounded(minima, info.decimals), _rounded(maxima, info.decimals)
            entry |= {"min": minima, "max": maxima}
        series.append(entry)
    chart = {
        "kind": info.code,
        "label": str(info.label),
        "unit": info.unit_display,
        "decimals": info.decimals,
        "time_zone": timezone.get_current_timezone_name(),
        "count": period.count,
        "aggregated": aggregated,
        "bucket": period.size or None,
        "x": x,
        "series": series,
        "references": _references(info),
        "thresholds": _thresholds(patient, info),
        "time_label": _("Time"),
    }
    return chart, _stats(kind, period)
