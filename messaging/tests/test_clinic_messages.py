"""Clinic messages' rules on the server (issue 11): who a patient's thread may be wrapped to,
tenancy, idempotency, attachments and the two-year purge. The browsers' side follows with the
pages; the messages here are sealed by the Python twin of the crypto module."""

from __future__ import annotations

import datetime
import uuid
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from clinics import retention
from clinics.models import Membership
from messaging import crypto, payloads, services, thread_services
from messaging.models import (
    ChatNotification,
    ClinicMessage,
    ClinicWrap,
    Purpose,
    RetiredChatKey,
    Thread,
    ThreadRead,
    ThreadStatus,
)
from messaging.purges import (
    CLINIC_MESSAGES,
    ORPHAN_AGE,
    RETIRED_KEYS,
    THREADS,
    attachment_orphans_delete,
)
from messaging.sealed import Sender
from messaging.tests.chat_world import pooled
from messaging.tests.clinic_world import certify, clinic_key, key_set_up, stored_files
from portal import private_files
from portal.personal_data import declaration_for

pytestmark = pytest.mark.django_db
AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def _private_storage(private_root) -> None:
    """Every test here stores attachments in a folder of its own."""


def sealed(thread: Thread, sender: crypto.KeySet, recipients: list[crypto.KeySet], **extra):
    made = crypto.seal_message(
        conversation_id=str(thread.pk),
        kind=extra.pop("kind", "body"),
        sender=sender,
        plain={"v": 1, "body": "Mijn knie is dik."},
        recipients=[crypto.Recipient(key_id=k.key_id, kem_public=k.kem_public) for k in recipients],
        **extra,
    )
    return payloads.message(made)


def send(thread, sender_keys, recipients, *, from_patient, attachment=None, payload=None):
    payload = payload or sealed(thread, sender_keys, recipients)
    return thread_services.clinic_message_send(
        thread=thread,
        sender=Sender(key_id=sender_keys.key_id, from_reporter=from_patient),
        payload=payload,
        attachment=attachment,
    )


def test_one_thread_per_record_in_the_records_clinic(team, patient_a):
    thread = team["thread"]
    assert thread_services.thread_open(patient_a) == thread
    assert thread.clinic_id == patient_a.clinic_id
    assert Thread.objects.count() == 1


def test_a_patients_message_to_their_team_is_stored_with_its_wraps_for_two_years(
    team, alice, adam, paul
):
    keys = team["keys"]
    before = timezone.now()
    message, created = send(
        team["thread"], keys[paul], [keys[paul], keys[alice], keys[adam]], from_patient=True
    )
    assert created and message.from_patient
    assert set(ClinicWrap.objects.values_list("recipient_key_id", flat=True)) == {
        keys[paul].key_id, keys[alice].key_id, keys[adam].key_id,
    }  # fmt: skip
    message.refresh_from_db()
    period = declaration_for(ClinicMessage).retention
    assert period == datetime.timedelta(days=730)
    assert before + period <= message.expires_at <= timezone.now() + period
    thread = Thread.objects.get()
    assert thread.expires_at >= message.expires_at and thread.status == ThreadStatus.OPEN
    # Both members of the team who can read it are told (one fixed e-mail, batched).
    assert set(ChatNotification.objects.values_list("user", flat=True)) == {alice.pk, adam.pk}


def test_the_teams_answer_tells_the_patient(team, alice, adam, paul):
    keys = team["keys"]
    send(team["thread"], keys[alice], [keys[paul], keys[alice], keys[adam]], from_patient=False)
    assert list(ChatNotification.objects.values_list("user", flat=True)) == [paul.pk]


@pytest.mark.parametrize("who", ["counsellor", "other clinic", "uncertified", "left"])
def test_only_current_team_keys_of_the_records_clinic_may_read(
    team, who, clinic_a, clinic_b, alice, adam, cora, charlie, bea, paul
):
    """A counsellor's key (certified for the counsellor chat), a professional of clinic B (with
    clinic B's team certificate), a professional without a certificate, and one who left the
    clinic: none may be a recipient, and nothing is stored."""
    keys = team["keys"]
    if who == "counsellor":
        stranger = key_set_up(cora, 3)
        certify(clinic_a, adam, team["signing"], cora, purpose=Purpose.COUNSELLOR)
    elif who == "other clinic":
        stranger = key_set_up(charlie, 3)
        certify(clinic_b, bea, clinic_key(clinic_b, bea, 1), charlie)
    elif who == "uncertified":
        stranger = key_set_up(bea, 3)
        Membership.objects.create(clinic=clinic_a, user=bea, role="professional")
    else:
        stranger = keys[alice]
        Membership.objects.filter(clinic=clinic_a, user=alice).update(is_active=False)
    with pytest.raises(payloads.Refused) as refused:
        send(team["thread"], keys[paul], [keys[paul], keys[adam], stranger], from_patient=True)
    assert refused.value.status == 403
    assert not ClinicMessage.objects.exists() and not ClinicWrap.objects.exists()


def test_a_message_must_reach_the_patient_and_someone_in_the_team(team, alice, adam, paul):
    keys = team["keys"]
    with pytest.raises(payloads.Refused, match="patiënt"):
        send(team["thread"], keys[alice], [keys[alice], keys[adam]], from_patient=False)
    with pytest.raises(payloads.Refused) as refused:
        send(team["thread"], keys[paul], [keys[paul]], from_patient=True)
    assert refused.value.status == 409
    assert not ClinicMessage.objects.exists()


def test_no_message_before_the_patient_has_a_key(team, patient_a, alice, adam, paul):
    paul.chat_key.delete()
    keys = team["keys"]
    with pytest.raises(payloads.Refused) as refused:
        send(team["thread"], keys[alice], [keys[alice], keys[adam]], from_patient=False)
    assert refused.value.status == 409


def test_a_resent_id_is_the_same_message_and_other_content_under_it_is_refused(
    team, alice, adam, paul, private_root
):
    keys = team["keys"]
    everyone = [keys[paul], keys[alice], keys[adam]]
    payload = sealed(team["thread"], keys[paul], everyone)
    first, created = send(
        team["thread"], keys[paul], everyone, from_patient=True, payload=payload,
        attachment=ContentFile(b"\x01" * 100, name="x"),
    )  # fmt: skip
    again, created_again = send(
        team["thread"], keys[paul], everyone, from_patient=True, payload=payload,
        attachment=ContentFile(b"\x02" * 100, name="x"),
    )  # fmt: skip
    assert created and not created_again and again.pk == first.pk
    assert len(stored_files(private_root)) == 1  # the resend's file went again
    other = sealed(team["thread"], keys[paul], everyone, message_id=str(payload.id))
    with pytest.raises(payloads.Refused) as refused:
        send(team["thread"], keys[paul], everyone, from_patient=True, payload=other)
    assert refused.value.status == 409
    assert ClinicMessage.objects.count() == 1


def test_an_oversized_attachment_is_refused_with_a_clear_message_and_nothing_stays(
    team, alice, adam, paul, private_root
):
    keys = team["keys"]
    big = ContentFile(b"\0" * (thread_services.ATTACHMENT_MAX_BYTES + 1), name="x")
    with pytest.raises(payloads.Refused) as refused:
        send(
            team["thread"], keys[paul], [keys[paul], keys[alice]], from_patient=True,
            attachment=big,
        )  # fmt: skip
    assert refused.value.status == 413 and "10 MB" in refused.value.message
    assert not ClinicMessage.objects.exists() and stored_files(private_root) == []


def test_a_refused_message_leaves_no_attachment_behind(team, alice, adam, paul, private_root):
    keys = team["keys"]
    with pytest.raises(payloads.Refused):
        send(
            team["thread"], keys[paul], [keys[alice]], from_patient=True,
            attachment=ContentFile(b"\1" * 10, name="x"),
        )  # fmt: skip
    assert stored_files(private_root) == []


def test_an_attachment_whose_message_was_never_stored_is_swept_after_an_hour(
    team, alice, adam, paul, private_root
):
    """A request that died between storing its file and committing its row leaves a file no
    message names: the hourly sweep deletes it once it is an hour old, and never a file whose
    message exists, however old."""
    keys = team["keys"]
    kept, _created = send(
        team["thread"], keys[paul], list(keys.values()), from_patient=True,
        attachment=ContentFile(b"\2" * 10, name="x"),
    )  # fmt: skip
    orphan = private_files.save_ciphertext(
        upload=ContentFile(b"\3" * 10, name="y"),
        max_bytes=100,
        prefix=thread_services.ATTACHMENT_FOLDER,
    )
    assert len(stored_files(private_root)) == 2
    assert attachment_orphans_delete() == 0  # too young: its request may still be running
    later = timezone.now() + ORPHAN_AGE + datetime.timedelta(minutes=1)
    assert attachment_orphans_delete(now=later) == 1
    assert not private_files.exists(name=orphan.name)
    assert private_files.exists(name=ClinicMessage.objects.get(pk=kept.pk).attachment)
    assert attachment_orphans_delete(now=later) == 0


def test_a_certificate_for_clinic_messages_needs_a_professional_or_an_admin(
    team, clinic_a, adam, cora
):
    key_set_up(cora, 3)
    with pytest.raises(payloads.Refused) as refused:
        certify(clinic_a, adam, team["signing"], cora, purpose=Purpose.TEAM)
    assert refused.value.status == 409


def written(thread, keys, senders, at: datetime.datetime, *, attachment: bool = False):
    """A message sent through the service, then dated as the database clock would have dated
    it at `at` (its `created_at` and `expires_at` come from the database, which no time
    machine moves), and its thread's expiry with it."""
    message = send(
        thread, keys, senders, from_patient=True,
        attachment=ContentFile(b"\3" * 64, name="x") if attachment else None,
    )[0]  # fmt: skip
    expires_at = at + declaration_for(ClinicMessage).retention
    ClinicMessage.objects.filter(pk=message.pk).update(created_at=at, expires_at=expires_at)
    Thread.objects.filter(pk=thread.pk).update(expires_at=expires_at)
    message.refresh_from_db()
    return message


def test_messages_of_731_days_go_with_their_files_those_of_729_stay_across_dst(
    team, alice, adam, paul, patient_a, private_root
):
    """Written in winter time, purged in summer time: 729 days old stays, 731 days old goes
    with its wraps and its attachment file, and the thread stays while it holds a live
    message; a second run deletes nothing."""
    keys = team["keys"]
    everyone = [keys[paul], keys[alice], keys[adam]]
    thread = team["thread"]
    now = datetime.datetime(2027, 3, 30, 9, 0, tzinfo=AMSTERDAM)  # summer time since 28 March
    old = written(thread, keys[paul], everyone, now - datetime.timedelta(days=731), attachment=True)
    young = written(
        thread, keys[paul], everyone, now - datetime.timedelta(days=729), attachment=True
    )
    # Written in winter time (29 March 2025, the day before the clocks went forward), purged
    # in summer time.
    assert old.created_at.astimezone(AMSTERDAM).utcoffset() == datetime.timedelta(hours=1)
    assert now.utcoffset() == datetime.timedelta(hours=2)
    assert len(stored_files(private_root)) == 2
    thread_services.thread_mark_read(thread=thread, user=alice)

    with time_machine.travel(now, tick=False):
        runs = {r.name: r for r in retention.purges_run(only=[CLINIC_MESSAGES, THREADS])}
    assert (runs[CLINIC_MESSAGES].rows_purged, runs[THREADS].rows_purged) == (1, 0)
    assert list(ClinicMessage.objects.values_list("pk", flat=True)) == [young.pk]
    assert set(ClinicWrap.objects.values_list("message", flat=True)) == {young.pk}
    assert [p.name for p in stored_files(private_root)] == [Path(young.attachment).name]
    with time_machine.travel(now, tick=False):
        again = retention.purges_run(only=[CLINIC_MESSAGES, THREADS])
    assert [r.rows_purged for r in again] == [0, 0]

    later = now + datetime.timedelta(days=3)
    with time_machine.travel(later, tick=False):
        runs = {r.name: r for r in retention.purges_run(only=[CLINIC_MESSAGES, THREADS])}
    assert (runs[CLINIC_MESSAGES].rows_purged, runs[THREADS].rows_purged) == (1, 1)
    assert not Thread.objects.exists() and not ThreadRead.objects.exists()
    assert not ClinicWrap.objects.exists() and stored_files(private_root) == []


def test_an_expired_thread_goes_with_what_it_still_holds(team, alice, adam, paul, private_root):
    keys = team["keys"]
    thread = team["thread"]
    now = timezone.now()
    written(thread, keys[paul], [keys[paul], keys[alice]], now - datetime.timedelta(days=740),
            attachment=True)  # fmt: skip
    Thread.objects.filter(pk=thread.pk).update(expires_at=now - datetime.timedelta(days=1))
    with time_machine.travel(now, tick=False):
        runs = {r.name: r for r in retention.purges_run(only=[THREADS])}
    assert runs[THREADS].rows_purged == 1
    assert not ClinicMessage.objects.exists() and stored_files(private_root) == []
    assert uuid.UUID(str(thread.pk))  # the thread id was a random UUID


def test_a_replaced_key_is_kept_public_only_and_purged_after_two_years(team, paul):
    """Starting over keeps the old key set's public half (its signatures stay checkable) for as
    long as a message it signed can live, then the retention purge deletes it."""
    old = team["keys"][paul]
    new = pooled("staff", 8)
    services.staff_key_replace(
        user=paul,
        key=payloads.KeySetIn(
            key_id=new.keys.key_id, kem_public=new.keys.kem_public,
            sig_public=new.keys.sig_public, sealed=new.sealed,
        ),
    )  # fmt: skip
    retired = RetiredChatKey.objects.get(user=paul)
    assert retired.key_id == old.key_id and bytes(retired.sig_public) == old.sig_public
    assert not hasattr(retired, "sealed_private")
    assert paul.chat_key.key_id == new.keys.key_id
    RetiredChatKey.objects.filter(pk=retired.pk).update(
        retired_at=timezone.now() - declaration_for(RetiredChatKey).retention
        - datetime.timedelta(hours=1)
    )  # fmt: skip
    (run,) = retention.purges_run(only=[RETIRED_KEYS])
    assert run.rows_purged == 1 and not RetiredChatKey.objects.exists()
