"""The retention purge of calendar feeds (clinics.retention runs it; the period is the
declaration in appointments.personal_data). Appointments themselves have none: they belong to
the medical record and go with it.

A feed whose record is no longer linked to an account (the patient cancelled it, or the clinic
unlinked it) already opens nothing (`selectors.calendar_feed_by_token`); this purge removes the
row too, so no digest of a secret outlives its owner's account.
"""

from __future__ import annotations

import datetime

from django.db import models

from appointments.models import CalendarFeed
from clinics import retention
from portal.personal_data import declaration_for

FEEDS = "calendar-feeds-unlinked"


def feeds_of_unlinked_records(cutoff: datetime.datetime) -> models.QuerySet:
    return CalendarFeed.objects.filter(patient__user__isnull=True, created_at__lt=cutoff)


def register_all() -> None:
    retention.register(
        name=FEEDS,
        declaration=declaration_for(CalendarFeed),
        expired=feeds_of_unlinked_records,
    )
