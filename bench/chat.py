"""The counsellor chat's purge benchmark (issue 10, "Fast"), run by bench/run.py.

Seeds, in SQL, 1,000,000 expired messages (and notes) with 3 wraps each in 10,000 live
conversations of a clinic of their own, three times (TRUNCATE first: the same rows each time),
and measures (3. on the first seeding, then 1. and 2.):

1. `send_p95_ms`: a reporter's send through the send service (`messaging.services.message_send`:
   the recipients checked against the clinic's certificates, the message, its 3 wraps, the
   conversation's new expiry, the counsellors' notification marks; the payload made before the
   clock starts, as a browser sends it), 10 ms apart: 750 before the purge and 750 after it
   (the idle p95 of the 1,500; a shared machine's idle tail drifts by half from one minute to
   the next, and 300 sends before were too few to pin it); `purge_1m_seconds`: the registered
   purge (`messaging.purges` "chat-messages", `manage.py purge --only`, i.e. the hourly task's
   service) in a process of its own, timed by its PurgeRun, while this process goes on sending
   (about as many sends again): `send_p95_during_purge_ms`;
2. its floor on the second seeding: raw batched DELETEs of the same rows in a process of its
   own (1,000 messages a transaction, chosen in expires_at order FOR UPDATE SKIP LOCKED, wraps
   then messages), with the same sends meanwhile; `purge_ratio` = purge / floor;
3. purge and floor taking turns over tenths of the rows
   (`purge_ratio_turns`): the machine is shared, and two whole runs a minute apart can differ
   by half for the same work.

Each seeding is vacuumed, analysed and checkpointed before it is measured, as autovacuum would
do after a real load (the machine may run without it).

Last, `inbox_queries_10` and `inbox_queries_1000`: the queries of a counsellor's inbox page with
10 and with 1,000 conversations in its organisation (they must be equal).
"""

from __future__ import annotations

import datetime
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import Bench

CLINIC = "Bench chat"
MESSAGES, WRAPS_PER_MESSAGE, CONVERSATIONS = 1_000_000, 3, 10_000
SENDS, SEND_PAUSE_S = 750, 0.01  # idle sends before the purge, and as many after it
ROOT = Path(__file__).resolve().parent.parent
NOTES = (
    "send_* time messaging.services.message_send for a reporter's message to 2 certified "
    "counsellor keys and the reporter's own (payload prepared beforehand; the notification "
    "task's broker push after the commit is left out, its database marks are in)."
)
INBOX_SIZES = (10, 1000)
# One sequence for the whole run: each phase (idle, during, after) writes to conversations of
# its own, so none finds this month's usage already counted by an earlier phase.
SEND_TARGETS = random.Random(10)

# The conversations: live (their newest message is recent), so only the messages are due.
SEED_CONVERSATIONS = """
INSERT INTO messaging_conversation (
    id, clinic_id, organisation_id, join_code_id, reporter_key_id, reporter_kem_public,
    reporter_sig_public, recovery_lookup, sealed_private, status, created_at, last_message_at,
    expires_at)
SELECT md5('conversation' || g)::uuid, %(clinic)s, %(organisation)s, %(join_code)s,
       left(md5('reporter' || g), 32),
       '\\x04'::bytea || sha256(('kem' || g)::bytea) || sha256(('kem2' || g)::bytea),
       '\\x04'::bytea || sha256(('sig' || g)::bytea) || sha256(('sig2' || g)::bytea),
       encode(sha256(('recovery' || g)::bytea), 'hex'), '{}', 'open',
       now() - interval '60 days', now() - interval '1 hour', now() + interval '30 days'
FROM generate_series(1, %(conversations)s) AS g
"""

# The messages, written over three weeks and all expired now, in expires_at order as they were
# written; ciphertext of one 256-byte bucket plus the tag (what a short message costs).
SEED_MESSAGES = """
INSERT INTO messaging_message (
    id, conversation_id, kind, from_reporter, sender_key_id, iv, cipher, signature, recipients,
    created_at, expires_at)
SELECT md5('message' || g)::uuid, md5('conversation' || (1 + g %% %(conversations)s))::uuid,
       CASE WHEN g %% 10 = 0 THEN 'note' ELSE 'body' END, g %% 2 = 0,
       left(md5('sender' || g %% 7), 32),
       substring(sha256(('iv' || g)::bytea) for 12),
       decode(repeat(encode(sha256(('body' || g)::bytea), 'hex'), 8), 'hex')
           || substring(sha256(('tag' || g)::bytea) for 16),
       sha256(('sig' || g)::bytea) || sha256(('sig2' || g)::bytea),
       %(recipients)s,
       e - %(period)s, e
FROM generate_series(1, %(messages)s) AS g,
     LATERAL (SELECT now() - interval '1 hour'
                     - (%(messages)s - g) * interval '2 seconds' AS e) AS expiry
"""

SEED_WRAPS = """
INSERT INTO messaging_wrap (message_id, recipient_key_id, sealed)
SELECT m.id, k.key_id,
       decode(repeat(encode(sha256((m.id::text || k.key_id)::bytea), 'hex'), 3), 'hex')
           || substring(sha256(k.key_id::bytea) for 17)
FROM messaging_message m CROSS JOIN unnest(%(keys)s::text[]) AS k(key_id)
"""

# The secondary indexes (and unique constraints) of the seeded tables, to drop before the load
# and build again after it: 3 million random-order inserts into a (message_id, ...) index take
# minutes, a sort and build seconds. The primary keys stay (a foreign key refers to one).
SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname,
       pg_get_constraintdef(c.oid)
FROM pg_index i
LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
"""

TABLES = ("messaging_wrap", "messaging_message", "messaging_conversationread",
          "messaging_conversation")  # fmt: skip


def recipient_keys() -> list[str]:
    return sorted(f"{i:032x}" for i in range(1, WRAPS_PER_MESSAGE + 1))


def chat_clinic() -> tuple[Any, Any, Any]:
    from clinics.models import Clinic
    from messaging.models import JoinCode, Organisation

    clinic, _created = Clinic.objects.get_or_create(name=CLINIC)
    organisation, _created = Organisation.objects.get_or_create(clinic=clinic, name="Bench org")
    join_code, _created = JoinCode.objects.get_or_create(
        clinic=clinic, organisation=organisation, code="BENCH-CHAT"
    )
    return clinic, organisation, join_code


def seed() -> dict[str, float]:
    """Empty the chat's tables, then write the conversations, messages and wraps, with the
    foreign-key triggers off (rows consistent by construction), then VACUUM ANALYZE."""
    from django.db import connection, transaction

    from portal.personal_data import declaration_for

    clinic, organisation, join_code = chat_clinic()
    params = {
        "clinic": clinic.pk, "organisation": organisation.pk, "join_code": join_code.pk,
        "conversations": CONVERSATIONS, "messages": MESSAGES, "keys": recipient_keys(),
        "recipients": ",".join(recipient_keys()),
        "period": declaration_for("messaging.Message").retention,
    }  # fmt: skip
    times = {}
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)}")
        # A bulk load's usual tricks (superuser): no per-row foreign-key trigger (the rows are
        # consistent by construction), indexes built once after the load.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuild = indexes_dropped(cur, ("messaging_message", "messaging_wrap"))
        cur.execute(SEED_CONVERSATIONS, params)
        step = time.perf_counter()
        cur.execute(SEED_MESSAGES, params)
        times["messages_s"] = time.perf_counter() - step
        step = time.perf_counter()
        cur.execute(SEED_WRAPS, params)
        times["wraps_s"] = time.perf_counter() - step
        step = time.perf_counter()
        for statement in rebuild:
            cur.execute(statement)
        times["indexes_s"] = time.perf_counter() - step
    step = time.perf_counter()
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM (ANALYZE) {table}")
        cur.execute("CHECKPOINT")
    times["vacuum_s"] = time.perf_counter() - step
    times["total_s"] = time.perf_counter() - started
    counts = rows()
    assert counts == (MESSAGES, MESSAGES * WRAPS_PER_MESSAGE), counts
    return {k: round(v, 1) for k, v in times.items()}


def expired_left() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM messaging_message WHERE expires_at <= now()")
        return cur.fetchone()[0]


def indexes_dropped(cur: Any, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' secondary indexes and unique constraints; returns the statements that
    make them again, as the migrations made them."""
    rebuild = []
    for table in tables:
        cur.execute(SECONDARY_INDEXES, [table])
        for index, index_def, constraint, constraint_def in cur.fetchall():
            if constraint:
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
                rebuild.append(
                    f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_def}'
                )
            else:
                cur.execute(f"DROP INDEX {index}")
                rebuild.append(index_def)
    return rebuild


def rows() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT (SELECT count(*) FROM messaging_message), "
                    "(SELECT count(*) FROM messaging_wrap)")  # fmt: skip
        return cur.fetchone()


FLOOR_SELECT = """
SELECT id FROM messaging_message WHERE expires_at <= %s ORDER BY expires_at LIMIT %s
FOR UPDATE SKIP LOCKED
"""


def floor_batches(upto: datetime.datetime) -> int:
    """Raw batched DELETEs of the messages expired by `upto`: 1,000 a transaction, chosen as
    the purge chooses them, wraps then messages; what PostgreSQL alone costs. Returns batches."""
    from django.db import connection, transaction

    from clinics.retention import BATCH_SIZE

    connection.ensure_connection()
    batches = 0
    while True:
        with transaction.atomic(), connection.connection.cursor() as cur:
            # As the purge commits: the fastest raw way to the same deletes.
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute(FLOOR_SELECT, [upto, BATCH_SIZE])
            ids = [row[0] for row in cur.fetchall()]
            if not ids:
                return batches
            cur.execute("DELETE FROM messaging_wrap WHERE message_id = ANY(%s)", [ids])
            cur.execute("DELETE FROM messaging_message WHERE id = ANY(%s)", [ids])
            batches += 1


def floor_child() -> None:
    """The floor in a process of its own (run.py --chat-floor-child), as the purge runs in
    one: says when it starts, then prints its figures as JSON."""
    from django.utils import timezone

    print("started", flush=True)
    started = time.perf_counter()
    batches = floor_batches(timezone.now())
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1), "batches": batches}))


def counsellor_keys() -> list[str]:
    """Two certified counsellor key sets in the bench clinic (made once), their key ids."""
    from clinics.models import Membership, Role, User
    from messaging.models import Certificate, ChatKey, ClinicChatKey, Purpose

    clinic, _organisation, _join_code = chat_clinic()
    clinic_key, _created = ClinicChatKey.objects.get_or_create(
        clinic=clinic,
        defaults={"key_id": "c" * 32, "sig_public": bytes(65), "sealed_private": {}},
    )
    key_ids = []
    for index in (1, 2):
        user, _created = User.objects.get_or_create(email=f"counsellor{index}@bench.example")
        Membership.objects.get_or_create(
            clinic=clinic, user=user, defaults={"role": Role.COUNSELLOR}
        )
        staff_key, _created = ChatKey.objects.get_or_create(
            user=user,
            defaults={
                "key_id": f"{index:x}" * 32, "kem_public": bytes(65), "sig_public": bytes(65),
                "sealed_private": {},
            },
        )  # fmt: skip
        Certificate.objects.get_or_create(
            clinic=clinic, staff_key=staff_key, purpose=Purpose.COUNSELLOR,
            defaults={"clinic_key": clinic_key, "signature": bytes(64)},
        )  # fmt: skip
        key_ids.append(staff_key.key_id)
    return key_ids


def send_once(conversation: Any, counsellors: list[str]) -> float:
    """One reporter's send through the send service; returns its milliseconds."""
    from messaging.payloads import WRAP_BYTES, MessageIn
    from messaging.sealed import Sender
    from messaging.services import message_send

    recipients = tuple(sorted([conversation.reporter_key_id, *counsellors]))
    payload = MessageIn(
        id=uuid.uuid4(), kind="body", sender_key_id=conversation.reporter_key_id,
        iv=os.urandom(12), cipher=os.urandom(272), signature=os.urandom(64),
        recipients=recipients, wraps={key: os.urandom(WRAP_BYTES) for key in recipients},
    )  # fmt: skip
    sender = Sender(key_id=conversation.reporter_key_id, from_reporter=True)
    started = time.perf_counter()
    message_send(conversation=conversation, sender=sender, payload=payload)
    return (time.perf_counter() - started) * 1000


def sends(count: int | None, *, until: subprocess.Popen | None = None) -> list[float]:
    """`count` sends to random conversations (or as many as fit while `until` runs), a short
    pause between them, as a busy chat rather than a flood."""
    from celery import current_app

    from messaging.models import Conversation

    conversations = list(Conversation.objects.select_related("join_code"))
    counsellors = counsellor_keys()
    times: list[float] = []
    # The notification task is queued after each commit: no broker push from the benchmark.
    current_app.send_task = lambda *args, **kwargs: None
    while (count is None or len(times) < count) and (until is None or until.poll() is None):
        times.append(send_once(SEND_TARGETS.choice(conversations), counsellors))
        time.sleep(SEND_PAUSE_S)
    return times


def in_process(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT, env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def purge_during_sends() -> tuple[dict[str, Any], list[float]]:
    """The registered purge as the hourly task runs it (`manage.py purge --only chat-messages`,
    the same service), in a process of its own, while this one sends. Its time is its
    PurgeRun's, from the lock to the last batch (not Django's start-up)."""
    from django.utils import timezone

    from clinics.models import PurgeRun
    from messaging.purges import MESSAGES as NAME

    after = timezone.now()
    process = in_process(["manage.py", "purge", "--only", NAME])
    deadline = time.monotonic() + 60
    # Sends before the run is recorded (Django still starting) would be idle ones.
    while not PurgeRun.objects.filter(name=NAME, started_at__gte=after).exists():
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    during = sends(None, until=process)
    _out, err = process.communicate()
    assert process.returncode == 0, err
    run = PurgeRun.objects.filter(name=NAME, started_at__gte=after).get()
    assert (run.outcome, run.rows_purged) == ("done", MESSAGES), (run.outcome, run.rows_purged)
    assert expired_left() == 0
    seconds = (run.finished_at - run.started_at).total_seconds()
    return {"seconds": round(seconds, 1), "batches": run.batches}, during


def floor_during_sends() -> tuple[dict[str, Any], list[float]]:
    """The floor the same way: its own process, this one sending meanwhile."""
    process = in_process([str(ROOT / "bench" / "run.py"), "--chat-floor-child"])
    assert process.stdout.readline().strip() == "started", process.stderr.read()
    during = sends(None, until=process)
    out, err = process.communicate()
    assert process.returncode == 0, err
    assert expired_left() == 0
    return json.loads(out.strip().splitlines()[-1]), during


def purge_and_floor_in_turns(segments: int = 10) -> dict[str, Any]:
    """The same seeded rows cut by expiry into `segments` slices of 100,000, purged in the
    order P F F P P F F P P F: the registered purge (its cutoff set so that it takes exactly
    its slice) and the raw floor take turns, so that both meet the same moments of a shared
    machine, and the index's growing dead head (autovacuum off) falls on both alike."""
    from django.db import connection

    from clinics import retention
    from messaging.purges import MESSAGES as NAME

    purge = next(p for p in retention.purges() if p.name == NAME)
    with connection.cursor() as cur:
        cur.execute("SELECT min(expires_at), max(expires_at) FROM messaging_message")
        first, last = cur.fetchone()
    turns: dict[str, list[float]] = {"purge": [], "floor": []}
    for index, kind in enumerate("PFFPPFFPPF"[:segments]):
        upto = last if index == segments - 1 else first + (last - first) * (index + 1) / segments
        started = time.perf_counter()
        if kind == "P":
            run = retention.purge_run(purge, now=upto)
            assert run.outcome == "done", run.outcome
        else:
            floor_batches(upto)
        turns["purge" if kind == "P" else "floor"].append(time.perf_counter() - started)
    assert rows() == (0, 0)
    purge_s, floor_s = sum(turns["purge"]), sum(turns["floor"])
    return {
        "purge_s": [round(t, 2) for t in turns["purge"]],
        "floor_s": [round(t, 2) for t in turns["floor"]],
        "ratio": round(purge_s / floor_s, 2),
    }


def milliseconds(samples: list[float], percentile: Callable[[list[float], float], float]) -> dict:
    return {
        "sends": len(samples),
        "p50_ms": round(percentile(samples, 50), 2),
        "p95_ms": round(percentile(samples, 95), 2),
        "max_ms": round(max(samples), 2),
    }


def measure_chat(
    *,
    percentile: Callable[[list[float], float], float],
    checkpoint: Callable[[], None],
    bench: Bench,
) -> dict[str, Any]:
    """The figures above; `percentile`, `checkpoint` and `bench` are run.py's, so every section
    of results.json is measured alike."""
    results: dict[str, Any] = {
        "messages": MESSAGES, "wraps": MESSAGES * WRAPS_PER_MESSAGE,
        "conversations": CONVERSATIONS, "notes": NOTES, "seed": [],
    }  # fmt: skip

    def seeded() -> None:
        results["seed"].append(seed())
        checkpoint()
        print(f"  seeded {MESSAGES:,} expired messages × {WRAPS_PER_MESSAGE} wraps in "
              f"{results['seed'][-1]['total_s']} s", flush=True)  # fmt: skip

    # The turns first: whichever whole run came first in a run of the benchmark was the slower
    # one, purge or floor alike (seen both ways round); the turns do not mind, and after them
    # the two whole runs meet the same conditions.
    seeded()
    results["turns"] = purge_and_floor_in_turns()
    print(f"  purge and floor in turns: ×{results['turns']['ratio']}", flush=True)
    seeded()
    before = sends(SENDS)
    results["purge"], during = purge_during_sends()
    results["send_idle"] = milliseconds(before + sends(SENDS), percentile)
    results["send_during_purge"] = milliseconds(during, percentile)
    print(f"  the registered purge: {results['purge']['seconds']} s", flush=True)
    seeded()
    results["floor"], during = floor_during_sends()
    results["send_during_floor"] = milliseconds(during, percentile)
    print(f"  raw batched DELETEs: {results['floor']['seconds']} s", flush=True)
    results["purge_ratio"] = round(results["purge"]["seconds"] / results["floor"]["seconds"], 2)
    results["inbox"] = inbox_queries(bench)
    print(f"  inbox queries: {results['inbox']}", flush=True)
    return results


def inbox_queries(bench: Bench) -> dict[str, int]:
    """The queries of the counsellor's inbox page (signed in, past the second factor) with 10,
    then 1,000 conversations in its organisation, each with one message from its reporter."""
    from django.urls import reverse

    from clinics.mfa_devices import AuthenticatorDevice
    from clinics.models import User
    from messaging.models import Conversation, JoinCode, Organisation

    clinic, _organisation, _join_code = chat_clinic()
    counsellors = counsellor_keys()
    user = User.objects.get(email="counsellor1@bench.example")
    AuthenticatorDevice.objects.get_or_create(
        user=user, defaults={"name": "bench", "confirmed": True}
    )
    organisation, _created = Organisation.objects.get_or_create(clinic=clinic, name="Bench inbox")
    join_code, _created = JoinCode.objects.get_or_create(
        clinic=clinic, organisation=organisation, code="BENCH-INBOX"
    )
    Conversation.objects.filter(organisation=organisation).delete()
    client = bench.signed_in_client(user)
    url = reverse("messaging:inbox") + f"?organisation={organisation.pk}"
    counts = {}
    made = 0
    for size in INBOX_SIZES:
        for index in range(made, size):
            conversation = Conversation.objects.create(
                clinic=clinic, organisation=organisation, join_code=join_code,
                reporter_key_id=f"{index:032x}"[::-1], reporter_kem_public=bytes(65),
                reporter_sig_public=bytes(65), recovery_lookup=f"{index:064x}",
                sealed_private={}, expires_at=timezone_in(days=31),
            )  # fmt: skip
            send_once(conversation, counsellors)
        made = size
        get = bench.page_getter(client, url)
        get()  # the first visit fills per-process caches (translations, templates)
        counts[f"inbox_queries_{size}"] = bench.query_count(get)
        assert get().content.count(b'class="unread"') == min(size, 50), size
    return counts


def timezone_in(*, days: int) -> datetime.datetime:
    from django.utils import timezone

    return timezone.now() + datetime.timedelta(days=days)


def headline(chat: dict[str, Any]) -> dict[str, Any]:
    return {
        "purge_1m_seconds": chat["purge"]["seconds"],
        "purge_floor_1m_seconds": chat["floor"]["seconds"],
        "purge_ratio": chat["purge_ratio"],
        "purge_ratio_turns": chat["turns"]["ratio"],
        "send_p95_ms": chat["send_idle"]["p95_ms"],
        "send_p95_during_purge_ms": chat["send_during_purge"]["p95_ms"],
        "send_p95_during_raw_delete_ms": chat["send_during_floor"]["p95_ms"],
        **chat.get("inbox", {}),
    }


def report(chat: dict[str, Any]) -> list[str]:
    seeds = ", ".join(f"{s['total_s']} s" for s in chat["seed"])
    return [
        f"chat purge {chat['messages']:,} messages + {chat['wraps']:,} wraps: "
        f"{chat['purge']['seconds']} s ({chat['purge']['batches']} batches); raw DELETE floor "
        f"{chat['floor']['seconds']} s; ×{chat['purge_ratio']}; in turns ×"
        f"{chat['turns']['ratio']} (seeded in {seeds})",
        f"send (the send service) p95: {chat['send_idle']['p95_ms']} ms idle, "
        f"{chat['send_during_purge']['p95_ms']} ms during the purge "
        f"({chat['send_during_purge']['sends']} sends), "
        f"{chat['send_during_floor']['p95_ms']} ms during the raw DELETEs",
        f"counsellor's inbox: {chat.get('inbox', {})} queries",
    ]
