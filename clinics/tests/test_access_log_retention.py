"""The access log's own retention (NEN 7513: at least 5 years): only the retention purge deletes
entries, only old ones, and nothing ever updates one."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinics import retention
from clinics.models import AccessAction, AccessLogEntry
from portal.personal_data import declaration_for

pytestmark = pytest.mark.django_db


def entry_at(clinic, occurred_at: datetime.datetime) -> AccessLogEntry:
    return AccessLogEntry.objects.create(
        clinic=clinic,
        occurred_at=occurred_at,
        user_label="alice@noord.example",
        role="professional",
        action=AccessAction.READ,
        object_type="patients.patient",
    )


def years_ago(years: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=365.25 * years)


def access_log_purge() -> retention.Purge:
    return next(purge for purge in retention.purges() if purge.name == "access-log")


def with_retention_flag(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('portal.retention_purge', 'on', true)")
        cursor.execute(sql, params)


def test_the_declared_retention_is_at_least_five_years():
    """The registry's period never undercuts NEN 7513's minimum (and the trigger's floor)."""
    retention_period = declaration_for(AccessLogEntry).retention
    assert retention_period >= datetime.timedelta(days=5 * 365 + 2)  # two leap days at most


def test_the_purge_deletes_entries_older_than_the_retention_and_keeps_younger_ones(clinic_a):
    """Six- and ten-year-old entries go; a four-year-old one and today's stay."""
    old = [entry_at(clinic_a, years_ago(6)), entry_at(clinic_a, years_ago(10))]
    kept = [entry_at(clinic_a, years_ago(4)), entry_at(clinic_a, timezone.now())]

    run = retention.purge_run(access_log_purge())

    assert (run.rows_expired, run.rows_purged) == (len(old), len(old))
    assert set(AccessLogEntry.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    assert retention.purge_run(access_log_purge()).rows_purged == 0


def test_the_purge_keeps_an_entry_a_day_short_of_its_retention(clinic_a):
    """At the boundary: a day younger than the declared period is kept, a day older goes."""
    period = declaration_for(AccessLogEntry).retention
    now = timezone.now()
    younger = entry_at(clinic_a, now - period + datetime.timedelta(days=1))
    older = entry_at(clinic_a, now - period - datetime.timedelta(days=1))
    assert retention.purge_run(access_log_purge(), now=now).rows_purged == 1
    assert list(AccessLogEntry.objects.values_list("pk", flat=True)) == [younger.pk]
    assert older.pk != younger.pk


def test_the_application_still_cannot_delete_an_old_entry(clinic_a):
    """Model and queryset refuse, however old the entry."""
    entry = entry_at(clinic_a, years_ago(8))
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_the_database_refuses_deleting_an_old_entry_without_the_retention_flag(clinic_a):
    """Plain SQL outside the purge: the trigger refuses even an eight-year-old entry."""
    entry = entry_at(clinic_a, years_ago(8))
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM clinics_accesslogentry WHERE id = %s", [entry.pk])
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_the_database_refuses_deleting_a_younger_entry_even_with_the_flag(clinic_a):
    """The flag alone is not enough: under 5 years by the database's clock, no delete."""
    entry = entry_at(clinic_a, years_ago(4.9))
    with pytest.raises(DatabaseError, match="append-only"):
        with_retention_flag("DELETE FROM clinics_accesslogentry WHERE id = %s", [entry.pk])
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_the_database_refuses_updating_an_entry_even_with_the_flag(clinic_a):
    """UPDATE is always refused, old entry and retention flag included."""
    entry = entry_at(clinic_a, years_ago(8))
    with pytest.raises(DatabaseError, match="append-only"):
        with_retention_flag(
            "UPDATE clinics_accesslogentry SET part = 'x' WHERE id = %s", [entry.pk]
        )
    assert AccessLogEntry.objects.get(pk=entry.pk).part == ""


@pytest.mark.django_db(transaction=True)
def test_the_retention_flag_ends_with_the_purges_batch(clinic_a):
    """SET LOCAL: after the batch's transaction the connection no longer carries the flag."""
    entry_at(clinic_a, years_ago(8))
    retention.purge_run(access_log_purge())
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('portal.retention_purge', true)")
        assert cursor.fetchone()[0] in (None, "")
