"""The ESH home blood-pressure average (patients.measurements.home_bp) and its panel."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.imports.base import Reading
from patients.kinds import BLOOD_PRESSURE
from patients.measurements.home_bp import NO_READINGS, TOO_FEW_READINGS, esh_home_average
from patients.measurements.services import measurement_from
from patients.models import Measurement, MeasurementSource, Patient

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY_1 = datetime.date(2024, 3, 4)  # a Monday well away from any change of clock
NOW = datetime.datetime(2024, 3, 15, 12, 0, tzinfo=AMSTERDAM)
SESSION_TIMES = ((7, 0), (7, 2), (20, 0), (20, 2))  # duplicate morning and evening readings


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=AMSTERDAM)


def store(patient: Patient, readings: list[tuple[datetime.datetime, int, int]]) -> None:
    """Store blood-pressure readings (measured_at, systolic, diastolic) as manual entries."""
    Measurement.objects.bulk_create(
        measurement_from(
            Reading(line=0, kind=BLOOD_PRESSURE, measured_at=when, systolic=s, diastolic=d),
            patient=patient,
            source=MeasurementSource.MANUAL_PROFESSIONAL,
            actor=None,
        )
        for when, s, d in readings
    )


def week(
    first_day: datetime.date, days: int = 7, *, first: tuple[int, int], rest: tuple[int, int]
) -> list[tuple[datetime.datetime, int, int]]:
    """Duplicate morning and evening readings on `days` days: `first` on day 1, `rest` after."""
    return [
        (at(first_day + datetime.timedelta(days=i), h, m), *(first if i == 0 else rest))
        for i in range(days)
        for h, m in SESSION_TIMES
    ]


def test_home_average_discards_the_first_day_of_measuring(patient_a):
    """Day 1's readings are left out; the mean is that of the 6 following days' 24 readings."""
    store(patient_a, week(DAY_1, first=(180, 110), rest=(128, 79)))
    result = esh_home_average(patient=patient_a, now=NOW)
    assert result.is_valid and result.reason == ""
    assert (result.systolic, result.diastolic) == (128, 79) and not result.is_raised
    assert (result.reading_count, result.days) == (24, 6)
    assert result.discarded_day == DAY_1
    assert (result.window_start, result.window_end) == (DAY_1, DAY_1 + datetime.timedelta(days=6))


def test_home_average_uses_the_latest_measuring_week_only(patient_a):
    """Only the 7 days ending on the latest reading's day count; readings after now do not."""
    earlier = DAY_1 - datetime.timedelta(days=14)
    store(patient_a, week(earlier, first=(200, 120), rest=(200, 120)))
    store(patient_a, week(DAY_1, first=(130, 80), rest=(126, 78)))
    store(patient_a, [(NOW + datetime.timedelta(hours=8), 210, 120)])  # tonight: after `now`
    result = esh_home_average(patient=patient_a, now=NOW)
    assert (result.systolic, result.diastolic, result.reading_count) == (126, 78, 24)
    assert result.window_end == DAY_1 + datetime.timedelta(days=6)


def test_readings_outside_the_morning_and_evening_sessions_are_ignored(patient_a):
    """Night and afternoon readings do not count; 04:00-11:59 and 17:00-23:59 do."""
    store(patient_a, week(DAY_1, first=(120, 80), rest=(120, 80)))
    outside = [(3, 59), (12, 0), (14, 30), (16, 59), (0, 30)]
    inside = [(4, 0), (11, 59), (17, 0), (23, 59)]
    day_3 = DAY_1 + datetime.timedelta(days=2)
    store(patient_a, [(at(day_3, h, m), 220, 130) for h, m in outside])
    store(patient_a, [(at(day_3, h, m), 120, 80) for h, m in inside])
    result = esh_home_average(patient=patient_a, now=NOW)
    assert (result.systolic, result.diastolic) == (120, 80)
    assert result.reading_count == 24 + len(inside)


def test_fewer_than_twelve_readings_give_no_home_average(patient_a):
    """11 readings after the first day: not valid, no mean shown, the reason says why."""
    readings = week(DAY_1, days=4, first=(140, 90), rest=(140, 90))[:-1]  # 4 + 11 readings
    store(patient_a, readings)
    result = esh_home_average(patient=patient_a, now=NOW)
    assert not result.is_valid and result.reason == TOO_FEW_READINGS
    assert result.reading_count == 11 and result.systolic is None and not result.is_raised


def test_twelve_readings_after_the_first_day_are_enough(patient_a):
    """Exactly 12 readings on 3 days after the first day make a valid average."""
    store(patient_a, week(DAY_1, days=4, first=(140, 90), rest=(124, 76)))
    result = esh_home_average(patient=patient_a, now=NOW)
    assert result.is_valid and (result.reading_count, result.days) == (12, 3)
    assert (result.systolic, result.diastolic) == (124, 76)


def test_a_patient_without_home_readings_has_no_home_average(patient_a):
    """No morning or evening blood pressure at all: not valid, and no window."""
    store(patient_a, [(at(DAY_1, 14), 130, 80)])
    result = esh_home_average(patient=patient_a, now=NOW)
    assert not result.is_valid and result.reason == NO_READINGS and result.window_start is None


@pytest.mark.parametrize(
    ("values", "expected", "is_raised"),
    [
        ([(135, 80)], (135, 80), True),
        ([(134, 84)], (134, 84), False),
        ([(120, 85)], (120, 85), True),
        # Means of 134.5/84.5 round half up to 135/85: the flag follows the number shown.
        ([(134, 84), (135, 85)], (135, 85), True),
        ([(134, 84), (134, 84), (134, 84), (135, 85)], (134, 84), False),
    ],
)
def test_home_average_is_raised_from_135_systolic_or_85_diastolic(
    patient_a, values, expected, is_raised
):
    """≥ 135 systolic OR ≥ 85 diastolic is raised; just below both is not."""
    day_2 = DAY_1 + datetime.timedelta(days=1)
    times = [
        at(day_2 + datetime.timedelta(days=i), h, m) for i in range(3) for h, m in SESSION_TIMES
    ]
    kept = [(when, *values[i % len(values)]) for i, when in enumerate(times)]
    store(patient_a, [(at(DAY_1, 7), 150, 95), *kept])
    result = esh_home_average(patient=patient_a, now=NOW)
    assert result.is_valid
    assert ((result.systolic, result.diastolic), result.is_raised) == (expected, is_raised)


@pytest.mark.parametrize(
    "first_day",
    [
        datetime.date(2024, 10, 24),  # the week holds Sunday Oct 27 2024: 25 hours
        datetime.date(2025, 3, 27),  # the week holds Sunday Mar 30 2025: 23 hours
    ],
)
def test_a_week_across_a_change_of_clock_counts_local_days(patient_a, settings, first_day):
    """A week spanning a summer-time change still has 7 local days, 6 after day 1, none more."""
    assert settings.TIME_ZONE == "Europe/Amsterdam"
    last_day = first_day + datetime.timedelta(days=6)
    late = ((6, 30), (6, 32), (23, 30), (23, 32))  # readings near midnight
    day_before = first_day - datetime.timedelta(days=1)
    store(
        patient_a,
        [
            (
                at(first_day + datetime.timedelta(days=i), h, m),
                *((170, 100) if i == 0 else (122, 81)),
            )
            for i in range(7)
            for h, m in late
        ]
        # The evening before the window: 7 days of 24 hours back from the last day reach it.
        + [(at(day_before, 23, 45), 230, 130)],
    )
    now = at(last_day + datetime.timedelta(days=2), 12)
    result = esh_home_average(patient=patient_a, now=now)
    assert (result.window_start, result.window_end) == (first_day, last_day)
    assert result.discarded_day == first_day
    assert (result.days, result.reading_count) == (6, 24)
    assert (result.systolic, result.diastolic) == (122, 81)


def test_home_average_takes_at_most_two_queries(patient_a, django_assert_max_num_queries):
    """However many readings the patient has, the average costs two queries."""
    store(
        patient_a, week(DAY_1 - datetime.timedelta(days=30), days=30, first=(1, 1), rest=(130, 80))
    )
    with django_assert_max_num_queries(2):
        result = esh_home_average(patient=patient_a, now=NOW)
    assert result.is_valid


def recent_week(first: tuple[int, int], rest: tuple[int, int], days: int = 7) -> list:
    """A measuring week that ended yesterday (local), so every reading is in the past."""
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    return week(yesterday - datetime.timedelta(days=days - 1), days, first=first, rest=rest)


def test_measurement_page_shows_the_home_average_panel(client_for, alice, patient_a):
    """Blood pressure selected: the panel says the average and that it is raised, in words."""
    store(patient_a, recent_week(first=(170, 100), rest=(138, 86)))
    client = client_for(alice)
    client.cookies["django_language"] = "en"
    url = reverse("patients:measurements", args=[patient_a.pk])
    page = client.get(url, {"kind": BLOOD_PRESSURE}).content.decode()
    assert "Home blood pressure (ESH protocol, 7 days): 138/86 mmHg — raised" in page
    assert "Mean of 24 morning and evening readings" in page
    weight = client.get(url, {"kind": "weight"}).content.decode()
    assert "ESH protocol, 7 days" not in weight


def test_patient_page_says_when_there_are_not_enough_readings(client_for, paul, patient_a):
    """The patient's own page: too few readings give a plain explanation, no mean."""
    store(patient_a, recent_week(first=(130, 80), rest=(130, 80), days=2))
    client = client_for(paul)
    client.cookies["django_language"] = "en"
    url = reverse("patients:my_measurements", args=[patient_a.pk])
    page = client.get(url, {"kind": BLOOD_PRESSURE}).content.decode()
    assert "not enough readings for a home average" in page
    assert "4 usable readings" in page and "at least 12 are needed" in page
