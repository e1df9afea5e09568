"""The retention purges of clinics' data and of the sessions (clinics.retention runs them; the
periods are the personal-data declarations in clinics.personal_data)."""

import datetime

from django.contrib.sessions.models import Session
from django.db import connection, models

from clinics import retention
from clinics.models import AccessLogEntry, StaffInvitation
from portal.personal_data import declaration_for


def sessions_expired(cutoff: datetime.datetime) -> models.QuerySet:
    return Session.objects.filter(expire_date__lt=cutoff)


def staff_invitations_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Used, revoked or never used: an invitation goes a while after its expiry either way."""
    return StaffInvitation.objects.filter(expires_at__lt=cutoff)


def access_log_expired(cutoff: datetime.datetime) -> models.QuerySet:
    return AccessLogEntry.objects.filter(occurred_at__lt=cutoff)


def access_log_delete(pks: list[int]) -> int:
    """Plain SQL: the model and its queryset refuse deletes; the trigger allows this one only
    because the retention service set its flag in this transaction, and only for old rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AccessLogEntry._meta.db_table} WHERE id = ANY(%s)",  # noqa: S608
            [pks],
        )
        return cursor.rowcount


def register_all() -> None:
    retention.register(
        name="sessions",
        declaration=declaration_for(Session),
        expired=sessions_expired,
    )
    retention.register(
        name="staff-invitations",
        declaration=declaration_for(StaffInvitation),
        expired=staff_invitations_expired,
    )
    retention.register(
        name="access-log",
        declaration=declaration_for(AccessLogEntry),
        expired=access_log_expired,
        action=access_log_delete,
        append_only=True,
    )
