"""Clinic messages' benchmark (issue 11, "Fast"), run by bench/run.py.

A clinic of its own, *Bench messages* (seeded once: 500 patients through
`patients.services.patient_create`, names encrypted with their blind index; two certified team
members; the first patient linked to an account with a key set), gets in every run, after a
TRUNCATE of the clinic-message tables, a thread per patient and 20,000 messages over the last
two years with their wraps (COPY), some threads read by the viewer, some handled, some assigned.
Then:

1. `team_inbox_p95_ms`: one GET of the team inbox (`clinic_messages:team_inbox`, the real view
   through Django's test client, signed in as a professional past the second factor: middleware,
   view, queries, access-log INSERT of the 25 patients shown, template), taking turns call by call
   with its SQL floor `team_inbox_floor_p95_ms` (run.page_against_floor: the signed-in
   statements, the navigation's unread count, the access-log INSERT, and the statements that
   return the page's data as the selectors execute them: the page of 25 threads with their
   patient, assignee, unread flag and the list's length; the viewer's key with its
   certificate). `team_inbox_ratio` = page p95 / floor p95. The
   same for a name search (`?q=`, through the blind index): `team_inbox_search_*`;
2. where the page's time goes: the mean of each part over instrumented requests (each SQL
   statement by the function that ran it, the template, the Fernet decryption of the names, the
   rest: middleware, view and ORM in Python);
3. `attachment_upload_mb_per_s`: a 10 MB attachment (10 MiB + the GCM tag, sealed with
   messaging.crypto.seal_message under the message's key) POSTed as the browser posts it
   (multipart: the message JSON in `message`, the ciphertext in `attachment`, encoded before the
   clock starts) to the patient's endpoint `clinic_messages:my_api_messages`, stored in a
   temporary private storage; against `attachment_floor_mb_per_s`, the same bytes written into
   the same storage folder with plain Python file I/O, the two taking turns;
4. `team_inbox_queries_10` and `team_inbox_queries_1000`: the queries of the inbox page in a
   clinic of its own (*Bench inbox counts*, 1,000 patients) with 10, then 1,000 threads.

MB here is 2**20 bytes, the unit of the attachment limit (thread_services.ATTACHMENT_MAX_BYTES).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.harness import Bench

CLINIC, COUNTS_CLINIC = "Bench messages", "Bench inbox counts"
PATIENTS, MESSAGES = 500, 20_000
FROM_PATIENT = 0.55  # the patients' share of the messages
INBOX_SIZES = (10, 1000)
VIEWER, COLLEAGUE = "pro-messages@bench.example", "colleague-messages@bench.example"
COUNTS_VIEWER = "pro-inbox-counts@bench.example"
PATIENT_ACCOUNT = "patient-messages@bench.example"
PASSPHRASE = "bench passphrase, never a real one"
SEARCH = "Jans"  # a family-name prefix: about one patient in thirteen
MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
TABLES = ("messaging_clinicwrap", "messaging_threadread", "messaging_clinicmessage",
          "messaging_thread")  # fmt: skip


# --- seeding, once -----------------------------------------------------------------------------


def _key_set_in(keys: Any) -> Any:
    """A key set as a browser uploads it: public keys and two sealed copies of the private ones
    (PBKDF2 with the protocol's iterations: a third of a second each)."""
    from messaging import crypto, payloads

    recovery = crypto.normalise_recovery_code(crypto.new_recovery_code())
    return payloads.KeySetIn(
        key_id=keys.key_id, kem_public=keys.kem_public or b"", sig_public=keys.sig_public,
        sealed={"passphrase": crypto.seal_private(keys, PASSPHRASE),
                "recovery": crypto.seal_private(keys, recovery)},
    )  # fmt: skip


def _team_set_up(clinic: Any, members: list[Any]) -> None:
    """The clinic's key, and each member's key set certified for clinic messages, made the way
    the browsers make them (messaging/tests/clinic_world.py)."""
    from messaging import crypto, services
    from messaging.models import Purpose

    signing = crypto.generate_clinic_key()
    services.clinic_key_set_up(clinic=clinic, actor=members[0], key=_key_set_in(signing))
    for user in members:
        keys = crypto.generate_key_set()
        staff_key = services.staff_key_set_up(user=user, key=_key_set_in(keys))
        services.certificate_issue(
            clinic=clinic, actor=members[0], staff_key=staff_key, purpose=Purpose.TEAM,
            signature=crypto.certify(signing.sig, signing.key_id, keys.key_id, Purpose.TEAM),
        )  # fmt: skip


def _clinic(bench: Bench, name: str) -> Any:
    from clinics.models import Clinic

    clinic = Clinic.objects.filter(name=name).first()
    if clinic is not None and bench.seed_marker(name) is None:
        raise SystemExit(f"{name} exists without a seed marker: run with --reseed.")
    return clinic


def seed_clinic(bench: Bench) -> None:
    """Bench messages, once: the patients through patient_create (encrypted names, blind
    index), the viewer and a colleague certified for clinic messages, and the first patient's
    account with its key set (the sender of the uploads)."""
    from django.db import transaction

    from clinics.mfa_devices import AuthenticatorDevice
    from clinics.models import Clinic, User
    from messaging import crypto, services
    from patients.models import Patient
    from patients.services import patient_create

    if _clinic(bench, CLINIC) is not None:
        return
    started = time.perf_counter()
    with transaction.atomic():
        clinic = Clinic.objects.create(name=CLINIC)
        viewer, colleague = bench.staff_for(clinic, VIEWER), bench.staff_for(clinic, COLLEAGUE)
        first = None
        for i in range(PATIENTS):
            given, family = bench.names(i)
            patient = patient_create(
                clinic=clinic, actor=viewer, given_name=given, family_name=family,
                date_of_birth=datetime.date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
                email=f"patient{i}@messages.bench.example",
            )  # fmt: skip
            first = first or patient
        account = User.objects.create(email=PATIENT_ACCOUNT)
        AuthenticatorDevice.objects.create(user=account, name="authenticator", confirmed=True)
        Patient.objects.filter(pk=first.pk).update(user=account)
        services.staff_key_set_up(user=account, key=_key_set_in(crypto.generate_key_set()))
        _team_set_up(clinic, [viewer, colleague])
        bench.seed_mark(CLINIC, {"patients": PATIENTS})
    print(f"  seeded {CLINIC}: {PATIENTS} patients in {time.perf_counter() - started:.0f} s")


def seed_counts_clinic(bench: Bench) -> None:
    """Bench inbox counts, once: 1,000 patients (bulk_create: their names are encrypted, not
    indexed; the page does not search) and a certified viewer."""
    from django.db import transaction

    from clinics.models import Clinic
    from patients.models import Patient

    if _clinic(bench, COUNTS_CLINIC) is not None:
        return
    with transaction.atomic():
        clinic = Clinic.objects.create(name=COUNTS_CLINIC)
        viewer = bench.staff_for(clinic, COUNTS_VIEWER)
        Patient.objects.bulk_create(
            Patient(clinic=clinic, given_name=bench.names(i)[0], family_name=bench.names(i)[1],
                    date_of_birth=datetime.date(1950 + i % 50, 1 + i % 12, 1 + i % 28))
            for i in range(max(INBOX_SIZES))
        )  # fmt: skip
        _team_set_up(clinic, [viewer])
        bench.seed_mark(COUNTS_CLINIC, {"patients": max(INBOX_SIZES)})


# --- seeding the threads, every run ------------------------------------------------------------


def _copy(table: str, columns: tuple[str, ...], rows: Iterator[tuple] | list[tuple]) -> int:
    from django.db import connection

    written = 0
    with (
        connection.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


THREAD_COLUMNS = ("id", "clinic_id", "patient_id", "status", "assigned_to_id", "created_at",
                  "last_message_at", "last_patient_message_at", "patient_read_at",
                  "expires_at")  # fmt: skip
MESSAGE_COLUMNS = ("id", "thread_id", "kind", "from_patient", "sender_key_id", "iv", "cipher",
                   "signature", "recipients", "created_at", "expires_at", "attachment")  # fmt: skip
WRAP_COLUMNS = ("message_id", "recipient_key_id", "sealed")
READ_COLUMNS = ("thread_id", "user_id", "read_at")


def _per_thread(rng: random.Random, threads: int, total: int) -> list[int]:
    """How many messages each thread holds: skewed (a few long threads, many short ones), at
    least one each, `total` in all."""
    weights = [rng.expovariate(1.0) for _ in range(threads)]
    scale = (total - threads) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % threads] += 1
    return counts


def _thread_rows(
    clinic_id: int, patients: list[tuple[int, str]], team: list[tuple[int, str]],
    now: datetime.datetime,
) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:  # fmt: skip
    """Threads, messages, wraps and the team's reads of `patients` ((id, key id) each): 40
    messages a thread on average over the last two years, FROM_PATIENT of them from the patient,
    the others from one of the team; a message is wrapped to the patient and the team members
    certified then (the colleague joined a year ago): 2 or 3 wraps of 113 bytes. Bodies of 1 to 4
    padded blocks (272 to 1,040 bytes of ciphertext, short ones most)."""
    from messaging.payloads import WRAP_BYTES

    rng = random.Random(11)
    period = datetime.timedelta(days=730)
    joined = now - datetime.timedelta(days=365)
    (viewer_id, viewer_key), (colleague_id, colleague_key) = team
    threads, messages, wraps, reads = [], [], [], []
    for (patient_id, patient_key), count in zip(
        patients, _per_thread(rng, len(patients), MESSAGES), strict=True
    ):
        thread_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        start = now - datetime.timedelta(days=rng.uniform(1, 728))
        end = start + (now - start) * rng.uniform(0.2, 1.0)
        times = sorted(start + (end - start) * rng.random() for _ in range(count))
        last_from_patient = None
        for at in times:
            from_patient = rng.random() < FROM_PATIENT
            team_keys = [viewer_key, colleague_key] if at >= joined else [viewer_key]
            sender = patient_key if from_patient else rng.choice(team_keys)
            recipients = sorted([patient_key, *team_keys])
            message_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            blocks = rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0]
            messages.append((
                message_id, thread_id, "body", from_patient, sender, rng.randbytes(12),
                rng.randbytes(256 * blocks + 16), rng.randbytes(64), ",".join(recipients), at,
                at + period, "",
            ))  # fmt: skip
            wraps += [(message_id, key, rng.randbytes(WRAP_BYTES)) for key in recipients]
            last_from_patient = at if from_patient else last_from_patient
        last = times[-1]
        quiet = now - last > datetime.timedelta(days=30)
        handled = rng.random() < (0.8 if quiet else 0.2)
        assigned = rng.choice((viewer_id, colleague_id)) if rng.random() < 0.3 else None
        threads.append((
            thread_id, clinic_id, patient_id, "handled" if handled else "open", assigned,
            times[0], last, last_from_patient, last + datetime.timedelta(hours=rng.uniform(1, 72)),
            last + period,
        ))  # fmt: skip
        # The viewer opened nine threads in ten, most since their newest message; the
        # colleague half of them.
        for user_id, share in ((viewer_id, 0.9), (colleague_id, 0.5)):
            if rng.random() < share:
                behind = last_from_patient is not None and rng.random() < 0.1
                read_at = (last_from_patient - datetime.timedelta(hours=1) if behind
                           else last + datetime.timedelta(minutes=rng.uniform(1, 600)))  # fmt: skip
                reads.append((thread_id, user_id, min(read_at, now)))
    return threads, messages, wraps, reads


def seed_threads() -> dict[str, Any]:
    """Empty the clinic-message tables (only this section writes them), then COPY Bench
    messages' threads, messages, wraps and reads; VACUUM ANALYZE, as autovacuum would soon after
    a real load. (The access log is append-only: the pages' entries stay, as the other
    sections' do.)"""
    from django.db import connection, transaction
    from django.utils import timezone

    from clinics.models import Clinic
    from messaging.models import ChatKey
    from patients.models import Patient

    started = time.perf_counter()
    clinic = Clinic.objects.get(name=CLINIC)
    keys = dict(ChatKey.objects.values_list("user_id", "key_id"))
    team = [(user_id, keys[user_id]) for user_id in _user_ids(VIEWER, COLLEAGUE)]
    patients = [
        (pk, keys[user_id] if user_id else f"{pk:032x}")  # a key id for those without one
        for pk, user_id in Patient.objects.for_clinic(clinic)
        .order_by("pk")
        .values_list("pk", "user_id")
    ]
    now = timezone.now()
    threads, messages, wraps, reads = _thread_rows(clinic.pk, patients, team, now)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)}")
        _copy("messaging_thread", THREAD_COLUMNS, threads)
        _copy("messaging_clinicmessage", MESSAGE_COLUMNS, messages)
        _copy("messaging_clinicwrap", WRAP_COLUMNS, wraps)
        _copy("messaging_threadread", READ_COLUMNS, reads)
    with connection.cursor() as cur:
        for table in TABLES:
            cur.execute(f"VACUUM (ANALYZE) {table}")
    return {
        "threads": len(threads), "messages": len(messages), "wraps": len(wraps),
        "reads": len(reads), "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def _user_ids(*emails: str) -> list[int]:
    from clinics.models import User

    ids = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
    return [ids[email] for email in emails]


# --- the team inbox ----------------------------------------------------------------------------


def inbox_statements(bench: Bench, clinic: Any, user: Any, wanted: Any) -> list[tuple[str, Any]]:
    """The page's data for its SQL floor, as executed, from the selectors that run them: the
    inbox page's rows (each with the length of the list) and the viewer's key with its
    certificate. Both are the fastest SQL we found for that data (see the README); the
    navigation's unread count is the layout's part of every floor (run.layout_statements)."""
    from clinics.models import Membership
    from messaging import selectors, thread_selectors
    from messaging.models import Purpose

    membership = Membership.objects.select_related("clinic").get(clinic=clinic, user=user)
    executed = bench.executed_by(
        lambda: (
            thread_selectors.team_inbox(clinic, user, wanted),
            selectors.key_and_certified(membership, Purpose.TEAM),
        )
    )
    assert len(executed) == 2, executed
    page = thread_selectors.team_inbox(clinic, user, wanted)  # its rows, checked here
    shown = min(thread_selectors.TEAM_INBOX_PAGE_SIZE, page.paginator.count)
    assert len(page.object_list) == shown, len(page.object_list)
    return executed


def measure_inbox(bench: Bench) -> dict[str, Any]:
    """The inbox page and its floor taking turns, unfiltered and with a name search; then the
    parts of the unfiltered page."""
    from django.urls import reverse

    from clinics.models import Clinic, User
    from messaging.thread_selectors import TeamInboxFilter

    clinic = Clinic.objects.get(name=CLINIC)
    viewer = User.objects.get(email=VIEWER)
    client = bench.signed_in_client(viewer)
    url = reverse("clinic_messages:team_inbox")
    results: dict[str, Any] = {}
    for name, query, wanted in (
        ("inbox", "", TeamInboxFilter()),
        ("search", f"?q={SEARCH}", TeamInboxFilter(search=SEARCH)),
    ):
        page = bench.page_getter(client, url + query)
        rows = page().content.count(b'<th scope="row">')
        results[name] = {
            "url": url + query,
            "rows": rows,
            **bench.page_against_floor(
                page, viewer, inbox_statements(bench, clinic, viewer, wanted),
                requests=bench.requests, warmup=bench.warmup,
            ),
        }  # fmt: skip
        page_times, floor_times = results[name]["page"], results[name]["floor"]
        print(f"  team inbox{query}: p95 {page_times['p95_ms']} ms, floor "
              f"{floor_times['p95_ms']} ms, ×{results[name]['ratio_p95']}", flush=True)  # fmt: skip
    # The root URL only redirects a professional: what any signed-in request costs, for scale.
    (redirect,) = bench.timed(bench.page_getter(client, reverse("home"), 302),
                              requests=bench.requests, warmup=bench.warmup)  # fmt: skip
    results["signed_in_redirect"] = redirect
    results["parts"] = breakdown(
        bench.page_getter(client, url), inbox_statements(bench, clinic, viewer, TeamInboxFilter()),
        samples=bench.requests,
    )  # fmt: skip
    results["counts"] = _inbox_counts(clinic, viewer)
    return results


def _inbox_counts(clinic: Any, viewer: Any) -> dict[str, int]:
    """What the unfiltered inbox holds: open threads, of them unread for the viewer."""
    from messaging.models import Thread, ThreadStatus
    from messaging.thread_selectors import TeamInboxFilter, team_inbox

    threads = Thread.objects.live().for_clinic(clinic)
    first_page = team_inbox(clinic, viewer, TeamInboxFilter())  # unread first, fewer than 50
    return {
        "threads": threads.count(),
        "open": threads.filter(status=ThreadStatus.OPEN).count(),
        "open_unread": sum(row.unread for row in first_page),
        "assigned": threads.filter(assigned_to__isnull=False).count(),
    }


# --- where the page's time goes ----------------------------------------------------------------


def _caller() -> str:
    """The innermost function of this project (not Django, not the benchmark) on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if (
            filename.startswith(str(ROOT))
            and "/.venv/" not in filename
            and "/bench/" not in filename
        ):
            return f"{Path(filename).stem}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "django"


SQL, TEMPLATE, SRI, DECRYPT, PYTHON = (
    "sql",
    "template (less its SQL and SRI)",
    "SRI module graph, in the template (cached in production)",
    "decrypt (Fernet)",
    "python: middleware, view, ORM, access policy",
)


@contextmanager
def instrumented(parts: dict[str, float]) -> Iterator[None]:
    """While open, adds to `parts` (milliseconds) the time of each SQL statement (by the
    function that ran it), of the template's rendering, of the module graph the template's
    `module_script` tags compute (portal/static_integrity.py: per request under the benchmark's
    test settings, WHITENOISE_AUTOREFRESH; once per process in production) and of the decryption
    of encrypted fields. Each part is net of the parts timed inside it, so they add up."""
    from django.db import connection
    from django.template.backends.django import Template

    from portal.crypto import StrictDecryptMixin
    from portal.templatetags import scripts

    running: list[str] = []

    def timing(name_of: Callable[..., str], fn: Callable) -> Callable:
        def timed_fn(*args: Any, **kwargs: Any) -> Any:
            name = name_of(*args)
            running.append(name)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                ms = (time.perf_counter() - started) * 1000
                running.pop()
                parts[name] += ms
                if running:
                    parts[running[-1]] -= ms

        return timed_fn

    def statement(execute: Callable, sql: str, *_rest: Any) -> str:
        kind = "count" if sql.startswith("SELECT COUNT(") else sql.split(None, 1)[0].lower()
        return f"{SQL}: {_caller()} ({kind})"

    def execute(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        return execute(sql, params, many, context)

    patched = (
        (Template, "render", TEMPLATE),
        (scripts, "module_graph", SRI),
        (StrictDecryptMixin, "from_db_value", DECRYPT),
    )
    originals = [getattr(owner, name) for owner, name, _part in patched]
    for (owner, name, part), original in zip(patched, originals, strict=True):
        setattr(owner, name, timing(lambda *args, part=part: part, original))
    try:
        with connection.execute_wrapper(timing(statement, execute)):
            yield
    finally:
        for (owner, name, _part), original in zip(patched, originals, strict=True):
            setattr(owner, name, original)


def breakdown(
    get: Callable[[], object], statements: list[tuple[str, Any]], *, samples: int
) -> dict[str, Any]:
    """The mean of each part of the page over `samples` instrumented requests (means add up;
    the instruments add a little to the whole), and the data floor's two statements on their
    own (the page's rows, the viewer's key with its certificate)."""
    from django.db import connection

    totals: dict[str, float] = defaultdict(float)
    for _ in range(samples):
        parts: dict[str, float] = defaultdict(float)
        with instrumented(parts):
            started = time.perf_counter()
            get()
            page = (time.perf_counter() - started) * 1000
        parts[SQL] = sum(ms for name, ms in parts.items() if name.startswith(f"{SQL}: "))
        parts[PYTHON] = page - sum(ms for name, ms in parts.items() if name != SQL)
        parts["page"] = page
        for name, ms in parts.items():
            totals[name] += ms
    floor: dict[str, float] = defaultdict(float)
    with connection.connection.cursor() as cur:
        for _ in range(samples):
            for label, (sql, params) in zip(("page", "key"), statements, strict=True):
                started = time.perf_counter()
                cur.execute(sql, params)
                cur.fetchall()
                floor[label] += (time.perf_counter() - started) * 1000
    means = {name: round(ms / samples, 2) for name, ms in sorted(totals.items(), key=_by_size)}
    return {"samples": samples, "mean_ms": means,
            "floor_mean_ms": {k: round(v / samples, 2) for k, v in floor.items()}}  # fmt: skip


def _by_size(item: tuple[str, float]) -> tuple[bool, float]:
    """The whole page first, then the parts from the largest."""
    name, ms = item
    return name != "page", -ms


# --- query counts ------------------------------------------------------------------------------


def inbox_queries(bench: Bench) -> dict[str, int]:
    """The inbox page's queries in Bench inbox counts with 10, then 1,000 threads, each with
    one message from its patient that the viewer has not read (all unread: a full page)."""
    from django.urls import reverse
    from django.utils import timezone

    from clinics.models import Clinic, User
    from messaging.thread_selectors import TEAM_INBOX_PAGE_SIZE
    from patients.models import Patient

    clinic = Clinic.objects.get(name=COUNTS_CLINIC)
    client = bench.signed_in_client(User.objects.get(email=COUNTS_VIEWER))
    patients = list(Patient.objects.for_clinic(clinic).order_by("pk").values_list("pk", flat=True))
    url = reverse("clinic_messages:team_inbox")
    now = timezone.now()
    counts, made = {}, 0
    for size in INBOX_SIZES:
        threads, messages = [], []
        for index in range(made, size):
            thread_id, at = uuid.uuid4(), now - datetime.timedelta(minutes=index)
            expires = at + datetime.timedelta(days=730)
            threads.append((thread_id, clinic.pk, patients[index], "open", None, at, at, at,
                            None, expires))  # fmt: skip
            key = f"{index:032x}"
            messages.append((uuid.uuid4(), thread_id, "body", True, key, bytes(12),
                             os.urandom(272), bytes(64), key, at, expires, ""))  # fmt: skip
        _copy("messaging_thread", THREAD_COLUMNS, threads)
        _copy("messaging_clinicmessage", MESSAGE_COLUMNS, messages)
        made = size
        get = bench.page_getter(client, url, rows=min(size, TEAM_INBOX_PAGE_SIZE))
        get()  # the first visit fills per-process caches (translations, templates)
        response_queries = bench.query_count(get)
        counts[f"team_inbox_queries_{size}"] = response_queries
    return counts


# --- the attachment upload ---------------------------------------------------------------------


@contextmanager
def private_storage() -> Iterator[Path]:
    """A temporary private storage (as conftest.private_root) for the section's files."""
    from django.conf import settings
    from django.test import override_settings

    with tempfile.TemporaryDirectory(prefix="portal-bench-private-") as tmp:
        root = Path(tmp)
        private = settings.STORAGES["private"]
        storages = {
            **settings.STORAGES,
            "private": {**private, "OPTIONS": {**private["OPTIONS"], "location": root}},
        }
        with override_settings(STORAGES=storages):  # fmt: skip
            yield root


@contextmanager
def no_broker() -> Iterator[None]:
    """The notification task is queued after each commit: no broker push from the benchmark
    (as bench/chat.py's sends)."""
    from celery import current_app

    original = current_app.send_task
    current_app.send_task = lambda *args, **kwargs: None
    try:
        yield
    finally:
        current_app.send_task = original


def _upload_body(thread: Any, sender: Any, recipients: list[Any]) -> tuple[bytes, str, bytes]:
    """A new message with a 10 MB attachment, sealed as the browser seals it, in the multipart
    body the browser posts: (body, its content type, the attachment's ciphertext)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    from messaging import crypto
    from messaging.thread_services import ATTACHMENT_MAX_PLAIN_BYTES

    row = crypto.seal_message(
        conversation_id=str(thread.pk), kind="body", sender=sender,
        plain={"v": 1, "body": "Hierbij de scan van de brief van het ziekenhuis."},
        recipients=[crypto.Recipient(key_id=k.key_id, kem_public=bytes(k.kem_public))
                    for k in recipients],
        file=("scan.pdf", os.urandom(ATTACHMENT_MAX_PLAIN_BYTES)),
    )  # fmt: skip
    cipher = row.pop("attachment")
    file = SimpleUploadedFile("attachment.bin", cipher, "application/octet-stream")
    body = encode_multipart(BOUNDARY, {"message": json.dumps(row), "attachment": file})
    # An equal string but not the client's MULTIPART_CONTENT object itself: then the client
    # sends the body as it is instead of encoding it again.
    return body, MULTIPART_CONTENT.encode().decode(), cipher


def measure_upload(bench: Bench) -> dict[str, Any]:
    """Uploads of a 10 MB attachment through the patient's endpoint and the floor (the same
    bytes written into the same folder with plain file I/O), taking turns after one untimed
    upload; each upload's file is checked against what was sent, outside the clock."""
    from django.urls import reverse

    from clinics.models import User
    from messaging import crypto, thread_services
    from messaging.models import Certificate, ChatKey, ClinicMessage, Purpose
    from patients.models import Patient

    account = User.objects.get(email=PATIENT_ACCOUNT)
    patient = Patient.objects.get(user=account)
    stored_key = ChatKey.objects.get(user=account)
    # The patient's browser unlocks their key set with the passphrase.
    sender = crypto.open_private(stored_key.sealed_private["passphrase"], PASSPHRASE,
                                 stored_key.key_id)  # fmt: skip
    team = [c.staff_key for c in Certificate.objects.for_clinic(patient.clinic).current(
        Purpose.TEAM).select_related("staff_key")]  # fmt: skip
    thread = thread_services.thread_open(patient)
    client = bench.signed_in_client(account)
    url = reverse("clinic_messages:my_api_messages", args=[patient.pk])
    uploads, floors = [], []
    with private_storage() as root, no_broker():
        folder = root / thread_services.ATTACHMENT_FOLDER
        for attempt in range(bench.upload_runs + 1):
            body, content_type, cipher = _upload_body(thread, sender, [stored_key, *team])
            assert len(cipher) == thread_services.ATTACHMENT_MAX_BYTES, len(cipher)
            started = time.perf_counter()
            response = client.post(url, body, content_type=content_type)
            seconds = time.perf_counter() - started
            assert response.status_code == 201, response.content[:300]
            message = ClinicMessage.objects.get(pk=response.json()["id"])
            stored = (root / message.attachment).read_bytes()
            assert hashlib.sha256(stored).digest() == hashlib.sha256(cipher).digest()
            assert message.attachment_size == len(cipher)
            started = time.perf_counter()
            with (folder / uuid.uuid4().hex).open("wb") as out:
                out.write(cipher)
            floor_seconds = time.perf_counter() - started
            if attempt:  # the first of each is a warm-up
                uploads.append(seconds)
                floors.append(floor_seconds)
    size_mb = thread_services.ATTACHMENT_MAX_BYTES / MB
    return {
        "bytes": thread_services.ATTACHMENT_MAX_BYTES,
        "body_bytes": len(body),
        "upload_s": [round(s, 3) for s in uploads],
        "floor_s": [round(s, 4) for s in floors],
        "mb_per_s": round(size_mb / statistics.median(uploads), 1),
        "best_mb_per_s": round(size_mb / min(uploads), 1),
        "floor_mb_per_s": round(size_mb / statistics.median(floors), 1),
        "floor_best_mb_per_s": round(size_mb / min(floors), 1),
        "ratio": round(statistics.median(uploads) / statistics.median(floors), 1),
    }


# --- the section -------------------------------------------------------------------------------


def measure_messages(bench: Bench) -> dict[str, Any]:
    seed_clinic(bench)
    seed_counts_clinic(bench)
    results: dict[str, Any] = {"seed": seed_threads()}
    bench.checkpoint()
    s = results["seed"]
    print(f"  seeded {s['threads']} threads, {s['messages']:,} messages, {s['wraps']:,} wraps, "
          f"{s['reads']} reads in {s['seconds']} s", flush=True)  # fmt: skip
    results["inbox"] = measure_inbox(bench)
    results["upload"] = measure_upload(bench)
    u = results["upload"]
    print(f"  attachment upload: {u['mb_per_s']} MB/s (best {u['best_mb_per_s']}), floor "
          f"{u['floor_mb_per_s']} MB/s", flush=True)  # fmt: skip
    results["queries"] = inbox_queries(bench)
    print(f"  team inbox queries: {results['queries']}", flush=True)
    return results


def headline(messages: dict[str, Any]) -> dict[str, Any]:
    inbox, search = messages["inbox"]["inbox"], messages["inbox"]["search"]
    upload = messages["upload"]
    return {
        "team_inbox_p50_ms": inbox["page"]["p50_ms"],
        "team_inbox_p95_ms": inbox["page"]["p95_ms"],
        "team_inbox_floor_p50_ms": inbox["floor"]["p50_ms"],
        "team_inbox_floor_p95_ms": inbox["floor"]["p95_ms"],
        "team_inbox_ratio": inbox["ratio_p95"],
        "team_inbox_data_floor_p95_ms": inbox["data_floor"]["p95_ms"],
        "team_inbox_data_ratio": inbox["data_ratio_p95"],
        "team_inbox_queries": inbox["queries"],
        "team_inbox_search_p95_ms": search["page"]["p95_ms"],
        "team_inbox_search_floor_p95_ms": search["floor"]["p95_ms"],
        "team_inbox_search_ratio": search["ratio_p95"],
        **messages["queries"],
        "attachment_upload_mb_per_s": upload["mb_per_s"],
        "attachment_upload_best_mb_per_s": upload["best_mb_per_s"],
        "attachment_floor_mb_per_s": upload["floor_mb_per_s"],
        "attachment_upload_ratio": upload["ratio"],
    }


def report(messages: dict[str, Any]) -> list[str]:
    lines = []
    for name, label in (("inbox", "team inbox, 500 threads"), ("search", f"  ?q={SEARCH}")):
        p = messages["inbox"][name]
        lines.append(
            f"{label:28}{p['page']['p50_ms']:>8.1f}{p['page']['p95_ms']:>8.1f}"
            f"{p['floor']['p50_ms']:>10.2f}{p['floor']['p95_ms']:>10.2f}"
            f"{p['ratio_p50']:>6.1f}{p['ratio_p95']:>6.1f}{p['queries']:>8}"
        )
    lines.append("team inbox, mean ms by part:")
    for name, ms in messages["inbox"]["parts"]["mean_ms"].items():
        lines.append(f"  {ms:>8.2f}  {name}")
    u = messages["upload"]
    lines.append(
        f"attachment upload ({u['bytes']:,} bytes): {u['mb_per_s']} MB/s median, "
        f"{u['best_mb_per_s']} best; floor (plain file write) {u['floor_mb_per_s']} MB/s; "
        f"×{u['ratio']}"
    )
    lines.append(f"team inbox queries at 10 / 1,000 threads: "
                 f"{messages['queries']['team_inbox_queries_10']} / "
                 f"{messages['queries']['team_inbox_queries_1000']}")  # fmt: skip
    return lines
