"""The counsellor chat's writes. The server relays ciphertext it cannot read, so what it can
enforce it enforces here, before a row is written: who may send as which key, to which keys,
that every recipient has its wrap, that a message id is used once, and when each row expires.

Invariants:
- `expires_at` comes from the database clock plus the period declared in
  messaging.personal_data (never the web server's clock, never a second 31).
- A message's recipients are a subset of the keys allowed for its conversation: the certified
  counsellor keys of the conversation's clinic, plus the reporter's own key for a message (never
  for a note). The browsers check the same, and more (signatures, certificates); the server's
  check keeps a forged recipient list from being stored at all.
- A message id is used once: the same message sent again is the same row (idempotent); the id
  with other content, or in another conversation, is refused and nothing changes.
"""

from __future__ import annotations

import datetime
import secrets
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Now
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Clinic, Membership, User
from messaging import crypto, sealed
from messaging.models import (
    PURPOSE_ROLES,
    Certificate,
    ChatKey,
    ClinicChatKey,
    Conversation,
    ConversationRead,
    ConversationStatus,
    JoinCode,
    Message,
    MessageKind,
    Organisation,
    Purpose,
    RetiredChatKey,
    UsageMonth,
    Wrap,
)
from messaging.notifications import counsellors_notify
from messaging.payloads import KeySetIn, MessageIn, Refused
from messaging.sealed import Sender

# Join codes: no 0/O, 1/I/L, so a code read off a poster is typed right; 31^10 codes.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


# --- keys -----------------------------------------------------------------------------------


def clinic_key_set_up(*, clinic: Clinic, actor: User, key: KeySetIn) -> ClinicChatKey:
    if key.key_id != crypto.fingerprint(key.sig_public):
        raise Refused(_("The key id does not belong to this key."))
    try:
        with transaction.atomic():
            return ClinicChatKey.objects.create(
                clinic=clinic,
                key_id=key.key_id,
                sig_public=key.sig_public,
                sealed_private=key.sealed,
                created_by=actor,
            )
    except IntegrityError as exc:
        raise Refused(_("This clinic already has a chat key."), 409) from exc


def staff_key_set_up(*, user: User, key: KeySetIn) -> ChatKey:
    if key.key_id != crypto.key_id(key.kem_public, key.sig_public):
        raise Refused(_("The key id does not belong to these keys."))
    try:
        with transaction.atomic():
            return ChatKey.objects.create(
                user=user,
                key_id=key.key_id,
                kem_public=key.kem_public,
                sig_public=key.sig_public,
                sealed_private=key.sealed,
            )
    except IntegrityError as exc:
        raise Refused(_("You already have a chat key."), 409) from exc


@transaction.atomic
def staff_key_replace(*, user: User, key: KeySetIn) -> ChatKey:
    """Start over after losing both the passphrase and the recovery key: the old key set goes
    with its certificates (no message is wrapped to it any more), and the clinic must certify
    the new one. Colleagues' browsers then re-wrap the retained history for it. The old key's
    public half is kept (RetiredChatKey) for checking the signatures it made."""
    for old in ChatKey.objects.filter(user=user):
        # Its public half stays, so that readers can still check what it signed.
        RetiredChatKey.objects.get_or_create(
            key_id=old.key_id,
            defaults={"user": user, "kem_public": old.kem_public, "sig_public": old.sig_public},
        )
        old.delete()
    return staff_key_set_up(user=user, key=key)


def certificate_issue(
    *,
    clinic: Clinic,
    actor: User,
    staff_key: ChatKey,
    signature: bytes,
    purpose: Purpose = Purpose.COUNSELLOR,
) -> Certificate:
    """The admin's browser signed the staff key's id and the purpose with the clinic key; the
    server checks the signature too, so that a certificate no client would accept is never
    stored, and that the key's holder works in the clinic in a role of that purpose."""
    clinic_key = ClinicChatKey.objects.for_clinic(clinic).first()
    if clinic_key is None:
        raise Refused(_("Set up the clinic's chat key first."), 409)
    holds_role = (
        Membership.objects.active()
        .for_clinic(clinic)
        .filter(user_id=staff_key.user_id, role__in=PURPOSE_ROLES[purpose])
        .exists()
    )
    if not holds_role:
        raise Refused(
            _("Only a counsellor of this clinic can be certified.")
            if purpose == Purpose.COUNSELLOR
            else _("Only a professional or an admin of this clinic can be certified."),
            409,
        )
    if not _certifies(clinic_key, staff_key, purpose, signature):
        if any(_certifies(clinic_key, staff_key, p, signature) for p in Purpose if p != purpose):
            raise Refused(
                _("The certificate is signed for another purpose than this key's (%(purpose)s).")
                % {"purpose": Purpose(purpose).label}
            )
        raise Refused(_("The certificate's signature is not valid."))
    certificate, _created = Certificate.objects.update_or_create(
        clinic=clinic,
        staff_key=staff_key,
        purpose=purpose,
        defaults={
            "clinic_key": clinic_key,
            "signature": signature,
            "certified_by": actor,
            "certified_at": Now(),
            "revoked_at": None,
        },
    )
    return certificate


def _certifies(
    clinic_key: ClinicChatKey, staff_key: ChatKey, purpose: str, signature: bytes
) -> bool:
    return crypto.verify_certificate(
        bytes(clinic_key.sig_public), clinic_key.key_id, staff_key.key_id, purpose, signature
    )


def certificate_revoke(*, certificate: Certificate) -> Certificate:
    """No new wraps for this key from now on; what it could read stays read (E2EE.md)."""
    if certificate.revoked_at is None:
        Certificate.objects.filter(pk=certificate.pk).update(revoked_at=Now())
        certificate.refresh_from_db(fields=["revoked_at"])
    return certificate


# --- organisations and their codes -----------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """A code as people type it: any case, with spaces or dashes between the groups."""
    return "".join(c for c in typed.upper() if c.isalnum())


def organisation_create(*, clinic: Clinic, name: str) -> Organisation:
    name = name.strip()
    if not name:
        raise Refused(_("Give the organisation a name."))
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(clinic=clinic, name=name)
            JoinCode.objects.create(clinic=clinic, organisation=organisation, code=_new_code())
    except IntegrityError as exc:
        raise Refused(_("This clinic already has an organisation of that name."), 409) from exc
    return organisation


@transaction.atomic
def join_code_rotate(*, organisation: Organisation) -> JoinCode:
    """A new code; the old one admits no new reporter (its conversations go on)."""
    join_code_close(organisation=organisation)
    return JoinCode.objects.create(
        clinic_id=organisation.clinic_id, organisation=organisation, code=_new_code()
    )


def join_code_close(*, organisation: Organisation) -> None:
    organisation.join_codes.admitting().update(retired_at=Now())


# --- conversations ---------------------------------------------------------------------------


def conversation_join(
    *,
    code: str,
    conversation_id: uuid.UUID,
    key: KeySetIn,
    recovery_lookup: str,
) -> Conversation:
    """A reporter starts a conversation with the code on the poster. `key.sealed` holds the
    recovery copy only (a reporter has no passphrase)."""
    join_code = (
        JoinCode.objects.admitting()
        .select_related("organisation")
        .filter(code=normalise_code(code))
        .first()
    )
    if join_code is None:
        raise Refused(_("This code is not valid (any more). Check it on the poster."), 404)
    if key.key_id != crypto.key_id(key.kem_public, key.sig_public):
        raise Refused(_("The key id does not belong to these keys."))
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                id=conversation_id,
                clinic_id=join_code.clinic_id,
                organisation=join_code.organisation,
                join_code=join_code,
                reporter_key_id=key.key_id,
                reporter_kem_public=key.kem_public,
                reporter_sig_public=key.sig_public,
                recovery_lookup=recovery_lookup,
                sealed_private=key.sealed["recovery"],
                expires_at=sealed.expires_from_now(Message),
            )
            _count_usage(join_code.clinic_id, join_code.pk, started=1)
    except IntegrityError as exc:
        raise Refused(_("This conversation or key is already registered."), 409) from exc
    conversation.refresh_from_db(fields=["expires_at", "created_at", "last_message_at"])
    return conversation


def _count_usage(clinic_id: int, join_code_id: int, *, started: int = 0, active: int = 0) -> None:
    """Add to the counts of a code's month (metadata only: no identifier is stored with them),
    in one statement whether or not the month has a row yet."""
    table = UsageMonth._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table}
                    (clinic_id, join_code_id, month, conversations_started, active_reporters)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (join_code_id, month) DO UPDATE SET
                    conversations_started = {table}.conversations_started + %s,
                    active_reporters = {table}.active_reporters + %s""",  # noqa: S608
            [clinic_id, join_code_id, _this_month(), started, active, started, active],
        )


def _this_month() -> datetime.date:
    """The first day of this month in the clinics' time zone."""
    return timezone.localdate().replace(day=1)


def allowed_recipients(conversation: Conversation, kind: str) -> set[str]:
    """The key ids a message of this kind may be wrapped to: the clinic's certified counsellor
    keys, and the reporter's key for a message (a note is for counsellors only)."""
    counsellors = set(
        Certificate.objects.for_clinic(conversation.clinic_id)
        .counsellors()
        .values_list("staff_key__key_id", flat=True)
    )
    if kind == MessageKind.BODY:
        counsellors.add(conversation.reporter_key_id)
    return counsellors


def message_send(
    *, conversation: Conversation, sender: Sender, payload: MessageIn, notify: bool = True
) -> tuple[Message, bool]:
    """Store a message (or a note) and its wraps in one transaction; (message, created). A
    reporter's new message tells the counsellors by e-mail (not for the demo's history)."""
    if sender.from_reporter and payload.kind != MessageKind.BODY:
        raise Refused(_("A reporter cannot write internal notes."), 403)
    sealed.recipients_check(
        payload,
        sender=sender,
        allowed=allowed_recipients(conversation, payload.kind),
        outside_key_id=conversation.reporter_key_id,
        wording=sealed.Wording(
            outside_missing=_("A message must be wrapped to the reporter."),
            nobody_inside=_("No counsellor can read this message yet."),
        ),
    )

    def touch(message: Message) -> None:
        _conversation_touch(conversation, sender)
        if sender.from_reporter and notify:
            counsellors_notify(clinic_id=conversation.clinic_id)

    return sealed.sealed_store(
        model=Message,
        wrap_model=Wrap,
        payload=payload,
        thread_field="conversation",
        thread_id=conversation.pk,
        fields={"from_reporter": sender.from_reporter},
        then=touch,
    )


def _conversation_touch(conversation: Conversation, sender: Sender) -> None:
    """The conversation lives as long as its newest message; a reporter's message reopens a
    closed conversation and counts the reporter active this month (once)."""
    changes = {
        "last_message_at": Now(),
        "expires_at": Greatest(F("expires_at"), sealed.expires_from_now(Message)),
    }
    if sender.from_reporter:
        changes["status"] = ConversationStatus.OPEN
        month = _this_month()
        if conversation.counted_month != month and conversation.join_code_id is not None:
            changes["counted_month"] = month
            _count_usage(conversation.clinic_id, conversation.join_code_id, active=1)
            conversation.counted_month = month
    Conversation.objects.filter(pk=conversation.pk).update(**changes)


def wraps_add(*, clinic: Clinic, wraps: dict[uuid.UUID, bytes], recipient_key_id: str) -> int:
    """Re-wrap for a newly certified counsellor (sealed.wraps_add)."""
    return sealed.wraps_add(
        model=Message,
        wrap_model=Wrap,
        thread_field="conversation",
        purpose=Purpose.COUNSELLOR,
        clinic_id=clinic.pk,
        wraps=wraps,
        recipient_key_id=recipient_key_id,
    )


def conversation_set_status(*, conversation: Conversation, status: str) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(status=status)


def conversation_mark_read(*, conversation: Conversation, user: User) -> None:
    ConversationRead.objects.update_or_create(
        conversation=conversation, user=user, defaults={"read_at": Now()}
    )


def reporter_mark_read(*, conversation: Conversation) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(reporter_read_at=Now())
