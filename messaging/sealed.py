"""The one message format's rules on the server, for both channels (the counsellor chat and
clinic messages; docs/chat-protocol.md, "Messages"). The server relays ciphertext it cannot
read, so it enforces what it can before a row is written:

- the sender sends as its own key, and its key is among the recipients;
- every recipient is a key the channel allows for this thread, and the outside party (the
  reporter, the patient) is one of them for a message meant for them;
- at least one key on the clinic's side can read the message;
- a message id is used once: the same message sent again is the stored row (idempotent), the
  id with other content or in another thread is refused and nothing changes;
- `expires_at` is the database clock plus the period declared for the message's model
  (messaging.personal_data), never the web server's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import DurationField, Model, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from messaging.models import Certificate, MessageKind, Purpose, SealedMessage, SealedWrap
from messaging.payloads import MessageIn, Refused
from portal.personal_data import declaration_for


@dataclass(frozen=True)
class Sender:
    key_id: str
    from_reporter: bool  # the outside party: the reporter, or in a clinic thread the patient


def expires_from_now(model: type[Model]) -> CombinedExpression:
    """Now() + the period declared for `model`, evaluated by the database when it is written."""
    return Now() + Value(declaration_for(model).retention, output_field=DurationField())


@dataclass(frozen=True)
class Wording:
    """How a channel names its parties when it refuses a recipient list."""

    outside_missing: str  # a message not wrapped to the reporter / the patient
    nobody_inside: str  # no key on the clinic's side can read it


def recipients_check(
    payload: MessageIn,
    *,
    sender: Sender,
    allowed: set[str],
    outside_key_id: str | None,
    wording: Wording,
) -> None:
    """Refused unless the recipient list is one the channel may store (see the module)."""
    if payload.sender_key_id != sender.key_id:
        raise Refused(_("The message names another sender key."), 403)
    recipients = set(payload.recipients)
    if not recipients <= allowed:
        raise Refused(_("The message is wrapped to a key that may not read it."), 403)
    if sender.key_id not in recipients:
        raise Refused(_("The sender's own key must be among the recipients."))
    if payload.kind == MessageKind.BODY and outside_key_id not in recipients:
        raise Refused(wording.outside_missing)
    if not recipients - {outside_key_id}:
        raise Refused(wording.nobody_inside, 409)


def sealed_store(
    *,
    model: type[SealedMessage],
    wrap_model: type[SealedWrap],
    payload: MessageIn,
    thread_field: str,
    thread_id: object,
    fields: dict,
    then: Callable[[SealedMessage], None] = lambda message: None,
) -> tuple[SealedMessage, bool]:
    """Store the message and its wraps, then `then(message)` (the thread's own bookkeeping), in
    one transaction; (message, created). A resend of a stored id answers with the stored row:
    the INSERT finds the id taken, so the usual send pays no lookup beforehand."""
    try:
        with transaction.atomic():
            message = model.objects.create(
                id=payload.id,
                kind=payload.kind,
                sender_key_id=payload.sender_key_id,
                iv=payload.iv,
                cipher=payload.cipher,
                signature=payload.signature,
                recipients=",".join(payload.recipients),
                expires_at=expires_from_now(model),
                **{f"{thread_field}_id": thread_id},
                **fields,
            )
            wrap_model.objects.bulk_create(
                wrap_model(message=message, recipient_key_id=key_id, sealed=sealed)
                for key_id, sealed in payload.wraps.items()
            )
            then(message)
    except IntegrityError:
        # A resend, or the same id twice at once: the first one stored it.
        existing = model.objects.filter(pk=payload.id).first()
        if existing is None:
            raise
        same = (
            getattr(existing, f"{thread_field}_id") == thread_id
            and bytes(existing.cipher) == payload.cipher
            and bytes(existing.signature) == payload.signature
        )
        if not same:
            raise Refused(_("This message id is already used."), 409) from None
        return existing, False
    return message, True


def wraps_add(
    *,
    model: type[SealedMessage],
    wrap_model: type[SealedWrap],
    thread_field: str,
    purpose: Purpose,
    clinic_id: int,
    wraps: dict,
    recipient_key_id: str,
) -> int:
    """Re-wrap: a reader's browser gives a newly certified colleague's key the retained
    messages' keys. Only to a key certified for the channel now, only for live messages of this
    clinic, only where that key has no wrap yet; returns how many were added."""
    certified = (
        Certificate.objects.for_clinic(clinic_id)
        .current(purpose)
        .filter(staff_key__key_id=recipient_key_id)
        .exists()
    )
    if not certified:
        raise Refused(_("This key is not certified by the clinic."), 403)
    messages = set(
        model.objects.live()
        .filter(pk__in=list(wraps), **{f"{thread_field}__clinic_id": clinic_id})
        .values_list("pk", flat=True)
    )
    new = [
        wrap_model(message_id=pk, recipient_key_id=recipient_key_id, sealed=sealed)
        for pk, sealed in wraps.items()
        if pk in messages
    ]
    return len(wrap_model.objects.bulk_create(new, ignore_conflicts=True))
