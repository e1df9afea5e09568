"""Clinic messages' reads: the team inbox, one thread's messages and the work of re-wrapping.
Every read goes through `live()` (an expired row is invisible before the purge deletes it), and
no query count grows with the number of threads or messages (bench: team_inbox_queries_10 ==
team_inbox_queries_1000)."""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    QuerySet,
)

from clinics.models import Clinic, Membership, User
from messaging.models import (
    PURPOSE_ROLES,
    ClinicMessage,
    ClinicWrap,
    Purpose,
    RetiredChatKey,
    Thread,
    ThreadStatus,
)
from messaging.selectors import POLL_OVERLAP, key_directory, rewrap_work, sealed_rows
from patients.models import Patient
from patients.selectors import patient_list

TEAM_INBOX_PAGE_SIZE = 25


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


# The team inbox in one statement: the clinic's live threads someone wrote in, filtered, with
# each one's patient name, assignee and unread flag (the patient wrote after this member's
# ThreadRead: one probe of its unique (thread, user) index), unread first and newest activity
# first, paged, each row with the length of the whole list. Built by the ORM, the same page
# cost more to build and compile than to run, on every visit (as the dashboard's list did).
# Every table is held to the clinic.
_UNREAD = "coalesce(t.last_patient_message_at > coalesce(r.read_at, '-infinity'), false)"
_INBOX_SQL = """
SELECT {columns}, {unread} AS unread, count(*) OVER () AS listed_count
FROM messaging_thread t
JOIN patients_patient p ON p.id = t.patient_id AND p.clinic_id = t.clinic_id
LEFT JOIN messaging_threadread r ON r.thread_id = t.id AND r.user_id = %s
LEFT JOIN clinics_user a ON a.id = t.assigned_to_id
WHERE t.clinic_id = %s AND t.expires_at > now() AND t.status = %s
    AND t.last_message_at IS NOT NULL {mine} {matching}
ORDER BY unread DESC, t.last_message_at DESC, t.id
LIMIT %s OFFSET %s
"""
# What a row of the page needs: a Patient (name only) carrying its thread's fields.
_PAGE_COLUMNS = (
    "p.id, p.clinic_id, p.given_name, p.family_name, t.id AS thread_id, t.status, "
    "t.last_message_at, t.assigned_to_id, coalesce(nullif(a.display_name, ''), a.email) "
    "AS assignee"
)
# What the poll digests: no name.
_FINGERPRINT_COLUMNS = "t.id, t.last_message_at, t.status, t.assigned_to_id"
_UNREAD_TOTAL_SQL = """
SELECT count(*) FROM messaging_thread t
LEFT JOIN messaging_threadread r ON r.thread_id = t.id AND r.user_id = %s
WHERE t.clinic_id = %s AND t.expires_at > now() AND {unread}
"""


def _inbox_statement(
    clinic: Clinic, user: User, wanted: TeamInboxFilter, columns: str, page: int
) -> tuple[str, list] | None:
    """The inbox's statement and parameters for one page (None: a search with no name to look
    for finds nobody)."""
    mine, matching, matching_params = "", "", []
    if wanted.mine:
        mine = "AND t.assigned_to_id = %s"
    if wanted.search:
        found = patient_list(clinic=clinic, search=wanted.search)
        if found.query.is_empty():
            return None
        sql, search_params = found.values("id").query.sql_with_params()
        matching, matching_params = f"AND t.patient_id IN ({sql})", list(search_params)
    statement = _INBOX_SQL.format(columns=columns, unread=_UNREAD, mine=mine, matching=matching)
    params = [user.pk, clinic.pk, wanted.status]
    params += [user.pk] if wanted.mine else []
    params += [*matching_params, TEAM_INBOX_PAGE_SIZE, (page - 1) * TEAM_INBOX_PAGE_SIZE]
    return statement, params


class _Listed(Sequence):
    """A page's rows as a paginator sees them: the rows it has and the list's length."""

    def __init__(self, rows: list, count: int) -> None:
        self.rows, self.count = rows, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int | slice) -> object:
        return self.rows[index]


def team_inbox(clinic: Clinic, user: User, wanted: TeamInboxFilter) -> Page:
    """One page of the team inbox: one statement. Each row is the thread's patient (only the
    name is read and decrypted) with `thread_id`, `status`, `last_message_at`,
    `assigned_to_id`, `assignee` and `unread`. A page number past the end gives the first."""
    for number in dict.fromkeys((wanted.page, 1)):
        found = _inbox_statement(clinic, user, wanted, _PAGE_COLUMNS, number)
        rows = list(Patient.objects.raw(*found)) if found else []
        if rows or number == 1:
            break
    count = rows[0].listed_count if rows else 0
    paginator = Paginator(_Listed(rows, count), TEAM_INBOX_PAGE_SIZE)
    return paginator._get_page(rows, number, paginator)


def team_inbox_fingerprint(clinic: Clinic, user: User, wanted: TeamInboxFilter) -> str:
    """What the inbox's poll answers: a digest of the shown page's threads, their activity,
    status, assignee and unread state; it changes when the page would, and names nobody."""
    found = _inbox_statement(clinic, user, wanted, _FINGERPRINT_COLUMNS, wanted.page)
    if found is None:
        return fingerprint_of([])
    with connection.cursor() as cursor:
        cursor.execute(*found)
        return fingerprint_of(row[:5] for row in cursor.fetchall())


def page_fingerprint(page: Page) -> str:
    """The same digest, of a page already read (the inbox page itself: no second query)."""
    return fingerprint_of(
        (r.thread_id, r.last_message_at, r.status, r.assigned_to_id, r.unread) for r in page
    )


def fingerprint_of(rows: Iterable[tuple]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:32]


def team_unread_total(clinic: Clinic, user: User) -> int:
    """Threads with a patient message this member has not read (the navigation's count)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD_TOTAL_SQL.format(unread=_UNREAD), [user.pk, clinic.pk])
        return cursor.fetchone()[0]


def team_members(clinic: Clinic) -> QuerySet[Membership]:
    """The clinic's team for clinic messages (its active professionals and admins), by name:
    whom a thread may be assigned to."""
    return (
        Membership.objects.active()
        .for_clinic(clinic)
        .filter(role__in=PURPOSE_ROLES[Purpose.TEAM])
        .select_related("user")
        .order_by("user__display_name", "user__email")
    )


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
