"""Rows of the counsellor chat as the database would hold them: key ids of 32 hex digits,
65-byte public keys, random bytes for ciphertext, wraps and signatures (the server never reads
them), `expires_at` = `created_at` + the declared period."""

from __future__ import annotations

import datetime
import os
import secrets
import uuid

import factory
from django.utils import timezone

from clinics.tests.factories import ClinicFactory
from messaging.models import (
    Conversation,
    ConversationRead,
    JoinCode,
    Message,
    MessageKind,
    Organisation,
    Wrap,
)
from portal.personal_data import declaration_for


def period() -> datetime.timedelta:
    """The chat's retention, from its declaration (never a second 31)."""
    return declaration_for(Message).retention


def expiry(created_at: datetime.datetime) -> datetime.datetime:
    """`created_at` plus the period as the database adds it on the portal's UTC connection
    (31 × 24 hours): Python's aware arithmetic would add local wall-clock days instead, an hour
    off across a daylight-saving change."""
    return created_at.astimezone(datetime.UTC) + period()


def key_id() -> str:
    return secrets.token_hex(16)


def public_key() -> bytes:
    """Shaped like an uncompressed P-256 point (0x04, x, y); not a point on the curve."""
    return b"\x04" + os.urandom(64)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    clinic = factory.SubFactory(ClinicFactory)
    name = factory.Sequence(lambda n: f"Organisation {n}")


class JoinCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JoinCode

    organisation = factory.SubFactory(OrganisationFactory)
    clinic = factory.SelfAttribute("organisation.clinic")
    code = factory.Sequence(lambda n: f"JOIN-{n:06d}")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    organisation = factory.SubFactory(OrganisationFactory)
    clinic = factory.SelfAttribute("organisation.clinic")
    join_code = factory.SubFactory(
        JoinCodeFactory, organisation=factory.SelfAttribute("..organisation")
    )
    reporter_key_id = factory.LazyFunction(key_id)
    reporter_kem_public = factory.LazyFunction(public_key)
    reporter_sig_public = factory.LazyFunction(public_key)
    recovery_lookup = factory.LazyFunction(lambda: secrets.token_hex(32))
    sealed_private = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(timezone.now)
    last_message_at = factory.SelfAttribute("created_at")
    expires_at = factory.LazyAttribute(lambda o: expiry(o.last_message_at))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    id = factory.LazyFunction(uuid.uuid4)
    conversation = factory.SubFactory(ConversationFactory)
    kind = MessageKind.BODY
    from_reporter = True
    sender_key_id = factory.SelfAttribute("conversation.reporter_key_id")
    iv = factory.LazyFunction(lambda: os.urandom(12))
    cipher = factory.LazyFunction(lambda: os.urandom(256 + 16))  # a 256-byte bucket + GCM tag
    signature = factory.LazyFunction(lambda: os.urandom(64))
    recipients = ""
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: expiry(o.created_at))


class WrapFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wrap

    message = factory.SubFactory(MessageFactory)
    recipient_key_id = factory.LazyFunction(key_id)
    sealed = factory.LazyFunction(lambda: os.urandom(113))  # HPKE enc (65) + key (32) + tag


def message(conversation: Conversation, created_at: datetime.datetime, **fields: object) -> Message:
    """An unsaved message of `conversation` written at `created_at` (for bulk_create)."""
    return Message(
        **{
            "id": uuid.uuid4(),
            "conversation": conversation,
            "kind": MessageKind.BODY,
            "from_reporter": True,
            "sender_key_id": conversation.reporter_key_id,
            "iv": os.urandom(12),
            "cipher": os.urandom(256 + 16),  # one 256-byte bucket and the GCM tag
            "signature": os.urandom(64),
            "recipients": "",
            "created_at": created_at,
            "expires_at": expiry(created_at),
            **fields,
        }
    )


def messages_written(
    conversation: Conversation,
    created_at: datetime.datetime,
    *,
    count: int = 1,
    recipients: int = 3,
    kind: str = MessageKind.BODY,
) -> list[Message]:
    """`count` messages written at `created_at`, each wrapped to `recipients` key sets, saved
    with one INSERT per table."""
    keys = sorted(key_id() for _ in range(recipients))
    messages = Message.objects.bulk_create(
        message(conversation, created_at, kind=kind, recipients=",".join(keys))
        for _ in range(count)
    )
    Wrap.objects.bulk_create(
        Wrap(message=m, recipient_key_id=key, sealed=os.urandom(113))
        for m in messages
        for key in keys
    )
    return messages


def read_marker(conversation: Conversation, user: object) -> ConversationRead:
    return ConversationRead.objects.create(
        conversation=conversation, user=user, read_at=conversation.last_message_at
    )
