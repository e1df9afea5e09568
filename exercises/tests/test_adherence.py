"""Adherence arithmetic (exercises/adherence.py): frequency per day, per week and on weekdays,
missed days, the program's end, a week still running, a change of version mid-week."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exercises import services
from exercises.adherence import program_adherence
from exercises.models import (
    Exercise,
    ExerciseLog,
    ProgramVersion,
    SessionLog,
    version_followed,
    versions_followed,
)
from exercises.selectors import version_items
from exercises.services import ItemIn, ProgramIn

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("Europe/Amsterdam")
D = datetime.date


def _program(patient, user, start, end, **params):
    exercise = Exercise.objects.base().order_by("key").first()
    base = {**exercise.defaults(), "load": ""}
    return services.program_create(
        patient,
        user,
        ProgramIn(
            title="P",
            goal="",
            start_date=start,
            end_date=end,
            items=[ItemIn(exercise=exercise, params={**base, **params})],
        ),
    )


def _log(program, day, times, item=None):
    item = item or version_items(program.current_version)[0]
    ExerciseLog.objects.create(
        clinic_id=program.clinic_id, program=program, item=item, day=day, times=times
    )


def _weeks(program, today):
    return [
        (w.week_start, w.prescribed, w.done)
        for w in program_adherence(program, today=today, zone=ZONE)
    ]


def test_weekdays_twice_a_day_with_missed_days_and_the_end_of_the_program(alice, patient_a):
    # Monday 2 November to Sunday 15 November 2026, Mon/Wed/Fri, twice a day.
    program = _program(
        patient_a, alice, D(2026, 11, 2), D(2026, 11, 15),
        times_per_day=2, weekdays=[1, 3, 5], days_per_week=None,
    )  # fmt: skip
    _log(program, D(2026, 11, 2), 2)  # Monday: both
    _log(program, D(2026, 11, 4), 1)  # Wednesday: once
    _log(program, D(2026, 11, 5), 2)  # Thursday: not a day it was due, does not count
    assert _weeks(program, today=D(2026, 11, 20)) == [
        (D(2026, 11, 2), 6, 3),
        (D(2026, 11, 9), 6, 0),  # a week missed entirely
    ]  # and nothing after the end date


def test_days_per_week_in_a_first_week_that_starts_on_a_thursday(alice, patient_a):
    program = _program(patient_a, alice, D(2026, 11, 5), None, times_per_day=1, days_per_week=3)
    for day in (5, 6, 7, 8):  # Thursday to Sunday: four days done, three asked
        _log(program, D(2026, 11, day), 1)
    _log(program, D(2026, 11, 9), 1)  # the next Monday
    assert _weeks(program, today=D(2026, 11, 15)) == [
        (D(2026, 11, 2), 3, 3),  # an extra day does not push it above what was asked
        (D(2026, 11, 9), 3, 1),
    ]


def test_a_first_week_shorter_than_the_days_asked(alice, patient_a):
    program = _program(patient_a, alice, D(2026, 11, 7), None, times_per_day=2, days_per_week=5)
    _log(program, D(2026, 11, 8), 2)
    (week,) = program_adherence(program, today=D(2026, 11, 8), zone=ZONE)
    assert (week.prescribed, week.done, week.percent) == (4, 2, 50)  # Saturday and Sunday only


def test_the_running_week_counts_only_the_days_so_far(alice, patient_a):
    program = _program(patient_a, alice, D(2026, 11, 2), None, times_per_day=1, weekdays=[1, 5],
                       days_per_week=None)  # fmt: skip
    _log(program, D(2026, 11, 9), 1)
    weeks = program_adherence(program, today=D(2026, 11, 11), zone=ZONE)  # a Wednesday
    assert [(w.prescribed, w.done, w.complete) for w in weeks] == [(2, 0, True), (1, 1, False)]


def test_a_new_version_mid_week_changes_what_is_due_from_then_on(alice, patient_a):
    program = _program(
        patient_a, alice, D(2026, 11, 2), None, times_per_day=1, weekdays=[1, 2, 3, 4, 5],
        days_per_week=None,
    )  # fmt: skip
    ProgramVersion.objects.filter(pk=program.current_version_id).update(
        created_at=datetime.datetime(2026, 11, 1, 9, tzinfo=ZONE)
    )
    first_item = version_items(program.current_version)[0]
    version_2 = services.program_revise(
        program,
        alice,
        ProgramIn(
            title="P",
            goal="",
            start_date=D(2026, 11, 2),
            end_date=None,
            items=[
                ItemIn(
                    exercise=first_item.exercise,
                    params={
                        **first_item.exercise.defaults(),
                        "load": "",
                        "times_per_day": 2,
                        "weekdays": [1, 2, 3, 4, 5],
                        "days_per_week": None,
                    },
                    slot=first_item.slot,
                )
            ],
        ),
    )
    ProgramVersion.objects.filter(pk=version_2.pk).update(
        created_at=datetime.datetime(2026, 11, 4, 8, tzinfo=ZONE)  # Wednesday morning
    )
    _log(program, D(2026, 11, 2), 1, first_item)
    _log(program, D(2026, 11, 4), 2, version_items(version_2)[0])
    # Monday and Tuesday once a day (version 1), Wednesday to Friday twice (version 2).
    assert _weeks(program, today=D(2026, 11, 8)) == [(D(2026, 11, 2), 2 + 6, 1 + 2)]


def test_pain_and_effort_means_per_week(alice, patient_a):
    program = _program(patient_a, alice, D(2026, 11, 2), None)
    for day, pain, effort in ((2, 3, 5), (3, 5, None), (10, 8, 7)):
        SessionLog.objects.create(
            clinic_id=program.clinic_id, program=program, day=D(2026, 11, day), pain=pain,
            effort=effort,
        )  # fmt: skip
    weeks = program_adherence(program, today=D(2026, 11, 15), zone=ZONE)
    assert [(w.pain_mean, w.effort_mean) for w in weeks] == [(4.0, 5.0), (8.0, 7.0)]


def test_no_weeks_before_the_program_starts(alice, patient_a):
    program = _program(patient_a, alice, D(2026, 12, 7), None)
    assert program_adherence(program, today=D(2026, 12, 1), zone=ZONE) == []


@settings(max_examples=200, deadline=None)
@given(
    made=st.lists(
        st.datetimes(
            min_value=datetime.datetime(2026, 3, 20),
            max_value=datetime.datetime(2026, 11, 10),
            timezones=st.just(datetime.UTC),
        ),
        min_size=1,
        max_size=5,
    ),
    spans=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 60)), min_size=5, max_size=5),
)
def test_the_versions_followed_over_a_span_are_each_days_rule(made, spans):
    """`versions_followed` (one pass over a year, for the adherence) gives each day what the
    rule itself says: the newest version made by the end of that local day, or the first before
    any; only on days it ran. Versions made in any order, across both clock changes."""
    first = D(2026, 3, 1)
    versions = [
        ProgramVersion(
            number=n + 1,
            created_at=created,
            start_date=first + datetime.timedelta(days=start),
            end_date=first + datetime.timedelta(days=start + length),
        )
        for n, (created, (start, length)) in enumerate(zip(made, spans, strict=False))
    ]

    def rule(day):
        end_of_day = datetime.datetime.combine(
            day + datetime.timedelta(days=1), datetime.time(), ZONE
        )
        made_by_then = [v for v in versions if v.created_at < end_of_day]
        version = made_by_then[-1] if made_by_then else versions[0]
        return version if version.runs_on(day) else None

    last = D(2026, 11, 30)
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    expected = {day: v for day in days if (v := rule(day)) is not None}
    assert versions_followed(versions, first, last, ZONE) == expected
    assert all(version_followed(versions, day, ZONE) is expected.get(day) for day in days[::7])
