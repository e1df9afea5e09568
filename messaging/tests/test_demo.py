"""seed_demo's clinic messages (messaging.demo): the team's keys certified for clinic messages,
a key for every patient with an account, and threads whose messages open with the passphrases
written to demo-credentials.json. The counsellor chat's demo is tested in test_chat_rules."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from clinics.demo import CLINICS
from clinics.models import Clinic, Membership, Role
from messaging import crypto, selectors
from messaging.demo import THREADS
from messaging.models import (
    Certificate,
    ChatKey,
    ClinicChatKey,
    ClinicMessage,
    ClinicWrap,
    Purpose,
    Thread,
)
from patients.models import Patient

TEAM_ROLES = {Role.PROFESSIONAL, Role.CLINIC_ADMIN}
DOMAINS = {demo.name: demo.domain for demo in CLINICS}


@pytest.fixture
def credentials(db, tmp_path, settings) -> dict[str, dict]:
    """The demo seeded once; its logins by e-mail address."""
    settings.DEMO = True
    out = tmp_path / "logins.json"
    call_command("seed_demo", "--credentials-out", str(out))
    return {login["email"]: login for login in json.loads(out.read_text())}


def opened(login: dict) -> crypto.KeySet:
    """The login's key set, opened as its browser would: with the written chat passphrase."""
    stored = ChatKey.objects.get(user__email=login["email"])
    return crypto.open_private(
        stored.sealed_private["passphrase"], login["chat_passphrase"], stored.key_id
    )


def bodies(thread: Thread, reader: crypto.KeySet) -> list[tuple[bool, str]]:
    """The thread's messages as `reader` opens them, each checked against its sender's key:
    (from the patient, body), in the order the pages show them."""
    rows = selectors.sealed_rows(
        ClinicMessage.objects.filter(thread=thread),
        wrap_model=ClinicWrap,
        key_id=reader.key_id,
        thread_field="thread",
        outside_field="from_patient",
    )
    keys = {
        k.key_id: k for k in ChatKey.objects.filter(key_id__in={r["sender_key_id"] for r in rows})
    }
    opened_rows = []
    for row in rows:
        sender = keys[row["sender_key_id"]]
        if row["from_patient"]:
            assert sender.user_id == thread.patient.user_id
        else:
            assert sender.certificates.filter(purpose=Purpose.TEAM).exists()
        plain = crypto.open_message(
            conversation_id=str(thread.pk),
            row=row,
            me=reader,
            sender=crypto.PublicKeySet(bytes(sender.kem_public), bytes(sender.sig_public)),
        )
        opened_rows.append((row["from_patient"], plain["body"]))
    return opened_rows


def test_each_demo_clinic_has_threads_that_the_patient_and_a_professional_open(credentials):
    """Every demo clinic has threads written by both sides; the patient opens theirs and a
    professional opens them all with the chat passphrase from the credentials, in the order
    they were written."""
    for clinic in Clinic.objects.order_by("name"):
        threads = Thread.objects.for_clinic(clinic).filter(messages__isnull=False).distinct()
        assert threads.count() >= 2, clinic.name
        professional = Membership.objects.for_clinic(clinic).filter(role=Role.PROFESSIONAL)
        reader = opened(credentials[professional.first().user.email])
        read = set()
        for thread in threads.select_related("patient__user"):
            as_patient = bodies(thread, opened(credentials[thread.patient.user.email]))
            assert bodies(thread, reader) == as_patient
            assert 2 <= len(as_patient) <= 4
            assert {from_patient for from_patient, _ in as_patient} == {True, False}
            read.add(tuple(text for _, text in as_patient))
        written = {tuple(text for _, text in lines) for lines in THREADS[DOMAINS[clinic.name]]}
        assert read == written


def test_the_demo_team_is_certified_and_everyone_with_a_key_has_its_chat_passphrase(credentials):
    """Every professional and admin holds a valid team certificate, patients hold none; every
    professional, admin, counsellor and patient login carries the passphrase of its key."""
    for clinic in Clinic.objects.all():
        clinic_key = ClinicChatKey.objects.for_clinic(clinic).get()
        team = Membership.objects.for_clinic(clinic).filter(role__in=TEAM_ROLES)
        assert team.count() == 3
        for member in team.select_related("user__chat_key"):
            staff_key = member.user.chat_key
            certificate = Certificate.objects.for_clinic(clinic).team().get(staff_key=staff_key)
            assert crypto.verify_certificate(
                bytes(clinic_key.sig_public),
                clinic_key.key_id,
                staff_key.key_id,
                Purpose.TEAM,
                bytes(certificate.signature),
            )
    patient_users = Patient.objects.filter(user__isnull=False).values("user")
    assert not Certificate.objects.filter(staff_key__user__in=patient_users).exists()
    with_key = [c for c in credentials.values() if c["role"] != "superuser"]
    assert {c["role"] for c in with_key} == {
        "clinic_admin",
        "professional",
        "counsellor",
        "patient",
    }
    for login in with_key:
        assert login["chat_passphrase"], login["email"]
        assert ChatKey.objects.filter(user__email=login["email"]).exists()
    patient = next(c for c in with_key if c["role"] == "patient")
    professional = next(c for c in with_key if c["role"] == "professional")
    assert opened(patient).key_id and opened(professional).key_id


def test_a_second_demo_seed_adds_no_key_certificate_thread_or_message(credentials, tmp_path):
    """seed_demo run again keeps the keys, certificates, threads and messages it made."""

    def state() -> tuple:
        return tuple(
            sorted(model.objects.values_list("pk", flat=True))
            for model in (ChatKey, Certificate, Thread, ClinicMessage, ClinicWrap)
        )

    before = state()
    call_command("seed_demo", "--credentials-out", str(tmp_path / "again.json"))
    assert state() == before
    again = {c["email"]: c for c in json.loads((tmp_path / "again.json").read_text())}
    assert again == credentials
