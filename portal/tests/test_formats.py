"""Dates in the user's language: Dutch dd-mm-yyyy, English as in the UK (dd/mm/yyyy), and a
24-hour clock in both, wherever a page, table or label formats a date."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.utils import formats, translation

EVENING = datetime.datetime(2026, 3, 1, 21, 8, tzinfo=ZoneInfo("Europe/Amsterdam"))


@pytest.mark.parametrize(
    ("language", "short_date", "short_datetime", "time"),
    [
        ("nl", "01-03-2026", "01-03-2026 21:08", "21:08"),
        ("en", "01/03/2026", "01/03/2026 21:08", "21:08"),
    ],
)
def test_short_dates_have_two_digit_days_and_months_and_a_24_hour_clock(
    language, short_date, short_datetime, time
):
    """Single-digit days and months keep their zero; no a.m./p.m. in English."""
    with translation.override(language):
        assert formats.date_format(EVENING.date(), "SHORT_DATE_FORMAT") == short_date
        assert formats.date_format(EVENING, "SHORT_DATETIME_FORMAT") == short_datetime
        assert formats.time_format(EVENING.time(), "TIME_FORMAT") == time


def test_english_long_dates_are_british():
    """Day before month in words too: 1 March 2026, 21:08."""
    with translation.override("en"):
        assert formats.date_format(EVENING.date(), "DATE_FORMAT") == "1 March 2026"
        assert formats.date_format(EVENING, "DATETIME_FORMAT") == "1 March 2026, 21:08"
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 1  # Monday


def test_english_date_fields_read_day_before_month():
    """A date typed as 01/03/2026 in English is the first of March, not 3 January."""
    with translation.override("en"):
        field = forms.DateField(localize=True)
        assert field.clean("01/03/2026") == datetime.date(2026, 3, 1)
        assert field.clean("2026-03-01") == datetime.date(2026, 3, 1)
