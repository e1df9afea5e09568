"""Clinic messages' reads: the team inbox, one thread's messages and the work of re-wrapping.
Every read goes through `live()` (an expired row is invisible before the purge deletes it), and
no query count grows with the number of threads or messages (bench: team_inbox_queries_10 ==
team_inbox_queries_1000)."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, QuerySet

from clinics.models import Clinic, User
from messaging.models import (
    ClinicMessage,
    ClinicWrap,
    Purpose,
    RetiredChatKey,
    Thread,
    ThreadRead,
    ThreadStatus,
)
from messaging.selectors import POLL_OVERLAP, key_directory, rewrap_work, sealed_rows
from patients.models import Patient
from patients.selectors import patient_list

TEAM_INBOX_PAGE_SIZE = 50


@dataclass(frozen=True)
class TeamInboxFilter:
    """What the team inbox shows: a status, optionally only threads assigned to the viewer,
    optionally the patients a name search finds (through the patients' blind index)."""

    status: str = ThreadStatus.OPEN
    mine: bool = False
    search: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query: dict) -> TeamInboxFilter:
        status = query.get("status", ThreadStatus.OPEN)
        try:
            page = max(1, int(query.get("page", 1)))
        except (TypeError, ValueError):
            page = 1
        return cls(
            status=status if status in ThreadStatus.values else ThreadStatus.OPEN,
            mine=query.get("mine") == "1",
            search=(query.get("q") or "").strip()[:100],
            page=page,
        )


def _unread_for(user: User) -> Exists:
    """A live patient message newer than this member's last read of the thread."""
    read = ThreadRead.objects.filter(thread=OuterRef("thread"), user=user)
    return Exists(
        ClinicMessage.objects.live()
        .filter(thread=OuterRef("pk"), from_patient=True)
        .exclude(Exists(read.filter(read_at__gte=OuterRef("created_at"))))
    )


def _team_threads(clinic: Clinic, user: User, wanted: TeamInboxFilter) -> QuerySet[Thread]:
    """The clinic's live threads that hold a live message, as `wanted` filters them, unread
    first and newest activity first."""
    threads = (
        Thread.objects.live()
        .for_clinic(clinic)
        .filter(status=wanted.status)
        .filter(Exists(ClinicMessage.objects.live().filter(thread=OuterRef("pk"))))
    )
    if wanted.mine:
        threads = threads.filter(assigned_to=user)
    if wanted.search:
        threads = threads.filter(
            patient__in=patient_list(clinic=clinic, search=wanted.search).values("pk")
        )
    return threads.annotate(unread=_unread_for(user)).order_by("-unread", "-last_message_at", "pk")


def team_inbox(clinic: Clinic, user: User, wanted: TeamInboxFilter) -> Page:
    """One page of the team inbox, each thread with its patient, assignee and `unread`: two
    queries, whatever the clinic holds (one page's names are decrypted, in Python)."""
    threads = _team_threads(clinic, user, wanted).select_related("patient", "assigned_to")
    paginator = Paginator(threads.defer(*_PATIENT_FIELDS_NOT_SHOWN), TEAM_INBOX_PAGE_SIZE)
    return paginator.get_page(wanted.page)


# The patient's encrypted fields the inbox does not show: not fetched, not decrypted.
_PATIENT_FIELDS_NOT_SHOWN = tuple(
    f"patient__{field.name}"
    for field in Patient._meta.concrete_fields
    if field.name not in {"id", "clinic", "given_name", "family_name", "date_of_birth"}
)


def team_inbox_fingerprint(clinic: Clinic, user: User, wanted: TeamInboxFilter) -> str:
    """What the inbox's poll answers: a digest of the shown page's threads, their activity,
    status, assignee and unread state; it changes when the page would, and names nobody."""
    page = _team_threads(clinic, user, wanted).values_list(
        "pk", "last_message_at", "status", "assigned_to_id", "unread"
    )
    start = (wanted.page - 1) * TEAM_INBOX_PAGE_SIZE
    digest = hashlib.sha256()
    for row in page[start : start + TEAM_INBOX_PAGE_SIZE]:
        digest.update(repr(row).encode())
    return digest.hexdigest()[:32]


def team_unread_total(clinic: Clinic, user: User) -> int:
    """Threads with a patient message this member has not read (the navigation's count)."""
    return Thread.objects.live().for_clinic(clinic).filter(_unread_for(user)).count()


def live_thread(clinic: Clinic, thread_id: uuid.UUID) -> Thread | None:
    return (
        Thread.objects.live()
        .for_clinic(clinic)
        .select_related("patient")
        .filter(pk=thread_id)
        .first()
    )


def thread_messages(thread: Thread, *, key_id: str, since: datetime.datetime | None) -> list[dict]:
    """The thread's messages as the browser opens them, with the reader's wrap, whether one has
    an attachment and its ciphertext's size (the file itself is fetched on its own)."""
    messages = ClinicMessage.objects.filter(thread=thread)
    if since is not None:
        messages = messages.filter(created_at__gte=since - POLL_OVERLAP)
    rows = sealed_rows(
        messages,
        wrap_model=ClinicWrap,
        key_id=key_id,
        thread_field="thread",
        outside_field="from_patient",
        extra=("attachment", "attachment_size"),
    )
    for row in rows:
        # Whether there is a file, never its storage name.
        row["attachment"] = bool(row["attachment"])
    return rows


def retired_keys_of(patient: Patient) -> QuerySet[RetiredChatKey]:
    """The key sets the record's account replaced, newest first (none without an account)."""
    return RetiredChatKey.objects.filter(user_id=patient.user_id).order_by("-retired_at")


def thread_message(thread: Thread, message_id: uuid.UUID) -> ClinicMessage | None:
    return ClinicMessage.objects.live().filter(thread=thread, pk=message_id).first()


def team_rewrap_pending(clinic: Clinic, *, my_key_id: str, limit: int = 200) -> dict:
    """Live messages of the clinic's threads this member can open but a certified colleague's
    key cannot yet: the work a member's browser does for a colleague who joined later."""
    return rewrap_work(
        directory=key_directory(clinic, Purpose.TEAM),
        my_key_id=my_key_id,
        messages=ClinicMessage.objects.filter(thread__clinic=clinic),
        wrap_model=ClinicWrap,
        rows=lambda missing: sealed_rows(
            missing,
            wrap_model=ClinicWrap,
            key_id=my_key_id,
            thread_field="thread",
            outside_field="from_patient",
            limit=limit,
        ),
    )
