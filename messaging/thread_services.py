"""Clinic messages' writes: a patient record's thread with its clinic's team (PRODUCT.md,
capability 4). The same message format, checks and store as the counsellor chat
(messaging.sealed); what differs is who may read a thread.

Invariants:
- One thread per patient record, in the record's clinic (`thread_open`); a patient linked to
  two clinics has two threads, each visible to that clinic alone.
- A message may be wrapped only to the patient's current key and to the keys the clinic
  certified for clinic messages whose holders still work there as professional or admin
  (`CertificateQuerySet.team`); the sender's own key is among them (sealed.recipients_check).
- A message's attachment is ciphertext made in the browser, at most ATTACHMENT_MAX_BYTES; it
  is stored as a private file before its row is written and deleted again if the row is not
  (a refused message leaves no file behind).
- `expires_at` of a message and of its thread: the database clock plus the two years declared
  for ClinicMessage; the thread lives as long as its newest message.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db.models import F
from django.db.models.functions import Greatest, Now
from django.utils.translation import gettext as _

from clinics.models import User
from messaging import sealed
from messaging.models import (
    Certificate,
    ChatKey,
    ClinicMessage,
    ClinicWrap,
    MessageKind,
    Purpose,
    Thread,
    ThreadRead,
    ThreadStatus,
)
from messaging.notifications import staff_notify, user_notify
from messaging.payloads import MessageIn, Refused
from messaging.sealed import Sender
from patients.models import Patient
from portal import private_files

_MB = 1024 * 1024
# A photo from a phone or a scanned letter; the browser refuses more before encrypting, with
# the same figure (docs/chat-protocol.md, "Attachments"). The GCM tag adds 16 bytes.
ATTACHMENT_MAX_PLAIN_BYTES = 10 * _MB
ATTACHMENT_MAX_BYTES = ATTACHMENT_MAX_PLAIN_BYTES + 16
ATTACHMENT_FOLDER = "messages"


def thread_open(patient: Patient) -> Thread:
    """The record's thread, made the first time either side opens it: its id is in every
    message's associated data, so the browser needs it before it encrypts the first one."""
    thread, _created = Thread.objects.get_or_create(
        patient=patient,
        defaults={"clinic_id": patient.clinic_id, "expires_at": sealed.expires_from_now(Thread)},
    )
    return thread


def patient_key_of(patient: Patient) -> ChatKey | None:
    """The key set of the account linked to the record, if the patient has set one up."""
    if patient.user_id is None:
        return None
    return ChatKey.objects.filter(user_id=patient.user_id).first()


def allowed_recipients(thread: Thread, patient_key: ChatKey | None) -> set[str]:
    allowed = set(
        Certificate.objects.for_clinic(thread.clinic_id)
        .team()
        .values_list("staff_key__key_id", flat=True)
    )
    if patient_key is not None:
        allowed.add(patient_key.key_id)
    return allowed


def clinic_message_send(
    *,
    thread: Thread,
    sender: Sender,
    payload: MessageIn,
    attachment: File | None = None,
    notify: bool = True,
) -> tuple[ClinicMessage, bool]:
    """Store a message of the thread (with its encrypted attachment) in one transaction;
    (message, created). The other side is told by e-mail (not for the demo's history)."""
    if payload.kind != MessageKind.BODY:
        raise Refused(_("Clinic messages have no internal notes."), 403)
    patient_key = patient_key_of(thread.patient)
    if patient_key is None:
        raise Refused(_("The patient has not set up messages yet."), 409)
    sealed.recipients_check(
        payload,
        sender=sender,
        allowed=allowed_recipients(thread, patient_key),
        outside_key_id=patient_key.key_id,
        wording=sealed.Wording(
            outside_missing=_("A message must be wrapped to the patient."),
            nobody_inside=_("No one in the clinic's team can read this message yet."),
        ),
    )
    stored = _attachment_store(attachment)

    def touch(message: ClinicMessage) -> None:
        changes = {
            "last_message_at": Now(),
            "expires_at": Greatest(F("expires_at"), sealed.expires_from_now(ClinicMessage)),
        }
        if sender.from_reporter:
            changes["status"] = ThreadStatus.OPEN  # the patient wrote again: not handled
            changes["last_patient_message_at"] = Now()
        Thread.objects.filter(pk=thread.pk).update(**changes)
        if not notify:
            return
        if sender.from_reporter:
            staff_notify(clinic_id=thread.clinic_id, purpose=Purpose.TEAM)
        else:
            user_notify(clinic_id=thread.clinic_id, user_id=thread.patient.user_id)

    with private_files.deleted_on_failure(stored):
        message, created = sealed.sealed_store(
            model=ClinicMessage,
            wrap_model=ClinicWrap,
            payload=payload,
            thread_field="thread",
            thread_id=thread.pk,
            fields={
                "from_patient": sender.from_reporter,
                "attachment": stored.name if stored else "",
                "attachment_size": stored.size if stored else None,
            },
            then=touch,
        )
    if stored and not created:  # a resend: the stored message keeps its own file
        private_files.delete(name=stored.name)
    return message, created


def _attachment_store(attachment: File | None) -> private_files.StoredFile | None:
    if attachment is None:
        return None
    try:
        return private_files.save_ciphertext(
            upload=attachment, max_bytes=ATTACHMENT_MAX_BYTES, prefix=ATTACHMENT_FOLDER
        )
    except ValidationError as exc:
        raise Refused(private_files.too_large_message(ATTACHMENT_MAX_PLAIN_BYTES), 413) from exc


def thread_set_status(*, thread: Thread, status: str) -> None:
    Thread.objects.filter(pk=thread.pk).update(status=status)


def thread_assign(*, thread: Thread, user: User | None) -> None:
    Thread.objects.filter(pk=thread.pk).update(assigned_to=user)


def thread_mark_read(*, thread: Thread, user: User) -> None:
    ThreadRead.objects.update_or_create(thread=thread, user=user, defaults={"read_at": Now()})


def patient_mark_read(*, thread: Thread) -> None:
    Thread.objects.filter(pk=thread.pk).update(patient_read_at=Now())


def team_wraps_add(*, clinic_id: int, wraps: dict, recipient_key_id: str) -> int:
    """Re-wrap for a newly certified member of the team (sealed.wraps_add)."""
    return sealed.wraps_add(
        model=ClinicMessage,
        wrap_model=ClinicWrap,
        thread_field="thread",
        purpose=Purpose.TEAM,
        clinic_id=clinic_id,
        wraps=wraps,
        recipient_key_id=recipient_key_id,
    )
