"""Clinic messages through their pages and endpoints (issue 11): the patient's and the team's
sides of a thread, attachments in and out, the team inbox with its filters, its access log and
its poll, and bad input refused with nothing stored. The rules below the endpoints are tested in
test_clinic_messages.py; the URL walks (tests/test_url_matrix.py, test_record_access.py) cover
roles, tenancy and CSRF of every URL here."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinics.models import AccessAction, AccessLogEntry, AccessPart, Role
from clinics.tests.factories import MembershipFactory, TOTPDeviceFactory, UserFactory
from messaging import crypto, payloads, selectors, thread_selectors, thread_services
from messaging.models import ClinicMessage, Thread, ThreadStatus
from messaging.sealed import Sender
from messaging.tests.chat_world import pooled
from messaging.tests.clinic_world import certify, clinic_key, key_set_up, stored_files
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_storage(private_root) -> None:
    """Every test here stores attachments in a folder of its own."""


def sealed_json(thread: Thread, sender: crypto.KeySet, recipients, *, body="Mijn knie is dik."):
    return crypto.seal_message(
        conversation_id=str(thread.pk),
        kind="body",
        sender=sender,
        plain={"v": 1, "body": body},
        recipients=[crypto.Recipient(key_id=k.key_id, kem_public=k.kem_public) for k in recipients],
    )


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def post_with_file(client, url, data, file_bytes: bytes):
    upload = SimpleUploadedFile("attachment.bin", file_bytes, "application/octet-stream")
    return client.post(url, {"message": json.dumps(data), "attachment": upload})


def everyone(team_fixture):
    """The patient's (Paul's) and the team's keys: the recipients of Paul's thread."""
    return list(team_fixture["keys"].values())


def team_keys(team_fixture, paul):
    return [k for user, k in team_fixture["keys"].items() if user != paul]


# --- the patient --------------------------------------------------------------------------------


def test_patient_writes_with_a_photo_and_the_team_reads_it(
    team, client_for, paul, alice, patient_a, private_root
):
    thread = team["thread"]
    patient_keys, alice_keys = team["keys"][paul], team["keys"][alice]
    url = reverse("clinic_messages:my_api_messages", args=[patient_a.pk])
    file_bytes = b"\x89PNG ciphertext of a photo" * 100
    response = post_with_file(
        client_for(paul), url, sealed_json(thread, patient_keys, everyone(team)), file_bytes
    )
    assert response.status_code == 201, response.content
    message = ClinicMessage.objects.get(pk=response.json()["id"])
    assert message.from_patient and message.attachment_size == len(file_bytes)
    assert [p.read_bytes() for p in stored_files(private_root)] == [file_bytes]

    staff = client_for(alice)
    rows = staff.get(reverse("clinic_messages:team_api_messages", args=[thread.pk])).json()
    (row,) = rows["messages"]
    assert row["attachment"] is True and set(row["wraps"]) == {alice_keys.key_id}
    assert rows["thread"]["patient_key"]["key_id"] == patient_keys.key_id
    plain = crypto.open_message(
        conversation_id=str(thread.pk), row=row, me=alice_keys, sender=patient_keys
    )
    assert plain["body"] == "Mijn knie is dik."

    download = staff.get(
        reverse("clinic_messages:team_attachment", args=[patient_a.pk, message.pk])
    )
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == file_bytes
    assert download["Content-Type"] == "application/octet-stream"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in download["Content-Disposition"]
    logged = AccessLogEntry.objects.filter(user=alice, patient=patient_a)
    assert logged.filter(part=AccessPart.MESSAGES, action=AccessAction.READ).count() == 1


def test_patient_page_says_how_long_messages_are_kept(team, client_for, paul, patient_a):
    page = client_for(paul).get(reverse("clinic_messages:my_thread", args=[patient_a.pk]))
    assert page.status_code == 200
    assert "730" in page.content.decode()


def test_patient_without_a_key_is_sent_to_set_one_up(client_for, paul, patient_a):
    page = client_for(paul).get(reverse("clinic_messages:my_thread", args=[patient_a.pk]))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("clinic_messages:my_key"))


def test_a_patient_cannot_reach_another_patients_thread(team, client_for, clinic_a, patient_a):
    other, _keys = patient_with_key(clinic_a, 9)
    client = client_for(other.user)
    for name in ("my_thread", "my_api_messages", "my_api_directory"):
        url = reverse(f"clinic_messages:{name}", args=[patient_a.pk])
        assert client.get(url).status_code == 404


def test_a_message_to_another_patients_thread_is_refused(
    team, client_for, paul, patient_a, clinic_a
):
    """Paul posts, to his own record's endpoint, a message sealed for another patient's thread:
    the ids differ, so it lands in his thread or nowhere; a message naming another thread in
    its associated data cannot be opened by anyone, and the server stores it only in the
    thread of the URL. Paul cannot address another record at all (404)."""
    other = PatientFactory(clinic=clinic_a)
    other_thread = thread_services.thread_open(other)
    data = sealed_json(other_thread, team["keys"][paul], everyone(team))
    response = post_json(
        client_for(paul), reverse("clinic_messages:my_api_messages", args=[other.pk]), data
    )
    assert response.status_code == 404
    assert not ClinicMessage.objects.filter(thread=other_thread).exists()


def test_forged_recipient_list_is_refused_and_nothing_stored(
    team, client_for, paul, patient_a, clinic_b, charlie
):
    """A patient's browser wrapping to a key of another clinic's professional: 403."""
    stranger = key_set_up(charlie, 5)
    data = sealed_json(team["thread"], team["keys"][paul], [*everyone(team), stranger])
    response = post_json(
        client_for(paul), reverse("clinic_messages:my_api_messages", args=[patient_a.pk]), data
    )
    assert response.status_code == 403
    assert "error" in response.json()
    assert not ClinicMessage.objects.exists()


def test_oversized_attachment_is_refused_with_a_clear_message(
    team, client_for, paul, patient_a, private_root
):
    data = sealed_json(team["thread"], team["keys"][paul], everyone(team))
    too_big = b"\0" * (thread_services.ATTACHMENT_MAX_BYTES + 1)
    response = post_with_file(
        client_for(paul),
        reverse("clinic_messages:my_api_messages", args=[patient_a.pk]),
        data,
        too_big,
    )
    assert response.status_code == 413
    assert "10 MB" in response.json()["error"]
    assert not ClinicMessage.objects.exists()
    assert stored_files(private_root) == []


def test_replayed_message_id_with_other_content_is_refused(team, client_for, paul, patient_a):
    url = reverse("clinic_messages:my_api_messages", args=[patient_a.pk])
    client = client_for(paul)
    first = sealed_json(team["thread"], team["keys"][paul], everyone(team))
    assert post_json(client, url, first).status_code == 201
    assert post_json(client, url, first).status_code == 200  # the same message again
    other = sealed_json(team["thread"], team["keys"][paul], everyone(team), body="Anders.")
    other["id"] = first["id"]
    response = post_json(client, url, other)
    assert response.status_code == 409
    assert ClinicMessage.objects.count() == 1


# --- the team -----------------------------------------------------------------------------------


def write(thread, patient_keys, recipients, *, body="Vraag."):
    """A message from the patient, as their browser would have sealed and sent it."""
    thread_services.clinic_message_send(
        thread=thread,
        sender=Sender(key_id=patient_keys.key_id, from_reporter=True),
        payload=payloads.message(sealed_json(thread, patient_keys, recipients, body=body)),
        notify=False,
    )


def patient_writes(team, paul, *, body="Vraag."):
    write(team["thread"], team["keys"][paul], everyone(team), body=body)


def patient_with_key(clinic, index: int, **names):
    user = UserFactory()
    TOTPDeviceFactory(user=user)
    patient = PatientFactory(clinic=clinic, user=user, **names)
    return patient, key_set_up(user, index)


def test_team_inbox_unread_first_filtered_and_logged(
    team, client_for, alice, adam, paul, patient_a, clinic_a
):
    patient_writes(team, paul)
    others = []
    for i in range(3):
        other, other_keys = patient_with_key(clinic_a, 10 + i, given_name=f"Ria{i}")
        thread = thread_services.thread_open(other)
        write(thread, other_keys, [*team_keys(team, paul), other_keys])
        thread_services.thread_mark_read(thread=thread, user=alice)
        others.append(other)
    client = client_for(alice)
    page = client.get(reverse("clinic_messages:team_inbox"))
    assert page.status_code == 200
    shown = list(page.context["page"])
    assert shown[0] == patient_a  # the only unread one
    assert len(shown) == 4
    logged = AccessLogEntry.objects.filter(user=alice, part=AccessPart.MESSAGES)
    assert sorted(logged.values_list("patient_id", flat=True)) == sorted(p.pk for p in shown)

    found = client.get(reverse("clinic_messages:team_inbox"), {"q": "Ria1"})
    assert list(found.context["page"]) == [others[1]]

    thread_services.thread_assign(thread=team["thread"], user=adam)
    mine = client_for(adam).get(reverse("clinic_messages:team_inbox"), {"mine": "1"})
    assert list(mine.context["page"]) == [patient_a]

    thread_services.thread_set_status(thread=team["thread"], status=ThreadStatus.HANDLED)
    handled = client.get(reverse("clinic_messages:team_inbox"), {"status": "handled"})
    assert list(handled.context["page"]) == [patient_a]


def test_team_inbox_poll_names_nobody_and_changes_with_a_new_message(
    team, client_for, alice, paul, patient_a
):
    patient_writes(team, paul)
    client = client_for(alice)
    before = client.get(reverse("clinic_messages:team_api_inbox")).json()
    assert set(before) == {"fingerprint"}
    assert patient_a.family_name not in json.dumps(before)
    count = AccessLogEntry.objects.count()
    patient_writes(team, paul, body="Nog een vraag.")
    after = client.get(reverse("clinic_messages:team_api_inbox")).json()
    assert after["fingerprint"] != before["fingerprint"]
    assert AccessLogEntry.objects.count() == count  # the poll is not a record access


def test_team_inbox_query_count_does_not_grow_with_threads(team, client_for, alice, clinic_a):
    def queries() -> int:
        client = client_for(alice)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("clinic_messages:team_inbox")).status_code == 200
        return len(captured)

    def threads(n: int) -> None:
        for _ in range(n):
            patient = PatientFactory(clinic=clinic_a)
            thread = thread_services.thread_open(patient)
            ClinicMessage.objects.create(
                id=uuid.uuid4(), thread=thread, kind="body", from_patient=True,
                sender_key_id="0" * 32, iv=bytes(12), cipher=bytes(272), signature=bytes(64),
                recipients="0" * 32, expires_at=thread.expires_at,
            )  # fmt: skip
            Thread.objects.filter(pk=thread.pk).update(
                last_message_at=timezone.now(), last_patient_message_at=timezone.now()
            )

    threads(2)
    few = queries()
    threads(20)
    assert queries() == few


def test_status_and_assignment(team, client_for, alice, adam, cora, patient_a):
    client = client_for(alice)
    url = reverse("clinic_messages:team_thread_status", args=[patient_a.pk])
    assert client.post(url, {"status": "handled"}).status_code == 302
    assert Thread.objects.get().status == ThreadStatus.HANDLED
    assign = reverse("clinic_messages:team_thread_assign", args=[patient_a.pk])
    client.post(assign, {"assigned_to": str(adam.pk)})
    assert Thread.objects.get().assigned_to == adam
    client.post(assign, {"assigned_to": str(cora.pk)})  # a counsellor is not in the team
    assert Thread.objects.get().assigned_to == adam
    client.post(assign, {"assigned_to": ""})
    assert Thread.objects.get().assigned_to is None


def test_patient_writing_again_reopens_a_handled_thread(team, client_for, paul, patient_a):
    thread_services.thread_set_status(thread=team["thread"], status=ThreadStatus.HANDLED)
    patient_writes(team, paul)
    assert Thread.objects.get().status == ThreadStatus.OPEN


def test_professional_of_another_clinic_gets_404_for_the_thread(
    team, client_for, charlie, clinic_b, bea, paul, patient_a
):
    file_bytes = b"ciphertext"
    post_with_file(
        client_for(paul),
        reverse("clinic_messages:my_api_messages", args=[patient_a.pk]),
        sealed_json(team["thread"], team["keys"][paul], everyone(team)),
        file_bytes,
    )
    signing = clinic_key(clinic_b, bea, 3)
    key_set_up(charlie, 6)
    certify(clinic_b, bea, signing, charlie)
    client = client_for(charlie)
    message = ClinicMessage.objects.get()
    assert (
        client.get(
            reverse("clinic_messages:team_api_messages", args=[team["thread"].pk])
        ).status_code
        == 404
    )
    for name, args in (
        ("team_thread", [patient_a.pk]),
        ("team_attachment", [patient_a.pk, message.pk]),
    ):
        assert client.get(reverse(f"clinic_messages:{name}", args=args)).status_code == 404


def test_the_patient_sees_who_opened_their_thread(team, client_for, alice, paul, patient_a):
    """Opening a patient's thread is one access-log entry (the fact, not the content), shown to
    the patient in "who looked at my record"."""
    page = client_for(alice).get(reverse("clinic_messages:team_thread", args=[patient_a.pk]))
    assert page.status_code == 200
    entry = AccessLogEntry.objects.get(user=alice, patient=patient_a)
    assert entry.part == AccessPart.MESSAGES and entry.action == AccessAction.READ
    seen = client_for(paul).get(reverse("patients:my_access_log")).content.decode()
    assert str(AccessPart.MESSAGES.label) in seen or "berichten met de praktijk" in seen
    assert alice.display_name in seen or alice.email in seen


def test_after_the_patient_starts_over_the_team_still_checks_their_older_messages(
    team, client_for, alice, paul, patient_a
):
    """A patient who lost passphrase and recovery key makes a new key set: the old one's public
    half is kept, so the team's browser still verifies what the old key signed; the new key
    has no wrap of the older messages (the patient's page says "sent before your new key")."""
    old_keys = team["keys"][paul]
    patient_writes(team, paul, body="Voor mijn nieuwe sleutel.")
    new_keys = pooled("staff", 7).keys
    response = post_json(
        client_for(paul),
        reverse("clinic_messages:my_api_key"),
        {
            "key_id": new_keys.key_id,
            "kem_public": crypto.b64(new_keys.kem_public),
            "sig_public": crypto.b64(new_keys.sig_public),
            "sealed_private": pooled("staff", 7).sealed,
            "replace": True,
        },
    )
    assert response.status_code == 201, response.content
    data = (
        client_for(alice)
        .get(reverse("clinic_messages:team_api_messages", args=[team["thread"].pk]))
        .json()
    )
    assert data["thread"]["patient_key"]["key_id"] == new_keys.key_id
    (before,) = data["thread"]["patient_keys_before"]
    assert before["key_id"] == old_keys.key_id
    (row,) = data["messages"]
    sender = crypto.PublicKeySet(
        kem_public=crypto.unb64(before["kem_public"]),
        sig_public=crypto.unb64(before["sig_public"]),
    )
    plain = crypto.open_message(
        conversation_id=str(team["thread"].pk), row=row, me=team["keys"][alice], sender=sender
    )
    assert plain["body"] == "Voor mijn nieuwe sleutel."
    mine = client_for(paul).get(reverse("clinic_messages:my_api_messages", args=[patient_a.pk]))
    assert mine.json()["messages"][0]["wraps"] == {}


def test_an_empty_thread_is_in_no_inbox_and_unread_follows_the_patients_last_message(
    team, client_for, alice, adam, paul, patient_a
):
    """A thread opened by a page but never written in shows nowhere; the patient's message
    makes it unread for every member until each reads it; the team's own answer does not."""
    client = client_for(alice)
    assert list(client.get(reverse("clinic_messages:team_inbox")).context["page"]) == []
    patient_writes(team, paul)
    (row,) = client.get(reverse("clinic_messages:team_inbox")).context["page"]
    assert row.unread is True
    assert thread_selectors.team_unread_total(team["thread"].clinic, alice) == 1
    thread_services.thread_mark_read(thread=team["thread"], user=alice)
    (row,) = client.get(reverse("clinic_messages:team_inbox")).context["page"]
    assert row.unread is False
    assert thread_selectors.team_unread_total(team["thread"].clinic, adam) == 1
    thread = Thread.objects.get()
    assert thread.last_patient_message_at is not None
    assert thread.last_message_at >= thread.last_patient_message_at


def test_a_professional_certified_later_gets_the_history_by_a_colleagues_rewrap(
    team, client_for, alice, adam, paul, clinic_a
):
    """Nina joins the team after Paul wrote: Alice's browser finds the message Nina cannot open
    (team_api_rewrap lists it under Nina's certified key), re-wraps its key for her, and Nina's
    next read has her own wrap, which opens the message. A key that is not certified for clinic
    messages is refused, and nothing is added."""
    patient_writes(team, paul, body="Van voor Nina.")
    nina = UserFactory(email="nina.later@noord.example")
    TOTPDeviceFactory(user=nina)
    MembershipFactory(clinic=clinic_a, user=nina, role=Role.PROFESSIONAL)
    nina_keys = key_set_up(nina, 9)
    certify(clinic_a, adam, team["signing"], nina)

    alice_client = client_for(alice)
    pending = alice_client.get(reverse("clinic_messages:team_api_rewrap")).json()
    (work,) = [w for w in pending["work"] if w["recipient_key_id"] == nina_keys.key_id]
    (row,) = work["messages"]
    wrap = crypto.rewrap(
        conversation_id=row["thread_id"],
        row=row,
        me=team["keys"][alice],
        new_recipient=crypto.Recipient(key_id=nina_keys.key_id, kem_public=nina_keys.kem_public),
    )
    stranger = pooled("staff", 10).keys.key_id
    refused = post_json(
        alice_client,
        reverse("clinic_messages:team_api_rewrap"),
        {"recipient_key_id": stranger, "wraps": {row["id"]: wrap}},
    )
    assert refused.status_code == 403
    added = post_json(
        alice_client,
        reverse("clinic_messages:team_api_rewrap"),
        {"recipient_key_id": nina_keys.key_id, "wraps": {row["id"]: wrap}},
    )
    assert added.json() == {"added": 1}

    rows = client_for(nina).get(
        reverse("clinic_messages:team_api_messages", args=[team["thread"].pk])
    )
    (seen,) = rows.json()["messages"]
    plain = crypto.open_message(
        conversation_id=str(team["thread"].pk), row=seen, me=nina_keys, sender=team["keys"][paul]
    )
    assert plain["body"] == "Van voor Nina."


def test_the_inbox_poll_agrees_with_the_page_until_something_changes(team, client_for, alice, paul):
    """The page carries the digest of what it shows; the poll answers the same digest while
    nothing changed (else the page would say "new messages" for nothing)."""
    patient_writes(team, paul)
    client = client_for(alice)
    page = client.get(reverse("clinic_messages:team_inbox"))
    shown = re.search(r'data-fingerprint="([0-9a-f]+)"', page.content.decode()).group(1)
    polled = client.get(reverse("clinic_messages:team_api_inbox")).json()["fingerprint"]
    assert polled == shown
    thread_services.thread_assign(thread=team["thread"], user=alice)
    assert client.get(reverse("clinic_messages:team_api_inbox")).json()["fingerprint"] != shown


def test_the_patients_directory_names_the_team_and_the_reporters_names_no_counsellor(
    team, client_for, alice, adam, paul, patient_a
):
    """A patient writes to people: the team's certified keys come with their holders' names (a
    label; the key decides). The counsellor chat's directory names nobody."""
    directory = client_for(paul).get(
        reverse("clinic_messages:my_api_directory", args=[patient_a.pk])
    )
    names = {entry["key_id"]: entry["name"] for entry in directory.json()["staff"]}
    assert names == {
        team["keys"][alice].key_id: str(alice),
        team["keys"][adam].key_id: str(adam),
    }
    counsellors = selectors.key_directory(patient_a.clinic)
    assert all("name" not in entry for entry in counsellors["staff"])
