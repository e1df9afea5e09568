"""Local Dutch wall-clock time to one UTC instant, across both daylight-saving changes."""

from __future__ import annotations

import datetime

import pytest

from appointments.times import AmbiguousLocalTime, NonexistentLocalTime, aware_from_local

UTC = datetime.UTC
NINE = datetime.time(9, 0)


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        # October 2026: summer time (UTC+2) until Sunday the 25th, winter time (UTC+1) after.
        (datetime.date(2026, 10, 24), datetime.datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        (datetime.date(2026, 10, 26), datetime.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
        # March 2027: winter time until Sunday the 28th, summer time after.
        (datetime.date(2027, 3, 27), datetime.datetime(2027, 3, 27, 8, 0, tzinfo=UTC)),
        (datetime.date(2027, 3, 29), datetime.datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),
    ],
)
def test_nine_oclock_local_is_the_right_utc_instant_on_either_side_of_a_change(day, utc):
    """09:00 in Amsterdam is 07:00 UTC in summer time and 08:00 UTC in winter time."""
    assert aware_from_local(day, NINE) == utc


def test_a_time_the_clocks_skip_in_spring_is_refused():
    """28 March 2027, 02:30 does not exist: the clocks go from 02:00 to 03:00."""
    with pytest.raises(NonexistentLocalTime):
        aware_from_local(datetime.date(2027, 3, 28), datetime.time(2, 30))


def test_a_time_the_clocks_repeat_in_autumn_is_refused():
    """25 October 2026, 02:30 happens twice: no silent choice between the two."""
    with pytest.raises(AmbiguousLocalTime):
        aware_from_local(datetime.date(2026, 10, 25), datetime.time(2, 30))


def test_the_hours_around_a_change_are_accepted():
    """01:59 and 03:00 on the change days are ordinary times."""
    spring, autumn = datetime.date(2027, 3, 28), datetime.date(2026, 10, 25)
    assert aware_from_local(spring, datetime.time(3, 0)) == datetime.datetime(
        2027, 3, 28, 1, 0, tzinfo=UTC
    )
    assert aware_from_local(autumn, datetime.time(1, 59)) == datetime.datetime(
        2026, 10, 24, 23, 59, tzinfo=UTC
    )
