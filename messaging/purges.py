"""The retention purges of both channels (clinics.retention runs them, hourly and by hand; the
periods are the personal-data declarations in messaging.personal_data): the counsellor chat's
after 31 days, clinic messages after two years, with their attachments.

Invariants:
- A message, a note and its wraps are gone once its `expires_at` has passed: `expires_at` was
  set to its creation plus the declared period, so "expired by now" is `expires_at <= now`,
  with now = cutoff + period. Reads already hide such rows (`ChatQuerySet.live`: `> now()`).
- Children before parents, one statement each, with the tables' names from `_meta`: Django's
  Collector would first SELECT every row of a batch, ciphertext included, to send signals
  nobody listens to; a plain `DELETE ... = ANY(%s)` reads nothing back. The foreign keys are
  checked by the database at commit, so a batch that forgot a child would fail whole.
- The message and conversation purges may run at the same time (each holds its own advisory
  lock: the hourly task may be on one while `purge_expired_messages` is on the other), so they
  take row locks in one order: messages, then their wraps. The
  message purge skips messages another transaction holds; the conversation purge waits for
  them, then finds them gone. Neither ever holds a wrap whose message the other holds.
- Whichever purge runs first, no wrap outlives its message and no message or read marker its
  conversation: the conversation purge deletes what the message purge has not reached yet.
- A clinic message's attachment file is deleted before its row, in the row's batch: a batch
  that fails after deleting files leaves expired rows without their files (invisible already,
  deleted by the next run), never a file without its row.
- An attachment stored by a request that died before its row was committed (a killed worker,
  a lost connection) is an orphan: the sweep of private files (`private_files.orphans_delete`,
  hourly; `attachment_orphans_delete` for this folder alone) removes files in the attachments'
  folder that no message names once they are older than any request can take.
- A batch commits without waiting for its WAL flush (`synchronous_commit` off for that
  transaction only), so that sends committing meanwhile wait less: a crash can undo only whole
  batches, with their counts, and the next run deletes those rows again.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db import connection, models

from clinics import retention
from messaging.models import (
    ChatNotification,
    ClinicMessage,
    ClinicWrap,
    Conversation,
    ConversationRead,
    Message,
    RetiredChatKey,
    Thread,
    ThreadRead,
    Wrap,
)
from messaging.thread_services import ATTACHMENT_FOLDER
from portal import private_files
from portal.personal_data import declaration_for

MESSAGES = "chat-messages"
CONVERSATIONS = "chat-conversations"
NOTIFICATIONS = "chat-notifications"
CLINIC_MESSAGES = "clinic-messages"
THREADS = "clinic-threads"
RETIRED_KEYS = "chat-retired-keys"
# The order purge_expired_messages runs them in.
CHAT_PURGES = (MESSAGES, CONVERSATIONS, CLINIC_MESSAGES, THREADS, RETIRED_KEYS, NOTIFICATIONS)


def _now(cutoff: datetime.datetime, model: type[models.Model]) -> datetime.datetime:
    """The run's now, back from its cutoff: a row's `expires_at` is its start plus the same
    declared period, so `expires_at <= now` is "started before the cutoff"."""
    return cutoff + declaration_for(model).retention


def messages_expired(cutoff: datetime.datetime) -> models.QuerySet:
    return Message.objects.filter(expires_at__lte=_now(cutoff, Message))


def _sql_names(model: type[models.Model], field: str) -> tuple[str, str]:
    """The quoted table and column of `model.field`, from _meta (the SQL follows a rename)."""
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), quote(model._meta.get_field(field).column)


def _delete_where(model: type[models.Model], field: str, ids: list) -> int:
    """DELETE the rows whose `field` is one of `ids`: one statement, nothing read back. The ids
    travel as one array literal: psycopg would quote a Python list item by item in Python,
    which cost a batch more than its DELETEs."""
    table, column = _sql_names(model, field)
    array_type = model._meta.get_field(field).db_type(connection)
    ids_literal = "{" + ",".join(map(str, ids)) + "}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {column} = ANY(%s::{array_type}[])",  # noqa: S608
            [ids_literal],
        )
        return cursor.rowcount


def _commit_without_waiting_for_flush() -> None:
    """The batch's commit does not wait for its WAL to reach the disk: sends committing
    meanwhile queue behind fewer flushes. A crash may undo the last batches (and their counts in
    the PurgeRun, saved in the same transactions); the next run deletes them again."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")


def messages_delete(pks: list) -> int:
    """One batch of expired messages (locked by the service), their wraps first; returns the
    messages deleted: the PurgeRun counts the rows of the declaration it enforces."""
    _commit_without_waiting_for_flush()
    _delete_where(Wrap, "message", pks)
    return _delete_where(Message, "id", pks)


def conversations_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Past their `expires_at` and holding no live message: a conversation's `expires_at`
    follows its newest message's, and one that lagged behind must not take a live message with
    it (the message purge and `live()` still keep that one's period exact)."""
    now = _now(cutoff, Conversation)
    live = Message.objects.filter(conversation=models.OuterRef("pk"), expires_at__gt=now)
    return Conversation.objects.filter(expires_at__lte=now).exclude(models.Exists(live))


def conversations_delete(pks: list) -> int:
    """One batch of expired conversations (locked by the service) with their remaining
    messages, wraps and read markers, in the batch's one transaction."""
    return _threads_delete(
        pks,
        thread_model=Conversation,
        message_model=Message,
        read_model=ConversationRead,
        field="conversation",
        messages_delete=messages_delete,
    )


def _threads_delete(
    pks: list,
    *,
    thread_model: type[models.Model],
    message_model: type[models.Model],
    read_model: type[models.Model],
    field: str,
    messages_delete: Callable[[list], int],
) -> int:
    """A batch of threads (conversations or clinic threads) with what they still hold."""
    _commit_without_waiting_for_flush()
    table, thread = _sql_names(message_model, field)
    pk = connection.ops.quote_name(message_model._meta.pk.column)
    with connection.cursor() as cursor:
        # Lock the messages before touching a wrap (the order the message purge takes), and
        # wait for those the message purge holds: once it commits they are simply gone.
        cursor.execute(
            f"SELECT {pk} FROM {table} WHERE {thread} = ANY(%s) "  # noqa: S608
            f"ORDER BY {pk} FOR UPDATE",
            [pks],
        )
        message_ids = [row[0] for row in cursor.fetchall()]
    if message_ids:
        messages_delete(message_ids)
    _delete_where(read_model, field, pks)
    return _delete_where(thread_model, "id", pks)


def retired_keys_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Replaced longer ago than any message it signed can live."""
    return RetiredChatKey.objects.filter(retired_at__lt=cutoff)


def notifications_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Nothing told and nothing waiting within the period: the row only says when a counsellor
    was last e-mailed, which is no use after it."""
    return ChatNotification.objects.filter(
        models.Q(last_sent_at__isnull=True) | models.Q(last_sent_at__lt=cutoff),
        models.Q(pending_since__isnull=True) | models.Q(pending_since__lt=cutoff),
    )


def clinic_messages_expired(cutoff: datetime.datetime) -> models.QuerySet:
    return ClinicMessage.objects.filter(expires_at__lte=_now(cutoff, ClinicMessage))


def clinic_messages_delete(pks: list) -> int:
    """One batch of expired clinic messages (locked by the service): their attachment files,
    their wraps, then the messages."""
    _commit_without_waiting_for_flush()
    files = ClinicMessage.objects.filter(pk__in=pks).exclude(attachment="")
    for name in files.values_list("attachment", flat=True):
        private_files.delete(name=name)
    _delete_where(ClinicWrap, "message", pks)
    return _delete_where(ClinicMessage, "id", pks)


def threads_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Past their `expires_at` and holding no live message (as conversations_expired)."""
    now = _now(cutoff, Thread)
    live = ClinicMessage.objects.filter(thread=models.OuterRef("pk"), expires_at__gt=now)
    return Thread.objects.filter(expires_at__lte=now).exclude(models.Exists(live))


def threads_delete(pks: list) -> int:
    """One batch of expired threads with their remaining messages (and files), wraps and read
    markers."""
    return _threads_delete(
        pks,
        thread_model=Thread,
        message_model=ClinicMessage,
        read_model=ThreadRead,
        field="thread",
        messages_delete=clinic_messages_delete,
    )


def register_all() -> None:
    retention.register(
        name=MESSAGES,
        declaration=declaration_for(Message),
        expired=messages_expired,
        action=messages_delete,
        # Each batch is the next range of the expires_at index, not a sort of every expired row.
        order="expires_at",
    )
    retention.register(
        name=CONVERSATIONS,
        declaration=declaration_for(Conversation),
        expired=conversations_expired,
        action=conversations_delete,
        order="expires_at",
    )
    retention.register(
        name=CLINIC_MESSAGES,
        declaration=declaration_for(ClinicMessage),
        expired=clinic_messages_expired,
        action=clinic_messages_delete,
        order="expires_at",
    )
    retention.register(
        name=THREADS,
        declaration=declaration_for(Thread),
        expired=threads_expired,
        action=threads_delete,
        order="expires_at",
    )
    retention.register(
        name=RETIRED_KEYS,
        declaration=declaration_for(RetiredChatKey),
        expired=retired_keys_expired,
        order="retired_at",
    )
    retention.register(
        name=NOTIFICATIONS,
        declaration=declaration_for(ChatNotification),
        expired=notifications_expired,
    )
    private_files.folder_owner_register(folder=ATTACHMENT_FOLDER, named=attachments_named)


# Kept for the callers that name it here: the one age is private_files'.
ORPHAN_AGE = private_files.ORPHAN_AGE


def attachments_named(names: list[str]) -> set[str]:
    """Of these attachment files, those a clinic message names (the rest are orphans)."""
    return set(
        ClinicMessage.objects.filter(attachment__in=names).values_list("attachment", flat=True)
    )


def attachment_orphans_delete(*, now: datetime.datetime | None = None) -> int:
    """Delete the attachment files no clinic message names, older than ORPHAN_AGE; returns how
    many (the sweep of private_files, for this folder alone)."""
    return private_files.orphans_delete(folders=[ATTACHMENT_FOLDER], now=now)
