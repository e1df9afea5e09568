"""The counsellor chat's retention (E2EE.md "Retention", checks 9 and 10): expired messages,
notes, wraps, conversations, read markers and notification marks go through clinics.retention,
exactly at 31 days, idempotently, safely when two runs meet or a run is killed."""

from __future__ import annotations

import datetime
import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Count
from django.db.models.functions import Now
from django.utils import timezone

from clinics import retention
from clinics.models import PurgeOutcome, PurgeRun
from clinics.tasks import retention_purge
from clinics.tests.factories import UserFactory
from messaging import purges
from messaging.models import (
    ChatNotification,
    Conversation,
    ConversationRead,
    Message,
    MessageKind,
    Wrap,
)
from messaging.purges import (
    CHAT_PURGES,
    CLINIC_MESSAGES,
    CONVERSATIONS,
    MESSAGES,
    NOTIFICATIONS,
    RETIRED_KEYS,
    THREADS,
)
from messaging.tests.factories import (
    ConversationFactory,
    MessageFactory,
    messages_written,
    period,
    read_marker,
)
from portal.personal_data import declaration_for


def purge(name: str) -> retention.Purge:
    return next(p for p in retention.purges() if p.name == name)


def days_ago(days: float, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=days)


def conversation_until(last_message_at: datetime.datetime, **fields: object) -> Conversation:
    """A conversation whose newest message was written at `last_message_at` (it expires one
    period later, as the send service sets it)."""
    return ConversationFactory(
        created_at=min(last_message_at, fields.pop("created_at", last_message_at)),
        last_message_at=last_message_at,
        **fields,
    )


def assert_no_orphans() -> None:
    """No wrap without its message, no message or read marker without its conversation: by
    query, then by the database's own foreign keys (deferred until commit, checked now)."""
    assert not Wrap.objects.exclude(message__in=Message.objects.all()).exists()
    assert not Message.objects.exclude(conversation__in=Conversation.objects.all()).exists()
    assert not ConversationRead.objects.exclude(
        conversation__in=Conversation.objects.all()
    ).exists()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def every_message_has_its_wraps(recipients: int = 3) -> bool:
    return not Message.objects.annotate(n=Count("wraps")).exclude(n=recipients).exists()


def test_the_chat_purges_take_their_period_from_the_declarations():
    """Check 10: one number in one place: each chat purge's cutoff is now minus its
    declaration's period (31 days), never a second 31 in the purge code."""
    now = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    for name, model in (
        (MESSAGES, Message),
        (CONVERSATIONS, Conversation),
        (NOTIFICATIONS, ChatNotification),
    ):
        assert purge(name).declaration is declaration_for(model)
        assert purge(name).cutoff(now) == now - declaration_for(model).retention
    assert period() == datetime.timedelta(days=31)
    assert (purge(MESSAGES).order, purge(CONVERSATIONS).order) == ("expires_at", "expires_at")


@pytest.mark.django_db
def test_rows_of_32_days_go_those_of_30_stay_and_a_second_run_deletes_nothing(cora):
    """Check 10 (time travel): messages and notes written 32 days ago go with their wraps, as
    does the conversation whose newest message they were, with its read marker; those written
    30 days ago stay with theirs; no orphan is left; the counts are the PurgeRun's; a second
    run deletes nothing."""
    now = timezone.now()
    gone = conversation_until(days_ago(32, now))
    messages_written(gone, days_ago(32, now), count=4)
    messages_written(gone, days_ago(32, now), kind=MessageKind.NOTE)
    read_marker(gone, cora)
    kept = conversation_until(days_ago(30, now), created_at=days_ago(32, now))
    messages_written(kept, days_ago(32, now), count=2)  # its old messages go, it stays
    young = messages_written(kept, days_ago(30, now), count=3)
    young += messages_written(kept, days_ago(30, now), kind=MessageKind.NOTE)
    read_marker(kept, cora)

    with time_machine.travel(now, tick=False):
        runs = {run.name: run for run in retention.purges_run(only=CHAT_PURGES)}

    assert not Message.objects.filter(created_at__lt=days_ago(31, now)).exists()
    assert set(Message.objects.values_list("pk", flat=True)) == {m.pk for m in young}
    assert Wrap.objects.count() == 3 * len(young) and every_message_has_its_wraps()
    assert list(Conversation.objects.all()) == [kept]
    assert list(ConversationRead.objects.values_list("conversation", flat=True)) == [kept.pk]
    assert_no_orphans()
    stored = {
        run.name: run for run in PurgeRun.objects.filter(pk__in=[r.pk for r in runs.values()])
    }
    counts = {
        name: (r.outcome, r.rows_expired, r.rows_purged, r.batches) for name, r in stored.items()
    }
    assert counts == {
        MESSAGES: (PurgeOutcome.DONE, 7, 7, 1),
        CONVERSATIONS: (PurgeOutcome.DONE, 1, 1, 1),
        CLINIC_MESSAGES: (PurgeOutcome.DONE, 0, 0, 0),
        THREADS: (PurgeOutcome.DONE, 0, 0, 0),
        RETIRED_KEYS: (PurgeOutcome.DONE, 0, 0, 0),
        NOTIFICATIONS: (PurgeOutcome.DONE, 0, 0, 0),
    }

    with time_machine.travel(now, tick=False):
        rerun = retention.purges_run(only=CHAT_PURGES)
    assert [(r.rows_expired, r.rows_purged, r.batches) for r in rerun] == [(0, 0, 0)] * len(
        CHAT_PURGES
    )
    assert Message.objects.count() == len(young) and Conversation.objects.count() == 1


@pytest.mark.django_db
def test_the_boundary_is_exact_to_the_second_across_a_dst_change():
    """Check 10 (time travel): written on 20 October (summer time, Amsterdam), a message
    expires 31 × 24 hours later, after the clocks went back on 25 October: it is kept one
    second before, purged at that second, and its expiry reads an hour earlier on the wall
    clock (elapsed time, not calendar days)."""
    amsterdam = zoneinfo.ZoneInfo("Europe/Amsterdam")
    written = datetime.datetime(2026, 10, 20, 12, 0, 0, tzinfo=amsterdam)
    conversation = conversation_until(written)
    [message] = messages_written(conversation, written)
    due = written.astimezone(datetime.UTC) + datetime.timedelta(hours=31 * 24)
    assert message.expires_at == due
    with connection.cursor() as cursor:  # as the database computes it when a message is sent
        cursor.execute("SELECT %s::timestamptz + %s::interval", [written, period()])
        assert cursor.fetchone()[0] == due
    assert due.astimezone(amsterdam).replace(tzinfo=None) == datetime.datetime(2026, 11, 20, 11)

    early = retention.purges_run(
        only=[MESSAGES, CONVERSATIONS], now=due - datetime.timedelta(seconds=1)
    )
    assert [run.rows_purged for run in early] == [0, 0]
    assert Message.objects.filter(pk=message.pk).exists() and Wrap.objects.count() == 3

    on_time = retention.purges_run(only=[MESSAGES, CONVERSATIONS], now=due)
    assert [run.rows_purged for run in on_time] == [1, 1]
    assert not Message.objects.exists() and not Wrap.objects.exists()
    assert not Conversation.objects.exists()


@pytest.mark.django_db
def test_an_expired_message_or_conversation_is_not_live_before_the_purge():
    """Check 9: a row whose `expires_at` has come by the database's clock is returned by no
    `live()` queryset (what every page and endpoint reads) though no purge has run; one a
    second younger is."""
    expired = conversation_until(days_ago(32))
    live = conversation_until(days_ago(1))
    at_now = MessageFactory(conversation=live)
    past = MessageFactory(conversation=live)
    young = MessageFactory(conversation=live)
    # Set by the database's own clock, as the send service will: now() is this transaction's.
    Message.objects.filter(pk=at_now.pk).update(expires_at=Now())
    Message.objects.filter(pk=past.pk).update(expires_at=Now() - datetime.timedelta(seconds=1))
    Message.objects.filter(pk=young.pk).update(expires_at=Now() + datetime.timedelta(seconds=1))
    Conversation.objects.filter(pk=expired.pk).update(expires_at=Now())

    assert list(Message.objects.live()) == [young]
    assert list(Conversation.objects.live()) == [live]
    assert list(Conversation.objects.for_clinic(live.clinic).live()) == [live]
    assert list(live.messages.live()) == [young]
    assert Message.objects.count() == 3 and Conversation.objects.count() == 2  # not purged


@pytest.mark.django_db
def test_the_conversation_purge_alone_takes_its_messages_wraps_and_read_markers(cora):
    """Check 10: run before the message purge, the conversation purge deletes a conversation's
    remaining messages and notes, their wraps and its read markers with it, children first."""
    conversation = conversation_until(days_ago(31.5))
    messages_written(conversation, days_ago(40), count=3)
    messages_written(conversation, days_ago(31.5), count=2, kind=MessageKind.NOTE)
    read_marker(conversation, cora)
    other = conversation_until(days_ago(2))
    messages_written(other, days_ago(2), count=2)
    read_marker(other, cora)

    [run] = retention.purges_run(only=[CONVERSATIONS])

    assert (run.rows_expired, run.rows_purged) == (1, 1)
    assert list(Conversation.objects.all()) == [other]
    assert Message.objects.count() == 2 and Wrap.objects.count() == 6
    assert ConversationRead.objects.get().conversation == other
    assert_no_orphans()


@pytest.mark.django_db(transaction=True)
def test_a_purge_batch_commits_without_waiting_for_the_flush_and_only_that_batch():
    """Check 10: a batch's commit does not wait for its WAL to be flushed (a crash can only undo
    whole batches, which the next run deletes again), and the setting ends with the batch."""
    conversation = conversation_until(days_ago(32))
    [message] = messages_written(conversation, days_ago(32))

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    with transaction.atomic():
        purges.messages_delete([message.pk])
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"
    assert not Message.objects.exists() and not Wrap.objects.exists()


@pytest.mark.django_db
def test_a_conversation_whose_expiry_lagged_behind_keeps_its_live_message():
    """Check 10: the conversation purge never takes a live message with it: a conversation
    past its `expires_at` that still holds one stays (invisible to `live()`) until it expires."""
    conversation = conversation_until(days_ago(32))
    messages_written(conversation, days_ago(32))
    [fresh] = messages_written(conversation, days_ago(1))

    retention.purges_run(only=CHAT_PURGES)

    assert list(Message.objects.all()) == [fresh] and Wrap.objects.count() == 3
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Conversation.objects.live().exists()


@pytest.mark.django_db
def test_notification_marks_go_once_both_are_older_than_the_period(clinic_a, cora, alice):
    """Check 10 ("queued notifications go too"): a counsellor's notice row goes once its last
    notice and its pending mark are both older than 31 days (or empty); a recent one stays."""
    old, recent = days_ago(32), days_ago(30)
    bea, dora = UserFactory(), UserFactory()

    def mark(user: object, last_sent_at: object, pending_since: object) -> ChatNotification:
        return ChatNotification.objects.create(
            clinic=clinic_a, user=user, last_sent_at=last_sent_at, pending_since=pending_since
        )

    gone = [mark(cora, old, None), mark(alice, old, old)]
    kept = [mark(bea, old, recent), mark(dora, recent, None)]

    [run] = retention.purges_run(only=[NOTIFICATIONS])

    assert run.rows_purged == len(gone)
    assert set(ChatNotification.objects.all()) == set(kept)


def expired_backlog(conversations: int, per_conversation: int) -> int:
    """Expired messages (3 wraps each) in live conversations; returns how many messages."""
    for _ in range(conversations):
        conversation = conversation_until(days_ago(1))
        messages_written(conversation, days_ago(40), count=per_conversation)
    return conversations * per_conversation


def in_threads(*targets: object) -> list[object]:
    """Run each target in a thread of its own, all released at once; each thread has its own
    database connection (Django's are per thread), closed when it ends. Returns the results,
    or the exception a target raised."""
    barrier = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)

    def run(index: int, target: object) -> None:
        try:
            barrier.wait()
            results[index] = target()
        except Exception as exc:  # reported: the test fails on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_neither_fail_nor_double_count():
    """Check 10: two runs of the message purge at once, on connections of their own: both end
    without error, one skipped by the advisory lock (or, if they did not overlap, each purging
    what the other left), and together they count every purged row exactly once."""
    total = expired_backlog(conversations=5, per_conversation=500)

    runs = in_threads(*[lambda: retention.purge_run(purge(MESSAGES))] * 2)

    assert all(isinstance(run, PurgeRun) for run in runs), runs
    assert {run.outcome for run in runs} <= {PurgeOutcome.DONE, PurgeOutcome.SKIPPED}
    assert sum(run.rows_purged for run in runs) == total
    stored = PurgeRun.objects.filter(pk__in=[run.pk for run in runs])
    assert sum(stored.values_list("rows_purged", flat=True)) == total
    assert not Message.objects.exists() and not Wrap.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_message_and_conversation_purges_at_once_do_not_deadlock(cora):
    """Check 10: the two purges hold different locks, so the hourly task and the command may
    run them at the same moment over the same rows: neither fails (they lock messages before
    wraps alike), every conversation is counted once and nothing is left half deleted."""
    conversations = 40
    for _ in range(conversations):
        conversation = conversation_until(days_ago(31.5))
        messages_written(conversation, days_ago(35), count=60)
        read_marker(conversation, cora)

    runs = in_threads(
        lambda: retention.purge_run(purge(MESSAGES)),
        lambda: retention.purge_run(purge(CONVERSATIONS)),
    )

    assert all(isinstance(run, PurgeRun) for run in runs), runs
    assert [run.outcome for run in runs] == [PurgeOutcome.DONE, PurgeOutcome.DONE]
    assert runs[1].rows_purged == conversations
    assert not Message.objects.exists() and not Wrap.objects.exists()
    assert not Conversation.objects.exists() and not ConversationRead.objects.exists()


# A purge_expired_messages process that stops for good between a batch's two statements: the
# third batch's wraps are deleted, its messages not yet, its transaction still open.
KILLED_PURGE = textwrap.dedent(
    """
    import time

    import django

    django.setup()
    from django.core.management import call_command

    from messaging import purges

    delete_where, statements = purges._delete_where, []


    def delete_then_stop(model, field, ids):
        deleted = delete_where(model, field, ids)
        statements.append(model.__name__)
        if len(statements) == 5:  # wraps, messages, wraps, messages, then batch 3's wraps
            print("stopped inside batch 3", flush=True)
            time.sleep(120)
        return deleted


    purges._delete_where = delete_then_stop
    call_command("purge_expired_messages")
    """
)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db['USER']}{password}@{host}:{port}/{db['NAME']}"


def wait_for_lock_release(name: str, timeout: float = 20) -> None:
    """A killed client's server process ends (rolling back, releasing its session's advisory
    lock) once it notices the closed socket."""
    key = retention.lock_key(name)
    classid, objid = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid::bigint = %s AND objid::bigint = %s "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [classid, objid],
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"The killed purge still holds the {name} lock.")


@pytest.mark.django_db(transaction=True)
def test_a_killed_purge_leaves_every_batch_done_or_not_and_a_rerun_finishes():
    """Check 10: `purge_expired_messages` killed (SIGKILL) inside its third batch, between the
    wraps' DELETE and the messages': the two batches before it are gone whole, the third is
    all still there with every wrap, nothing is orphaned, the record says 2,000 in 2 batches
    and still running; a rerun purges the rest and counts exactly that."""
    total = expired_backlog(conversations=7, per_conversation=500)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    env["DATABASE_URL"] = database_url()
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_PURGE],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.strip() == "stopped inside batch 3", process.stderr.read()
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    wait_for_lock_release(MESSAGES)

    assert Message.objects.count() == total - 2 * retention.BATCH_SIZE
    assert Wrap.objects.count() == 3 * Message.objects.count() and every_message_has_its_wraps()
    assert_no_orphans()
    killed = PurgeRun.objects.get(name=MESSAGES)
    assert (killed.outcome, killed.rows_purged, killed.batches) == (PurgeOutcome.RUNNING, 2_000, 2)

    out = io.StringIO()
    call_command("purge_expired_messages", stdout=out)
    assert (
        out.getvalue()
        .splitlines()[0]
        .startswith(f"{MESSAGES}: purged {total - 2_000} rows in 2 batches (older than")
    )
    assert not Message.objects.exists() and not Wrap.objects.exists()
    assert Conversation.objects.count() == 7


@pytest.mark.django_db
def test_the_command_runs_the_chat_purges_and_prints_their_counts(cora, clinic_a):
    """Check 10: `purge_expired_messages` runs exactly the chat's three purges through the
    retention service and prints each one's count and cutoff in English; `--dry-run` counts
    and deletes nothing."""
    now = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
    conversation = conversation_until(days_ago(32, now))
    messages_written(conversation, days_ago(32, now), count=3)
    ChatNotification.objects.create(clinic=clinic_a, user=cora, last_sent_at=days_ago(40, now))

    dry = io.StringIO()
    with time_machine.travel(now, tick=False):
        call_command("purge_expired_messages", "--dry-run", stdout=dry)
    assert dry.getvalue().splitlines() == [
        "chat-messages: would purge 3 rows (older than 2026-05-01 12:00:00 UTC)",
        "chat-conversations: would purge 1 rows (older than 2026-05-01 12:00:00 UTC)",
        "clinic-messages: would purge 0 rows (older than 2024-06-01 12:00:00 UTC)",
        "clinic-threads: would purge 0 rows (older than 2024-06-01 12:00:00 UTC)",
        "chat-retired-keys: would purge 0 rows (older than 2024-06-01 12:00:00 UTC)",
        "chat-notifications: would purge 1 rows (older than 2026-05-01 12:00:00 UTC)",
    ]
    assert Message.objects.count() == 3 and ChatNotification.objects.exists()

    out = io.StringIO()
    with time_machine.travel(now, tick=False):
        call_command("purge_expired_messages", stdout=out)
    assert out.getvalue().splitlines() == [
        "chat-messages: purged 3 rows in 1 batches (older than 2026-05-01 12:00:00 UTC)",
        "chat-conversations: purged 1 rows in 1 batches (older than 2026-05-01 12:00:00 UTC)",
        "clinic-messages: purged 0 rows in 0 batches (older than 2024-06-01 12:00:00 UTC)",
        "clinic-threads: purged 0 rows in 0 batches (older than 2024-06-01 12:00:00 UTC)",
        "chat-retired-keys: purged 0 rows in 0 batches (older than 2024-06-01 12:00:00 UTC)",
        "chat-notifications: purged 1 rows in 1 batches (older than 2026-05-01 12:00:00 UTC)",
        "attachment files without a message: 0 deleted",
    ]
    assert not Message.objects.exists() and not Wrap.objects.exists()
    assert not Conversation.objects.exists() and not ChatNotification.objects.exists()
    assert set(PurgeRun.objects.values_list("name", flat=True)) == set(CHAT_PURGES)


@pytest.mark.django_db
def test_the_hourly_task_and_the_purge_command_run_the_chat_purges():
    """Check 10: the chat's purges are registered with the retention service, so the hourly
    beat task (clinics.tasks.retention_purge) runs them too, the messages' before the
    conversations' (which then finds no message left to delete)."""
    conversation = conversation_until(days_ago(32))
    messages_written(conversation, days_ago(32), count=2)

    purged = retention_purge()

    assert {name: purged[name] for name in CHAT_PURGES} == {
        MESSAGES: 2,
        CONVERSATIONS: 1,
        CLINIC_MESSAGES: 0,
        THREADS: 0,
        RETIRED_KEYS: 0,
        NOTIFICATIONS: 0,
    }
    assert not Message.objects.exists() and not Conversation.objects.exists()
