"""The retention service (T35): batches, idempotence, dry runs, the lock, interruptions, the
record of runs, the command, and the purges of sessions and invitations at their cutoffs."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from clinics import retention
from clinics.models import PurgeOutcome, PurgeRun, Role, StaffInvitation
from clinics.services import invitation_new_token
from patients.models import PatientInvitation
from patients.tests.factories import PatientFactory
from portal.personal_data import declaration_for

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


def sessions_made(count: int, *, expired_at: datetime.datetime, prefix: str = "old") -> None:
    Session.objects.bulk_create(
        Session(session_key=f"{prefix}{i:030d}", session_data="e30", expire_date=expired_at)
        for i in range(count)
    )


def sessions_purge() -> retention.Purge:
    return next(purge for purge in retention.purges() if purge.name == "sessions")


def staff_invitation(clinic, actor, expires_at: datetime.datetime) -> StaffInvitation:
    return StaffInvitation.objects.create(
        clinic=clinic,
        created_by=actor,
        email="new@example.org",
        role=Role.PROFESSIONAL,
        token_digest=invitation_new_token()[1],
        expires_at=expires_at,
    )


def patient_invitation(clinic, actor, expires_at: datetime.datetime) -> PatientInvitation:
    return PatientInvitation.objects.create(
        clinic=clinic,
        created_by=actor,
        patient=PatientFactory(clinic=clinic),
        email="p@example.org",
        token_digest=invitation_new_token()[1],
        expires_at=expires_at,
    )


def test_every_purge_takes_its_period_from_its_personal_data_declaration():
    """One number in one place: a purge's cutoff is now minus its declaration's retention."""
    periods = {purge.name: purge.cutoff(NOW) for purge in retention.purges()}
    assert periods == {
        "access-log": NOW - declaration_for("clinics.AccessLogEntry").retention,
        "calendar-feeds-unlinked": NOW,  # a feed goes as soon as its record has no account
        "chat-conversations": NOW - datetime.timedelta(days=31),
        "chat-messages": NOW - datetime.timedelta(days=31),
        "chat-notifications": NOW - datetime.timedelta(days=31),
        "chat-retired-keys": NOW - datetime.timedelta(days=730),
        "clinic-messages": NOW - datetime.timedelta(days=730),
        "clinic-threads": NOW - datetime.timedelta(days=730),
        "imports-abandoned": NOW - datetime.timedelta(hours=48),
        "patient-invitations": NOW - datetime.timedelta(days=30),
        "sessions": NOW,
        "staff-invitations": NOW - datetime.timedelta(days=30),
    }
    for purge in retention.purges():
        assert purge.declaration is declaration_for(purge.declaration.model)


def test_registering_the_same_purge_again_is_harmless_and_another_under_its_name_refused():
    """An app's ready() may run again (isolated app registries in tests): the same purge is
    accepted as it is, a different one under a taken name is refused."""
    known = sessions_purge()
    again = retention.register(
        name=known.name, declaration=known.declaration, expired=known.expired
    )
    assert again == known and len(retention.purges()) == len(set(retention.purge_names()))
    with pytest.raises(ValueError, match="already registered"):
        retention.register(
            name=known.name, declaration=known.declaration, expired=lambda cutoff: None
        )
    assert sessions_purge() == known


@pytest.mark.django_db
def test_a_purge_deletes_in_batches_of_a_thousand_and_keeps_younger_rows():
    """2,500 expired sessions go in 3 batches; a session that has not expired stays."""
    sessions_made(2_500, expired_at=timezone.now() - datetime.timedelta(minutes=1))
    sessions_made(1, expired_at=timezone.now() + datetime.timedelta(minutes=30), prefix="new")

    run = retention.purge_run(sessions_purge())

    assert (run.outcome, run.rows_expired, run.rows_purged, run.batches) == (
        PurgeOutcome.DONE,
        2_500,
        2_500,
        3,
    )
    assert list(Session.objects.values_list("session_key", flat=True)) == [f"new{0:030d}"]


@pytest.mark.django_db
def test_a_second_run_purges_nothing():
    """Idempotent: what the first run purged is gone, the rerun finds nothing due."""
    sessions_made(3, expired_at=timezone.now() - datetime.timedelta(minutes=1))
    assert retention.purge_run(sessions_purge()).rows_purged == 3
    rerun = retention.purge_run(sessions_purge())
    assert (rerun.outcome, rerun.rows_purged, rerun.batches) == (PurgeOutcome.DONE, 0, 0)


@pytest.mark.django_db
def test_a_dry_run_counts_what_is_due_and_deletes_nothing():
    """The dry run reports the count and the cutoff; every row is still there."""
    sessions_made(5, expired_at=NOW - datetime.timedelta(hours=1))
    run = retention.purge_run(sessions_purge(), now=NOW, dry_run=True)
    assert run.is_dry_run and run.rows_expired == 5 and run.rows_purged == 0
    assert run.cutoff_at == NOW
    assert Session.objects.count() == 5


@pytest.mark.django_db
def test_a_run_skips_while_another_holds_the_purge_lock():
    """A concurrent run (another connection holding the advisory lock) makes this one skip."""
    sessions_made(4, expired_at=timezone.now() - datetime.timedelta(minutes=1))
    other = connection.copy()
    key = retention.lock_key("sessions")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        run = retention.purge_run(sessions_purge())
        assert (run.outcome, run.rows_purged) == (PurgeOutcome.SKIPPED, 0)
        assert Session.objects.count() == 4
        with other.cursor() as cursor:  # the other run ends (a closed session ends later)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        other.close()
    assert retention.purge_run(sessions_purge()).rows_purged == 4


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_purge_leaves_the_first_batch_done_and_nothing_half_done():
    """A failure in the second batch: the first 1,000 rows are gone, the second batch's are all
    still there, the run is recorded as failed with the first batch's counts; a rerun finishes."""
    sessions_made(2_500, expired_at=timezone.now() - datetime.timedelta(minutes=1))
    original = sessions_purge()
    calls = []

    def delete_then_fail(pks: list) -> int:
        calls.append(len(pks))
        deleted = original.action(pks)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return deleted

    broken = retention.Purge(
        name="sessions",
        declaration=original.declaration,
        expired=original.expired,
        action=delete_then_fail,
    )

    with pytest.raises(retention.PurgeFailed) as failure:
        retention.purge_run(broken)

    assert Session.objects.count() == 1_500
    stored = PurgeRun.objects.get(pk=failure.value.run.pk)
    assert (stored.outcome, stored.rows_purged, stored.batches) == (PurgeOutcome.FAILED, 1_000, 1)
    rerun = retention.purge_run(original)
    assert (rerun.rows_purged, rerun.batches) == (1_500, 2)
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_a_failing_purge_does_not_stop_the_others(monkeypatch):
    """purges_run records the failure and still runs the next purge."""
    sessions_made(2, expired_at=timezone.now() - datetime.timedelta(minutes=1))

    def fail(cutoff: datetime.datetime):
        raise RuntimeError("broken")

    broken = retention.Purge(
        name="a-broken-one",
        declaration=sessions_purge().declaration,
        expired=fail,
        action=sessions_purge().action,
    )
    monkeypatch.setitem(retention._purges, "a-broken-one", broken)

    runs = retention.purges_run(only=["a-broken-one", "sessions"])
    assert [(run.name, run.outcome) for run in runs] == [
        ("a-broken-one", PurgeOutcome.FAILED),
        ("sessions", PurgeOutcome.DONE),
    ]
    assert not Session.objects.exists()


@pytest.mark.django_db
def test_a_purge_run_records_counts_only(clinic_a, adam):
    """PurgeRun holds the name, times, cutoff and counts: never a purged row's content or id."""
    invitation = staff_invitation(clinic_a, adam, NOW - datetime.timedelta(days=31))
    run = retention.purge_run(
        next(p for p in retention.purges() if p.name == "staff-invitations"), now=NOW
    )
    assert run.rows_purged == 1 and not StaffInvitation.objects.exists()
    fields = {field.name for field in PurgeRun._meta.get_fields()}
    assert fields == {
        "id",
        "name",
        "is_dry_run",
        "started_at",
        "finished_at",
        "cutoff_at",
        "rows_expired",
        "rows_purged",
        "batches",
        "outcome",
    }
    stored = PurgeRun.objects.values().get(pk=run.pk)
    assert "new@example.org" not in str(stored) and invitation.token_digest not in str(stored)


@pytest.mark.django_db
def test_the_command_lists_what_a_dry_run_would_purge(clinic_a, adam):
    """`purge --dry-run` prints each purge's count and cutoff and deletes nothing."""
    staff_invitation(clinic_a, adam, NOW - datetime.timedelta(days=40))
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert "staff-invitations: would purge 1 rows (older than 2026-05-02 12:00:00 UTC)" in lines
    assert "sessions: would purge 0 rows (older than 2026-06-01 12:00:00 UTC)" in lines
    assert len(lines) == len(retention.purges())
    assert StaffInvitation.objects.count() == 1


@pytest.mark.django_db
def test_the_command_purges_only_the_named_purges(clinic_a, adam):
    """`purge --only NAME` runs that purge alone and says what it did."""
    staff_invitation(clinic_a, adam, timezone.now() - datetime.timedelta(days=40))
    sessions_made(1, expired_at=timezone.now() - datetime.timedelta(minutes=1))
    out = io.StringIO()
    call_command("purge", "--only", "staff-invitations", stdout=out)
    assert out.getvalue().startswith("staff-invitations: purged 1 rows in 1 batches (older than")
    assert len(out.getvalue().splitlines()) == 1
    assert not StaffInvitation.objects.exists() and Session.objects.count() == 1


@pytest.mark.django_db
def test_invitations_go_just_after_thirty_days_past_their_expiry(clinic_a, adam):
    """Time travel to the cutoff: a minute short of 30 days kept, a minute past purged."""
    expired_at = NOW - datetime.timedelta(days=5)
    staff = staff_invitation(clinic_a, adam, expired_at)
    patient = patient_invitation(clinic_a, adam, expired_at)
    thirty_days_later = expired_at + datetime.timedelta(days=30)

    with time_machine.travel(thirty_days_later - datetime.timedelta(minutes=1), tick=False):
        retention.purges_run(only=["staff-invitations", "patient-invitations"])
    assert StaffInvitation.objects.filter(pk=staff.pk).exists()
    assert PatientInvitation.objects.filter(pk=patient.pk).exists()

    with time_machine.travel(thirty_days_later + datetime.timedelta(minutes=1), tick=False):
        runs = retention.purges_run(only=["staff-invitations", "patient-invitations"])
    assert [run.rows_purged for run in runs] == [1, 1]
    assert not StaffInvitation.objects.exists() and not PatientInvitation.objects.exists()


@pytest.mark.django_db
def test_the_cutoff_counts_elapsed_time_across_a_dst_change(clinic_a, adam):
    """Expired the day before the spring change (Amsterdam): 30 × 24 hours later, not 30
    calendar days of local time, the invitation goes."""
    amsterdam = zoneinfo.ZoneInfo("Europe/Amsterdam")
    expired_at = datetime.datetime(2026, 3, 28, 12, 0, tzinfo=amsterdam)
    invitation = staff_invitation(clinic_a, adam, expired_at)
    due = expired_at.astimezone(datetime.UTC) + datetime.timedelta(hours=30 * 24)
    purge = next(p for p in retention.purges() if p.name == "staff-invitations")
    assert retention.purge_run(purge, now=due - datetime.timedelta(seconds=1)).rows_purged == 0
    assert StaffInvitation.objects.filter(pk=invitation.pk).exists()
    assert retention.purge_run(purge, now=due + datetime.timedelta(seconds=1)).rows_purged == 1
