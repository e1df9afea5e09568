"""Fixtures of the messaging tests."""

from __future__ import annotations

import pytest

from messaging import thread_services
from messaging.tests.clinic_world import certify, clinic_key, key_set_up


@pytest.fixture
def team(clinic_a, alice, adam, paul, patient_a):
    """Clinic A with its clinic key, Alice (professional) and Adam (admin) certified for clinic
    messages, and Paul (the patient of record patient_a) with a key set."""
    signing = clinic_key(clinic_a, adam, 0)
    keys = {alice: key_set_up(alice, 0), adam: key_set_up(adam, 1), paul: key_set_up(paul, 2)}
    certify(clinic_a, adam, signing, alice)
    certify(clinic_a, adam, signing, adam)
    return {"signing": signing, "keys": keys, "thread": thread_services.thread_open(patient_a)}
