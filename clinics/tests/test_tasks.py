"""The retention task runs through a real Celery worker on Redis (T35 for invitations)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from clinics.models import Role, StaffInvitation
from clinics.services import invitation_new_token
from clinics.tasks import retention_purge
from conftest import run_through_worker
from patients.models import PatientInvitation
from patients.tests.factories import PatientFactory
from portal.celery import app as celery_app


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


@pytest.fixture
def invitations(clinic_a, clinic_b, adam, bea) -> dict[str, list]:
    """Staff and patient invitations of both clinics, on both sides of the 30-day line."""
    made: dict[str, list] = {"stale": [], "kept": []}
    ages = {"stale": [30.01, 45, 400], "kept": [29.99, 3, -7]}  # negative: still valid
    for clinic, actor in ((clinic_a, adam), (clinic_b, bea)):
        patient = PatientFactory(clinic=clinic)
        for group, day_list in ages.items():
            for age in day_list:
                common = {
                    "clinic": clinic,
                    "created_by": actor,
                    "token_digest": invitation_new_token()[1],
                    "expires_at": days_ago(age),
                }
                made[group].append(
                    StaffInvitation.objects.create(
                        email=f"new{age}@example.org", role=Role.PROFESSIONAL, **common
                    )
                )
                common["token_digest"] = invitation_new_token()[1]
                made[group].append(
                    PatientInvitation.objects.create(
                        patient=patient, email="p@example.org", accepted_at=days_ago(age), **common
                    )
                )
    return made


def remaining() -> set[tuple[str, int]]:
    staff = {("staff", pk) for pk in StaffInvitation.objects.values_list("pk", flat=True)}
    patients = {("patient", pk) for pk in PatientInvitation.objects.values_list("pk", flat=True)}
    return staff | patients


def keys(objs: list) -> set[tuple[str, int]]:
    return {("staff" if isinstance(o, StaffInvitation) else "patient", o.pk) for o in objs}


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_retention_task_deletes_only_long_expired_invitations_and_is_idempotent(
    celery_worker, invitations
):
    """Through a real worker: invitations expired over 30 days go, younger ones stay; run twice."""
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert remaining() == keys(invitations["stale"]) | keys(invitations["kept"])

    purged = run_through_worker(celery_worker, retention_purge)
    assert purged["staff-invitations"] + purged["patient-invitations"] == 12
    assert len(invitations["stale"]) == 12
    assert remaining() == keys(invitations["kept"])

    purged = run_through_worker(celery_worker, retention_purge)
    assert purged["staff-invitations"] == purged["patient-invitations"] == 0
    assert remaining() == keys(invitations["kept"])


def test_one_hourly_beat_entry_runs_every_purge_and_is_acknowledged_late():
    """Beat runs the retention task by its registered name; a killed worker leaves it queued."""
    entry = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
    assert entry["schedule"] == 60 * 60
    task = celery_app.tasks[entry["task"]]
    assert task.name == retention_purge.name
    assert task.acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True


def test_the_separate_purge_entries_are_gone_and_the_alert_check_stays():
    """Sessions, invitations and abandoned imports are purged by the retention entry alone (the
    chat's held-back notices are no purge, nor the sweep of attachment files no row names, nor
    the patients' exercise reminders)."""
    assert set(settings.CELERY_BEAT_SCHEDULE) == {
        "retention-purge",
        "alerts-missing-readings",
        "chat-notifications",
        "attachment-orphans",
        "exercise-reminders",
    }
