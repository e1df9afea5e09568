"""Small date helpers every layer may use."""

import datetime


def age_on(date_of_birth: datetime.date, day: datetime.date) -> int:
    """Completed years on `day` (someone born on 29 February ages on 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday
