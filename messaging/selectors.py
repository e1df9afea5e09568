"""The counsellor chat's reads. Every one goes through `live()`: an expired row is invisible
before the purge deletes it (E2EE.md check 9). Query counts do not grow with the number of
conversations or messages (bench: inbox_queries_10 == inbox_queries_1000)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from clinics.models import Clinic, Membership, User
from messaging.models import (
    PURPOSE_ROLES,
    ROLE_PURPOSE,
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
    SealedWrap,
    UsageMonth,
    Wrap,
)
from messaging.payloads import b64, public_keys

# Usage figures are shown only for a code with this many distinct reporters or more, so that a
# figure never points at one person (PRODUCT.md, "5 users").
USAGE_MINIMUM_REPORTERS = 5
INBOX_PAGE_SIZE = 50
# A poll returns what was written since its cursor minus this overlap: a message committed a
# moment after a later one is still delivered; the client drops what it already has by id.
POLL_OVERLAP = datetime.timedelta(seconds=5)


def key_directory(clinic: Clinic | int, purpose: Purpose = Purpose.COUNSELLOR) -> dict:
    """What a client needs to decide whom to wrap to: the clinic's certifying key and the keys
    certified for the purpose's channel now, with their certificates (the client verifies
    each)."""
    clinic_key = ClinicChatKey.objects.for_clinic(clinic).first()
    certificates = (
        Certificate.objects.for_clinic(clinic)
        .current(purpose)
        .select_related("staff_key__user")
        .order_by("staff_key__key_id")
    )
    # Clinic messages name the team member a message is from (a patient writes to people); the
    # counsellor chat's reporters get no counsellor's name.
    named = purpose == Purpose.TEAM
    return {
        "clinic_key": None
        if clinic_key is None
        else {"key_id": clinic_key.key_id, "sig_public": b64(clinic_key.sig_public)},
        "staff": [
            {
                **public_keys(c.staff_key.key_id, c.staff_key.kem_public, c.staff_key.sig_public),
                "purpose": c.purpose,
                "certificate": b64(c.signature),
                **({"name": str(c.staff_key.user)} if named else {}),
            }
            for c in certificates
        ],
    }


def staff_key_of(user: User) -> ChatKey | None:
    return ChatKey.objects.filter(user=user).first()


def key_and_certified(membership: Membership, purpose: Purpose) -> tuple[ChatKey | None, bool]:
    """The signed-in member's key set and whether it may receive the purpose's channel in their
    clinic now, in one query (every page of the channel asks both). `membership` is the active
    one the request runs under: its role is the half of CertificateQuerySet.current that is
    about the holder, so only the certificate itself is looked up."""
    keys = ChatKey.objects.filter(user_id=membership.user_id)
    if membership.role not in PURPOSE_ROLES[purpose]:
        return keys.first(), False
    certificates = Certificate.objects.for_clinic(membership.clinic_id).valid()
    mine = certificates.filter(purpose=purpose, staff_key=OuterRef("pk"))
    found = keys.annotate(certified=Exists(mine)).first()
    return found, bool(found and found.certified)


def _unread_for(user: User) -> Exists:
    read_at = ConversationRead.objects.filter(conversation=OuterRef("conversation"), user=user)
    return Exists(
        Message.objects.live()
        .filter(conversation=OuterRef("pk"), from_reporter=True)
        .exclude(Exists(read_at.filter(read_at__gte=OuterRef("created_at"))))
    )


@dataclass(frozen=True)
class InboxRow:
    id: uuid.UUID
    status: str
    created_at: datetime.datetime
    last_message_at: datetime.datetime
    unread: bool
    # The newest reporter message with this counsellor's wrap, so the browser can show the
    # nickname inside it (the server cannot), and the reporter's public keys it is checked with.
    latest: dict | None
    reporter_key_id: str = ""
    reporter_kem_public: bytes = b""
    reporter_sig_public: bytes = b""


def inbox(
    clinic: Clinic, user: User, organisation: Organisation, status: str, *, key_id: str
) -> list[InboxRow]:
    """An organisation's open or closed conversations: unread first, newest activity first."""
    latest = (
        Message.objects.live()
        .filter(conversation=OuterRef("pk"), from_reporter=True)
        .order_by("-created_at")
    )
    conversations = (
        Conversation.objects.live()
        .for_clinic(clinic)
        .filter(organisation=organisation, status=status)
        .annotate(unread=_unread_for(user), latest_id=Subquery(latest.values("pk")[:1]))
        .order_by("-unread", "-last_message_at")[:INBOX_PAGE_SIZE]
    )
    rows = list(conversations)
    latest_rows = {
        m["id"]: m
        for m in message_rows(Message.objects.filter(pk__in=[r.latest_id for r in rows]), key_id)
    }
    return [
        InboxRow(
            id=c.pk,
            status=c.status,
            created_at=c.created_at,
            last_message_at=c.last_message_at,
            unread=c.unread,
            latest=latest_rows.get(str(c.latest_id)),
            reporter_key_id=c.reporter_key_id,
            reporter_kem_public=bytes(c.reporter_kem_public),
            reporter_sig_public=bytes(c.reporter_sig_public),
        )
        for c in rows
    ]


def inbox_counts(clinic: Clinic, user: User) -> dict[int, int]:
    """Unread conversations per organisation (the tabs and the navigation's count)."""
    rows = (
        Conversation.objects.live()
        .for_clinic(clinic)
        .filter(_unread_for(user))
        .values_list("organisation_id", flat=True)
    )
    counts: dict[int, int] = {}
    for organisation_id in rows:
        counts[organisation_id] = counts.get(organisation_id, 0) + 1
    return counts


def unread_total(clinic: Clinic, user: User) -> int:
    return Conversation.objects.live().for_clinic(clinic).filter(_unread_for(user)).count()


def sealed_rows(
    messages: QuerySet,
    *,
    wrap_model: type[SealedWrap],
    key_id: str,
    thread_field: str,
    outside_field: str,
    limit: int | None = None,
    extra: tuple[str, ...] = (),
) -> list[dict]:
    """Messages of either channel as the browser reads them (docs/chat-protocol.md), each with
    the wrap for `key_id` (or none): the one shape both channels' pages open. The thread's id
    is `{thread_field}_id`, the outside party's flag `outside_field`; `extra` columns are
    passed through as they are."""
    my_wrap = wrap_model.objects.filter(message=OuterRef("pk"), recipient_key_id=key_id)
    fields = (
        "id", f"{thread_field}_id", "kind", outside_field, "sender_key_id", "iv", "cipher",
        "signature", "recipients", "created_at", "wrap", *extra,
    )  # fmt: skip
    rows = (
        messages.live()
        .annotate(wrap=Subquery(my_wrap.values("sealed")[:1]))
        .order_by("created_at", "pk")
        .values(*fields)
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        {
            "id": str(row["id"]),
            f"{thread_field}_id": str(row[f"{thread_field}_id"]),
            "kind": row["kind"],
            outside_field: row[outside_field],
            "sender_key_id": row["sender_key_id"],
            "iv": b64(row["iv"]),
            "cipher": b64(row["cipher"]),
            "signature": b64(row["signature"]),
            "recipients": row["recipients"].split(","),
            "created_at": row["created_at"].isoformat(),
            # Only the reader's own wrap.
            "wraps": {key_id: b64(row["wrap"])} if row["wrap"] is not None else {},
            **{name: row[name] for name in extra},
        }
        for row in rows
    ]


def message_rows(messages: QuerySet, key_id: str, *, limit: int | None = None) -> list[dict]:
    """Counsellor-chat messages as the browser reads them."""
    return sealed_rows(
        messages,
        wrap_model=Wrap,
        key_id=key_id,
        thread_field="conversation",
        outside_field="from_reporter",
        limit=limit,
    )


def conversation_messages(
    conversation: Conversation,
    *,
    key_id: str,
    since: datetime.datetime | None,
    with_notes: bool,
) -> list[dict]:
    messages = Message.objects.filter(conversation=conversation)
    if not with_notes:
        messages = messages.filter(kind=MessageKind.BODY)
    if since is not None:
        messages = messages.filter(created_at__gte=since - POLL_OVERLAP)
    return message_rows(messages, key_id)


def live_conversation(clinic: Clinic, conversation_id: uuid.UUID) -> Conversation | None:
    return Conversation.objects.live().for_clinic(clinic).filter(pk=conversation_id).first()


def rewrap_pending(clinic: Clinic, *, my_key_id: str, limit: int = 200) -> dict:
    """Live messages of the clinic that this counsellor can open but a certified counsellor key
    cannot yet: the work a counsellor's browser does for a colleague who joined later."""
    return rewrap_work(
        directory=key_directory(clinic),
        my_key_id=my_key_id,
        messages=Message.objects.filter(conversation__clinic=clinic),
        wrap_model=Wrap,
        rows=lambda missing: message_rows(missing, my_key_id, limit=limit),
    )


def rewrap_work(
    *,
    directory: dict,
    my_key_id: str,
    messages: QuerySet,
    wrap_model: type[SealedWrap],
    rows: Callable[[QuerySet], list[dict]],
) -> dict:
    """For each other key of a channel's directory, the `messages` wrapped to mine but not yet
    to it (as `rows` shapes them): re-wrap, the same for both channels."""
    work = []
    for candidate in directory["staff"]:
        key_id = candidate["key_id"]
        if key_id == my_key_id:
            continue
        mine = wrap_model.objects.filter(message=OuterRef("pk"), recipient_key_id=my_key_id)
        theirs = wrap_model.objects.filter(message=OuterRef("pk"), recipient_key_id=key_id)
        found = rows(messages.filter(Exists(mine)).exclude(Exists(theirs)))
        if found:
            work.append({"recipient_key_id": key_id, "messages": found})
    return {"directory": directory, "work": work}


@dataclass(frozen=True)
class UsageRow:
    code: str
    retired: bool
    reporters: int
    months: list[UsageMonth]

    @property
    def is_shown(self) -> bool:
        return self.reporters >= USAGE_MINIMUM_REPORTERS


def usage(clinic: Clinic) -> list[tuple[Organisation, list[UsageRow]]]:
    """Per organisation and code: conversations started and active reporters per month, from
    counts only. A conversation is one pseudonymous reporter, so a code's distinct reporters are
    the conversations started with it."""
    codes = (
        JoinCode.objects.for_clinic(clinic)
        .select_related("organisation")
        .order_by("organisation__name", "-created_at")
    )
    months: dict[int, list[UsageMonth]] = {}
    for month in UsageMonth.objects.for_clinic(clinic).order_by("-month"):
        months.setdefault(month.join_code_id, []).append(month)
    result: dict[int, tuple[Organisation, list[UsageRow]]] = {}
    for code in codes:
        code_months = months.get(code.pk, [])
        row = UsageRow(
            code=code.code,
            retired=code.retired_at is not None,
            reporters=sum(m.conversations_started for m in code_months),
            months=code_months,
        )
        result.setdefault(code.organisation_id, (code.organisation, []))[1].append(row)
    return list(result.values())


def organisations(clinic: Clinic) -> QuerySet:
    """The clinic's organisations, each with the code that admits reporters now (or None)."""
    admitting = (
        JoinCode.objects.admitting().filter(organisation=OuterRef("pk")).order_by("-created_at")
    )
    return Organisation.objects.for_clinic(clinic).annotate(
        code=Subquery(admitting.values("code")[:1])
    )


def conversation_status_choices() -> list[tuple[str, str]]:
    return list(ConversationStatus.choices)


@dataclass(frozen=True)
class StaffKeyRow:
    """A member of the clinic whose role has a purpose, their key set (if any) and its
    certificate for that purpose (if any, revoked or not)."""

    user: User
    purpose: Purpose
    staff_key: ChatKey | None
    certificate: Certificate | None

    @property
    def is_waiting(self) -> bool:
        return self.staff_key is not None and (
            self.certificate is None or self.certificate.revoked_at is not None
        )


def staff_key_rows(clinic: Clinic) -> list[StaffKeyRow]:
    """Two queries whatever the size of the staff: the active members in a role that has a
    purpose (with their key sets), and the clinic's certificates."""
    members = (
        Membership.objects.active()
        .for_clinic(clinic)
        .filter(role__in=list(ROLE_PURPOSE))
        .select_related("user", "user__chat_key")
        .order_by("user__display_name", "user__email")
    )
    certificates = {
        (c.staff_key_id, c.purpose): c
        for c in Certificate.objects.for_clinic(clinic).only("staff_key", "purpose", "revoked_at")
    }
    rows = []
    for membership in members:
        purpose = ROLE_PURPOSE[membership.role]
        staff_key = getattr(membership.user, "chat_key", None)
        certificate = certificates.get((staff_key.pk, purpose)) if staff_key else None
        rows.append(StaffKeyRow(membership.user, purpose, staff_key, certificate))
    return rows
