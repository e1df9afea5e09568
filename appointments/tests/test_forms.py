"""The appointment form under fuzzed input (SECURITY.md T22, T44): whatever arrives, it answers
with errors or one plausible instant, never an exception."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointments.forms import (
    PLANNED_AT_MOST_DAYS_AGO,
    PLANNED_AT_MOST_DAYS_AHEAD,
    AppointmentForm,
)
from appointments.selectors import appointment_professionals

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis directory in the shared tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CHARS = st.characters(exclude_categories=("Cs",))
DATES = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.strftime("%d-%m-%Y")),
    st.text(CHARS, max_size=20),
)
TIMES = st.one_of(st.times().map(lambda t: t.strftime("%H:%M")), st.text(CHARS, max_size=10))
NUMBERS = st.one_of(st.integers().map(str), st.text(CHARS, max_size=12))


def test_fuzzed_input_gives_errors_or_one_plausible_instant(alice, clinic_a):
    """Arbitrary dates, times, durations and links: form errors, or a UTC instant within the
    planning range, a duration within 5-480 minutes and an https link."""
    professionals = appointment_professionals(clinic=clinic_a)

    @FUZZ
    @given(date=DATES, time=TIMES, duration=NUMBERS, video=st.text(CHARS, max_size=60))
    def check(date: str, time: str, duration: str, video: str) -> None:
        data = {"date": date, "time": time, "duration_minutes": duration, "video_url": video}
        form = AppointmentForm(data, professionals=professionals)
        if not form.is_valid():
            assert form.errors
            return
        starts_at = form.cleaned_data["starts_at"]
        today = timezone.localdate()
        assert starts_at.utcoffset() == datetime.timedelta(0)
        earliest = today - datetime.timedelta(days=PLANNED_AT_MOST_DAYS_AGO + 1)
        latest = today + datetime.timedelta(days=PLANNED_AT_MOST_DAYS_AHEAD + 1)
        assert earliest <= starts_at.date() <= latest
        assert 5 <= form.cleaned_data["duration_minutes"] <= 480
        video_url = form.cleaned_data["video_url"]
        assert video_url == "" or video_url.startswith("https://")

    check()
