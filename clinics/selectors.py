"""Reads for clinics: team, access log and accounts."""

from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from clinics.models import AccessLogEntry, Clinic, Membership, User


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def access_log_in_period(
    entries: QuerySet[AccessLogEntry],
    *,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[AccessLogEntry]:
    """Entries from the start of `since` to the end of `until` (local days), newest first."""
    if since:
        entries = entries.filter(occurred_at__gte=_day_start(since))
    if until:
        entries = entries.filter(occurred_at__lt=_day_start(until + datetime.timedelta(days=1)))
    return entries.order_by("-occurred_at", "-id")


def access_log_list(
    *,
    clinic: Clinic,
    patient_id: int | None = None,
    user_id: int | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
) -> QuerySet[AccessLogEntry]:
    # Names, not only numbers: the clinic admin reading the log may see its patients' records.
    entries = AccessLogEntry.objects.for_clinic(clinic).select_related("user", "patient")
    if patient_id:
        entries = entries.filter(patient_id=patient_id)
    if user_id:
        entries = entries.filter(user_id=user_id)
    return access_log_in_period(entries, since=since, until=until)


def clinic_staff_users(*, clinic: Clinic) -> QuerySet[User]:
    """Everyone who ever worked in the clinic, for the access log's user filter."""
    return User.objects.filter(
        pk__in=Membership.objects.for_clinic(clinic).values("user_id")
    ).order_by("email")


def user_keeps_name(*, user: User) -> bool:
    """Whether the account itself holds a name (`display_name`, in clear): staff and operators,
    whom the team page and the access log show by name. An account that is only a patient's
    keeps none: the patient's name is on their record, encrypted (SECURITY.md T43; patients
    migration 0011 cleared such names). A former colleague's account keeps theirs, as that
    migration did: the access log still names them."""
    return user.is_staff or Membership.objects.filter(user=user).exists()
