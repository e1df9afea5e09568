"""Shared fixtures: named people in two clinics (Alice and friends in A, Charlie in B)."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Task
from celery.contrib.testing.worker import start_worker
from celery.signals import task_failure, task_success
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from clinics.models import Role
from clinics.tests.factories import (
    ClinicFactory,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from patients.tests.factories import PatientFactory


@pytest.fixture
def private_root(settings, tmp_path) -> Path:
    """The private storage (portal.private_files) in a folder of this test's own."""
    root = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {**settings.STORAGES["private"]["OPTIONS"], "location": root},
        },
    }
    return root


@pytest.fixture
def clinic_a():
    return ClinicFactory(name="Fysio Noord")


@pytest.fixture
def clinic_b():
    return ClinicFactory(name="Fysio Zuid")


def _staff(clinic, role, email):
    user = UserFactory(email=email)
    MembershipFactory(clinic=clinic, user=user, role=role)
    TOTPDeviceFactory(user=user)
    return user


@pytest.fixture
def alice(clinic_a):
    """Health professional in clinic A."""
    return _staff(clinic_a, Role.PROFESSIONAL, "alice@noord.example")


@pytest.fixture
def adam(clinic_a):
    """Clinic admin of clinic A."""
    return _staff(clinic_a, Role.CLINIC_ADMIN, "adam@noord.example")


@pytest.fixture
def cora(clinic_a):
    """Counsellor in clinic A."""
    return _staff(clinic_a, Role.COUNSELLOR, "cora@noord.example")


@pytest.fixture
def charlie(clinic_b):
    """Health professional in clinic B."""
    return _staff(clinic_b, Role.PROFESSIONAL, "charlie@zuid.example")


@pytest.fixture
def bea(clinic_b):
    """Clinic admin of clinic B."""
    return _staff(clinic_b, Role.CLINIC_ADMIN, "bea@zuid.example")


@pytest.fixture
def oscar():
    """The operator (superuser)."""
    user = UserFactory(email="oscar@operator.example", is_staff=True, is_superuser=True)
    TOTPDeviceFactory(user=user)
    return user


@pytest.fixture
def patient_a(clinic_a):
    """Patient record in clinic A, linked to Paul's account."""
    paul = UserFactory(email="paul@patient.example")
    TOTPDeviceFactory(user=paul)
    return PatientFactory(clinic=clinic_a, given_name="Paul", family_name="de Vries", user=paul)


@pytest.fixture
def paul(patient_a):
    """Patient of clinic A (clinic A requires MFA for patients, the default)."""
    return patient_a.user


@pytest.fixture
def patient_b(clinic_b):
    """Patient record in clinic B, with a sentinel name that must never leak to clinic A."""
    return PatientFactory(clinic=clinic_b, given_name="Sentinelia", family_name="Zuidkant")


def login(client: Client, user, *, verified: bool = True) -> Client:
    """Sign the client in; `verified` also marks the session as past the second factor."""
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    if verified:
        device = user.authenticatordevice_set.filter(confirmed=True).first()
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for(db):
    """`client_for(user)` gives a fresh client signed in with both factors."""

    def make(user, *, verified: bool = True) -> Client:
        return login(Client(), user, verified=verified)

    return make


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth keeps its rate limits in the process cache: every test starts without hits."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- Celery: a real worker on the Redis broker -----------------------------------------------

TASK_TIMEOUT = 20


@pytest.fixture
def celery_worker() -> Iterator[queue.Queue]:
    """A real worker thread consuming the Redis broker; yields a queue of finished task results."""
    results: queue.Queue = queue.Queue()

    def on_success(sender: Task, result: object, **_kwargs: object) -> None:
        results.put((sender.request.id, "success", result))

    def on_failure(sender: Task, exception: Exception, **_kwargs: object) -> None:
        results.put((sender.request.id, "failure", exception))

    # Nothing left over from an earlier, interrupted run may be consumed by this worker.
    from portal.celery import app as celery_app

    celery_app.control.purge()
    task_success.connect(on_success, weak=False)
    task_failure.connect(on_failure, weak=False)
    try:
        with start_worker(celery_app, perform_ping_check=False, pool="solo"):
            yield results
    finally:
        task_success.disconnect(on_success)
        task_failure.disconnect(on_failure)


def run_through_worker(results: queue.Queue, task: Task, *args: object) -> object:
    """Send the task to the broker and wait for the worker to report this very task's outcome.

    Tests using it are marked `celery`: `make test` runs them in a process of their own after the
    parallel run, so only one embedded worker consumes the shared broker's queue at a time."""
    task_id = task.delay(*args).id
    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        # Another process's test may have queued a task on the shared broker: skip its outcome.
        reported_id, outcome, value = results.get(timeout=max(deadline - time.monotonic(), 0.1))
        if reported_id == task_id:
            assert outcome == "success", value
            return value
