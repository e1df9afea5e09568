"""The measurement chart: its series, server-side aggregation and its place on the page."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.imports.base import Reading
from patients.measurements.charts import MAX_RAW_POINTS, chart_and_stats
from patients.measurements.selectors import period_start
from patients.measurements.services import measurement_from
from patients.models import Measurement, MeasurementSource
from patients.tests.factories import add_measurement

pytestmark = pytest.mark.django_db


def chart_series(**kwargs):
    """The chart half of chart_and_stats (its statistics are tested further down)."""
    return chart_and_stats(**kwargs)[0]


AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def bulk_readings(patient, times, **fields) -> None:
    """Store one reading per time in a single INSERT (thousands stay fast)."""
    Measurement.objects.bulk_create(
        measurement_from(
            Reading(line=0, measured_at=at, **fields),
            patient=patient,
            source=MeasurementSource.FILE_IMPORT,
            actor=None,
        )
        for at in times
    )


def every(n: int, *, step: datetime.timedelta, end: datetime.datetime | None = None):
    end = end or timezone.now() - datetime.timedelta(minutes=1)
    return [end - i * step for i in range(n)]


def test_chart_series_holds_the_kinds_readings_of_the_period_oldest_first(patient_a):
    """Only the kind's readings inside the period, in time order, with values and unit."""
    add_measurement(patient_a, 40, kind="weight", value=Decimal("83.0"))  # before the period
    old = add_measurement(patient_a, 20, kind="weight", value=Decimal("82.4"))
    new = add_measurement(patient_a, 2, kind="weight", value=Decimal("81.6"))
    add_measurement(patient_a, 3, kind="heart_rate", value=Decimal(70))  # another kind

    chart = chart_series(patient=patient_a, kind="weight", since=period_start("30d"))

    assert chart["x"] == [int(old.measured_at.timestamp()), int(new.measured_at.timestamp())]
    assert [s["key"] for s in chart["series"]] == ["value"]
    assert chart["series"][0]["mean"] == [82.4, 81.6]
    assert "min" not in chart["series"][0]
    assert (chart["unit"], chart["count"], chart["aggregated"], chart["bucket"]) == (
        "kg",
        2,
        False,
        None,
    )


def test_chart_series_leaves_out_other_patients_readings(patient_a, clinic_a):
    """Another patient's readings of the same kind never enter the chart."""
    from patients.tests.factories import PatientFactory

    other = PatientFactory(clinic=clinic_a)
    add_measurement(other, 1, kind="weight", value=Decimal("99.0"))
    add_measurement(patient_a, 1, kind="weight", value=Decimal("70.0"))

    chart = chart_series(patient=patient_a, kind="weight", since=None)

    assert chart["series"][0]["mean"] == [70.0]


def test_blood_pressure_chart_has_systolic_diastolic_pulse_and_the_esh_home_limits(patient_a):
    """Blood pressure is three series, with 135/85 mmHg reference lines and no thresholds yet."""
    add_measurement(patient_a, 2, kind="blood_pressure", systolic=142, diastolic=91, pulse=70)
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=128, diastolic=82, pulse=64)

    chart = chart_series(patient=patient_a, kind="blood_pressure", since=period_start("7d"))

    by_key = {s["key"]: s["mean"] for s in chart["series"]}
    assert by_key == {"systolic": [142, 128], "diastolic": [91, 82], "pulse": [70, 64]}
    assert [(r["series"], r["value"]) for r in chart["references"]] == [
        ("systolic", 135),
        ("diastolic", 85),
    ]
    assert chart["thresholds"] == []


def test_blood_pressure_chart_without_pulse_readings_has_no_pulse_series(patient_a):
    """A monitor that does not report pulse gives no empty pulse line."""
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=128, diastolic=82)

    chart = chart_series(patient=patient_a, kind="blood_pressure", since=None)

    assert [s["key"] for s in chart["series"]] == ["systolic", "diastolic"]


def test_chart_up_to_the_threshold_ships_every_reading(patient_a):
    """At exactly MAX_RAW_POINTS readings nothing is aggregated."""
    bulk_readings(
        patient_a,
        every(MAX_RAW_POINTS, step=datetime.timedelta(hours=1)),
        kind="heart_rate",
        value=Decimal(60),
    )

    chart = chart_series(patient=patient_a, kind="heart_rate", since=None)

    assert chart["aggregated"] is False
    assert len(chart["x"]) == MAX_RAW_POINTS


def test_chart_above_the_threshold_aggregates_per_day_with_mean_min_and_max(patient_a):
    """Past MAX_RAW_POINTS readings, each day becomes one point: mean, lowest and highest."""
    # 30 days of 14 readings every half hour from 06:00 in Amsterdam, alternating 60 and 80.
    day0 = timezone.now().astimezone(AMSTERDAM).replace(hour=6, minute=0, second=0, microsecond=0)
    starts = [day0 - datetime.timedelta(days=d) for d in range(1, 31)]
    slots = [start + datetime.timedelta(minutes=30 * i) for start in starts for i in range(14)]
    bulk_readings(patient_a, slots[0::2], kind="heart_rate", value=Decimal(60))
    bulk_readings(patient_a, slots[1::2], kind="heart_rate", value=Decimal(80))

    chart = chart_series(patient=patient_a, kind="heart_rate", since=period_start("90d"))

    assert (chart["aggregated"], chart["bucket"], chart["count"]) == (True, "day", 420)
    series = chart["series"][0]
    assert len(chart["x"]) == 30
    assert set(series["mean"]) == {70.0} and set(series["min"]) == {60.0}
    assert set(series["max"]) == {80.0}


def test_five_thousand_readings_over_all_time_ship_at_most_a_thousand_points(patient_a):
    """However many readings, the page gets at most ~1000 points (weeks for long spans)."""
    bulk_readings(
        patient_a,
        every(5000, step=datetime.timedelta(hours=20)),  # about 11 years
        kind="blood_pressure",
        systolic=130,
        diastolic=80,
        pulse=60,
    )

    chart = chart_series(patient=patient_a, kind="blood_pressure", since=None)

    assert (chart["aggregated"], chart["bucket"], chart["count"]) == (True, "week", 5000)
    assert 500 < len(chart["x"]) <= 1000
    assert all(len(s["mean"]) == len(chart["x"]) for s in chart["series"])


def test_five_thousand_readings_in_a_year_aggregate_per_day(patient_a):
    """A year of dense readings becomes at most one point per day."""
    bulk_readings(
        patient_a,
        every(5000, step=datetime.timedelta(hours=1)),  # about 208 days
        kind="weight",
        value=Decimal("80.0"),
    )

    chart = chart_series(patient=patient_a, kind="weight", since=period_start("1y"))

    assert (chart["aggregated"], chart["bucket"]) == (True, "day")
    assert len(chart["x"]) <= 210


def test_day_buckets_follow_the_clinics_time_zone(patient_a):
    """A reading at 00:30 in Amsterdam (still the day before in UTC) counts for the local day."""
    local_day = timezone.now().astimezone(AMSTERDAM).date() - datetime.timedelta(days=5)
    midnight = datetime.datetime.combine(local_day, datetime.time(0), tzinfo=AMSTERDAM)
    just_after = midnight + datetime.timedelta(minutes=30)
    bulk_readings(patient_a, [just_after], kind="heart_rate", value=Decimal(90))
    # Filler readings later the same local day push the count past the threshold.
    noon = midnight + datetime.timedelta(hours=12)
    filler = every(MAX_RAW_POINTS, step=datetime.timedelta(minutes=1), end=noon)
    bulk_readings(patient_a, filler, kind="heart_rate", value=Decimal(50))

    chart = chart_series(patient=patient_a, kind="heart_rate", since=None)

    assert chart["aggregated"] is True
    assert chart["x"] == [int(midnight.timestamp())]  # one bucket: the local day
    assert chart["series"][0]["max"] == [90.0]


def test_chart_series_runs_two_queries_however_many_readings(patient_a, django_assert_num_queries):
    """The points (aggregated or not) with their totals, the limits: two queries for few
    readings or many."""
    add_measurement(patient_a, 1, kind="heart_rate", value=Decimal(60))
    with django_assert_num_queries(2):
        chart_series(patient=patient_a, kind="heart_rate", since=None)

    bulk_readings(
        patient_a,
        every(1000, step=datetime.timedelta(hours=3), end=timezone.now() - datetime.timedelta(2)),
        kind="heart_rate",
        value=Decimal(70),
    )
    with django_assert_num_queries(2):
        chart = chart_series(patient=patient_a, kind="heart_rate", since=None)
    assert chart["aggregated"] is True


def test_period_statistics_are_over_the_readings_not_the_daily_means(patient_a):
    """Aggregated per day, the period's mean still weighs every reading once: a day with three
    readings counts three times, a day with one reading once."""
    start = timezone.now() - datetime.timedelta(days=300)
    days = [start + datetime.timedelta(days=d) for d in range(MAX_RAW_POINTS)]
    bulk_readings(patient_a, days, kind="weight", value=Decimal("80.0"))
    extra = [days[-1] + datetime.timedelta(minutes=m) for m in (1, 2)]
    bulk_readings(patient_a, extra, kind="weight", value=Decimal("90.0"))
    chart, stats = chart_and_stats(patient=patient_a, kind="weight", since=None)
    assert chart["aggregated"] is True and chart["count"] == stats.count == MAX_RAW_POINTS + 2
    assert stats.mean == pytest.approx((80.0 * MAX_RAW_POINTS + 180.0) / (MAX_RAW_POINTS + 2))
    assert (stats.minimum, stats.maximum) == (80.0, 90.0)
    assert chart["series"][0]["max"][-1] == 90.0 and chart["series"][0]["min"][-1] == 80.0


def test_blood_pressure_statistics_of_a_period(patient_a):
    """Mean and highest systolic/diastolic of the period's readings only."""
    add_measurement(patient_a, 40, kind="blood_pressure", systolic=190, diastolic=120)
    add_measurement(patient_a, 2, kind="blood_pressure", systolic=140, diastolic=90)
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=121, diastolic=80)
    _chart, stats = chart_and_stats(
        patient=patient_a, kind="blood_pressure", since=period_start("30d")
    )
    assert stats.count == 2
    assert (stats.systolic_mean, stats.diastolic_mean) == (130.5, 85.0)
    assert (stats.systolic_max, stats.diastolic_max) == (140, 90)


def test_a_period_without_readings_has_an_empty_chart_and_zero_count(patient_a):
    """No readings of the kind: no points, count 0, no means."""
    chart, stats = chart_and_stats(patient=patient_a, kind="spo2", since=None)
    assert chart["x"] == [] and chart["count"] == 0 and chart["series"][0]["mean"] == []
    assert stats.count == 0 and stats.mean is None


def test_measurement_page_embeds_the_chart_data_and_module(client_for, alice, patient_a):
    """The page carries the series as JSON on the figure, the chart module and its CSS."""
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=128, diastolic=82, pulse=64)
    url = reverse("patients:measurements", args=[patient_a.pk])

    response = client_for(alice).get(url, {"kind": "blood_pressure", "period": "7d"})

    html = response.content.decode()
    assert response.context["chart"]["series"][0]["mean"] == [128]
    assert 'type="module" src="/static/js/measurement-chart.js"' in html
    assert "/static/vendor/uplot-1.6.32/uPlot.min.css" in html
    data = html.split('data-measurement-chart="')[1].split('"')[0]
    assert json.loads(unescape(data))["kind"] == "blood_pressure"


def test_patient_sees_the_chart_of_their_own_readings(client_for, paul, patient_a):
    """The patient's own measurement page shows the same chart."""
    add_measurement(patient_a, 1, kind="weight", value=Decimal("80.5"))
    url = reverse("patients:my_measurements", args=[patient_a.pk])

    response = client_for(paul).get(url, {"kind": "weight"})

    assert "data-measurement-chart=" in response.content.decode()
    assert response.context["chart"]["series"][0]["mean"] == [80.5]


def test_measurement_page_without_readings_has_no_chart(client_for, alice, patient_a):
    """No readings, no chart element (the page says there are none)."""
    url = reverse("patients:measurements", args=[patient_a.pk])

    response = client_for(alice).get(url)

    assert "data-measurement-chart=" not in response.content.decode()


def test_chart_draws_the_patients_own_limits(patient_a, alice):
    """An upper blood-pressure rule of 150/95 becomes two threshold lines."""
    from patients.measurements.alerts import rule_create
    from patients.models import RuleType

    add_measurement(patient_a, 1, kind="blood_pressure", systolic=130, diastolic=80)
    rule_create(
        clinic=patient_a.clinic, actor=alice, patient=patient_a, kind="blood_pressure",
        rule_type=RuleType.UPPER, limit=Decimal(150), limit_diastolic=Decimal(95),
    )  # fmt: skip
    chart = chart_series(patient=patient_a, kind="blood_pressure", since=None)
    assert [(t["series"], t["value"]) for t in chart["thresholds"]] == [
        ("systolic", 150.0),
        ("diastolic", 95.0),
    ]


def test_limit_labels_are_written_in_the_users_language(patient_a, alice):
    """A weight limit of 77.85 kg reads "77,9" in Dutch and "77.9" in English (half up)."""
    from django.utils import translation

    from patients.measurements.alerts import rule_create
    from patients.models import RuleType

    add_measurement(patient_a, 1, kind="weight", value=Decimal("76.0"))
    rule_create(
        clinic=patient_a.clinic, actor=alice, patient=patient_a, kind="weight",
        rule_type=RuleType.UPPER, limit=Decimal("77.85"),
    )  # fmt: skip
    labels = {}
    for language in ("nl", "en"):
        with translation.override(language):
            chart = chart_series(patient=patient_a, kind="weight", since=None)
        labels[language] = chart["thresholds"][0]["label"]
    assert "77,9 kg" in labels["nl"] and "77.9 kg" in labels["en"]


def test_a_long_gap_in_the_readings_breaks_the_line(patient_a):
    """Twice-daily readings, then 16 months without any: one point without values between."""
    recent = every(20, step=datetime.timedelta(hours=12))
    before_the_gap = recent[-1] - datetime.timedelta(days=480)
    old = every(20, step=datetime.timedelta(hours=12), end=before_the_gap)
    bulk_readings(patient_a, recent + old, kind="weight", value=Decimal("80.0"))

    chart = chart_series(patient=patient_a, kind="weight", since=None)

    means = chart["series"][0]["mean"]
    assert len(chart["x"]) == len(means) == 41 and chart["count"] == 40
    assert means[20] is None and None not in means[:20] + means[21:]
    assert chart["x"][19] < chart["x"][20] < chart["x"][21]  # in the gap, time order kept


def test_readings_in_pairs_with_a_skipped_day_draw_one_line(patient_a):
    """Two readings a minute apart each morning (a median spacing of a minute) and one morning
    missed: gaps shorter than MIN_GAP never break the line."""
    mornings = every(30, step=datetime.timedelta(days=1))
    del mornings[10]
    pairs = mornings + [at - datetime.timedelta(minutes=1) for at in mornings]
    bulk_readings(patient_a, pairs, kind="weight", value=Decimal("80.0"))

    chart = chart_series(patient=patient_a, kind="weight", since=None)

    assert None not in chart["series"][0]["mean"] and len(chart["x"]) == 58


def test_a_gap_breaks_the_aggregated_line_and_its_band(patient_a):
    """Per-day buckets with a month without readings: mean, lowest and highest all break."""
    recent = every(MAX_RAW_POINTS, step=datetime.timedelta(hours=2))
    old = every(100, step=datetime.timedelta(hours=2), end=recent[-1] - datetime.timedelta(30))
    bulk_readings(patient_a, recent + old, kind="blood_pressure", systolic=130, diastolic=80)

    chart = chart_series(patient=patient_a, kind="blood_pressure", since=None)

    assert chart["aggregated"] is True
    systolic = chart["series"][0]
    gaps = [i for i, v in enumerate(systolic["mean"]) if v is None]
    assert len(gaps) == 1
    assert systolic["min"][gaps[0]] is None and systolic["max"][gaps[0]] is None
    assert all(len(s["mean"]) == len(s["min"]) == len(chart["x"]) for s in chart["series"])
