"""Retention tasks run through a real Celery worker on Redis (T35 for invitations)."""

from __future__ import annotations

import datetime
import queue
import time
from collections.abc import Iterator

import pytest
from celery import Task
from celery.contrib.testing.worker import start_worker
from celery.signals import task_failure, task_success
from django.conf import settings
from django.utils import timezone

from clinics.models import Role, StaffInvitation
from clinics.services import invitation_new_token
from clinics.tasks import invitations_purge_expired
from patients.models import PatientInvitation
from patients.tests.factories import PatientFactory
from portal.celery import app as celery_app

TASK_TIMEOUT = 20


@pytest.fixture
def worker() -> Iterator[queue.Queue]:
    """A real worker thread consuming the Redis broker; yields a queue of finished task results."""
    results: queue.Queue = queue.Queue()

    def on_success(sender: Task, result: object, **_kwargs: object) -> None:
        results.put((sender.request.id, "success", result))

    def on_failure(sender: Task, exception: Exception, **_kwargs: object) -> None:
        results.put((sender.request.id, "failure", exception))

    # Nothing left over from an earlier, interrupted run may be consumed by this worker.
    celery_app.control.purge()
    task_success.connect(on_success, weak=False)
    task_failure.connect(on_failure, weak=False)
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo"):
            yield results
    finally:
        task_success.disconnect(on_success)
        task_failure.disconnect(on_failure)


def run_through_worker(results: queue.Queue, task: Task) -> object:
    """Send the task to the broker and wait for the worker to report this very task's outcome."""
    task_id = task.delay().id
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        # Another process's test may have queued a task on the shared broker: skip its outcome.
        reported_id, outcome, value = results.get(timeout=max(deadline - time.monotonic(), 0.1))
        if reported_id == task_id:
            assert outcome == "success", value
            return value


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
@pytest.mark.xdist_group("celery")  # one embedded worker on the shared broker at a time
@pytest.mark.django_db(transaction=True)
def test_purge_task_deletes_only_long_expired_invitations_and_is_idempotent(worker, invitations):
    """Through a real worker: invitations expired over 30 days go, younger ones stay; run twice."""
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert remaining() == keys(invitations["stale"]) | keys(invitations["kept"])

    deleted = run_through_worker(worker, invitations_purge_expired)
    assert deleted == len(invitations["stale"]) == 12
    assert remaining() == keys(invitations["kept"])

    assert run_through_worker(worker, invitations_purge_expired) == 0
    assert remaining() == keys(invitations["kept"])


def test_purge_task_is_scheduled_and_acknowledged_late():
    """Beat runs the task by its registered name; a killed worker leaves it on the queue."""
    entry = settings.CELERY_BEAT_SCHEDULE["invitations-purge-expired"]
    task = celery_app.tasks[entry["task"]]
    assert task.name == invitations_purge_expired.name
    assert task.acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True
