"""Small date helpers every layer may use."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext, ngettext


def age_on(date_of_birth: datetime.date, day: datetime.date) -> int:
    """Completed years on `day` (someone born on 29 February ages on 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def calendar_days_since(moment: datetime.datetime, *, today: datetime.date | None = None) -> int:
    """Calendar days from `moment` to today in the portal's time zone (the clinics'): a reading
    at 22:00 yesterday is 1 ("yesterday") at 08:00, though fewer than 24 hours ago."""
    return ((today or timezone.localdate()) - timezone.localdate(moment)).days


def days_ago(days: int) -> str:
    """Calendar days as a clinician says them: today, yesterday, 3 days ago."""
    if days <= 0:
        return gettext("today")
    if days == 1:
        return gettext("yesterday")
    return ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": days}
