"""The clinic-scale benchmark (`make bench`): dashboard, patient page, CSV import, Apple memory.

Seeds (once, then re-used; `--reseed` to start over) a clinic of 500 patients with two years of
readings (~1.5 million rows, loaded with COPY) and a clinic of 50 patients with 90 days, then
measures in-process with Django's test client, so what is timed is the server's work:

- the clinic dashboard (first page and a page in the middle) and the patient page (two years of
  blood pressure): p50/p95 over `--requests` requests after a warm-up, the SQL query count, and
  the ratio to the SQL floor, the fastest hand-written SQL returning the same data, timed in the
  same run on the same connection the same way;
- the end-to-end import (upload, check, commit) of a 100,000-row OMRON CSV for a fresh patient;
- the peak memory of `import_check` on two Apple Health exports ten times apart in size, and on
  two OMRON CSVs of junk rows ten times apart in size;
- the counsellor chat's purge of 1,000,000 expired messages with their wraps against raw batched
  DELETEs, and a send's write path idle and during that purge (bench/chat.py);
- clinic messages: the team inbox with 500 threads and 20,000 messages against its SQL floor,
  its query count at 10 and 1,000 threads, and a 10 MB attachment's upload against a plain file
  write (bench/messages.py).

Prints a table and writes bench/results.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import io
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from bench import chat, messages, programs  # noqa: E402 - needs the path above
from bench.harness import Bench  # noqa: E402

SEED_VERSION = 1
BIG, SMALL, IMPORTS = "Bench clinic 500", "Bench clinic 50", "Bench imports"
BIG_PATIENTS, BIG_DAYS = 500, 730
SMALL_PATIENTS, SMALL_DAYS = 50, 90
STEPS_EVERY = 5  # one patient in five also has a step counter
PAGE_SIZE = 25
IMPORT_ROWS = 100_000
APPLE_RECORDS = (48_000, 480_000)  # ~20 MB and ~200 MB, as the parser's memory test
JUNK_BYTES = (2 * 1024 * 1024, 20 * 1024 * 1024)  # OMRON CSVs of refused rows (issue 8, F3)
RESULTS = ROOT / "bench" / "results.json"
TARGET_RATIO, TARGET_ROWS_PER_S, TARGET_MEMORY_RATIO = 3.0, 20_000, 1.5
TARGET_PURGE_RATIO, TARGET_SEND_DURING_PURGE = 1.5, 2.0  # issue 10
TARGET_INBOX_RATIO = 3.0  # issue 11
TARGET_PROGRAM_RATIO = 3.0  # issue 12
SECTIONS = ("pages", "import", "apple", "junk", "chat", "messages", "programs")


# --- the database ------------------------------------------------------------------------------


def setup_django(*, reseed: bool) -> None:
    from django.conf import settings

    from portal.database import database_ensure

    database_ensure(settings.DATABASES["default"], drop=reseed)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_seed (name text PRIMARY KEY, info jsonb NOT NULL)"
        )


# --- seeding -----------------------------------------------------------------------------------


def seed_marker(name: str) -> dict | None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT info FROM bench_seed WHERE name = %s", [name])
        row = cur.fetchone()
    if row is None:
        return None
    info = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    return info if info.get("version") == SEED_VERSION else None


def seed_mark(name: str, info: dict) -> None:
    """Record that `name` is seeded, with `info` (the version is added)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("DELETE FROM bench_seed WHERE name = %s", [name])
        cur.execute("INSERT INTO bench_seed (name, info) VALUES (%s, %s)",
                    [name, json.dumps({"version": SEED_VERSION, **info})])  # fmt: skip


def staff_for(clinic: Any, email: str) -> Any:
    """A professional of `clinic` with a confirmed authenticator (MFA passes in the session)."""
    from clinics.mfa_devices import AuthenticatorDevice
    from clinics.models import Membership, Role, User

    user, _created = User.objects.get_or_create(email=email)
    Membership.objects.get_or_create(clinic=clinic, user=user, defaults={"role": Role.PROFESSIONAL})
    if not AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists():
        AuthenticatorDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


GIVEN = [
    "Anna",
    "Bram",
    "Carla",
    "Daan",
    "Eva",
    "Femke",
    "Gijs",
    "Hanna",
    "Isa",
    "Joost",
    "Kees",
    "Lotte",
    "Noor",
    "Olaf",
    "Pien",
    "Yara",
]
FAMILY = [
    "de Vries",
    "Jansen",
    "van Dijk",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
]

COLUMNS = (
    "clinic_id", "patient_id", "kind", "measured_at", "value", "systolic", "diastolic", "pulse",
    "irregular_heartbeat", "source", "source_file", "device", "received_at", "dedup_key",
)  # fmt: skip


def _key(*parts: object) -> str:
    # validation.dedup_key's digest; seed_rows checks a sample against the real function.
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def seed_rows(
    clinic_id: int, patient_id: int, index: int, days: int, now: datetime.datetime
) -> Iterator[tuple]:
    """Two years (or `days`) of one patient's home readings, as COPY rows.

    Blood pressure morning and evening, weight and heart rate daily, steps for some; each
    patient has their own level and drift, and one in five stopped measuring some days ago.
    """
    from django.utils import timezone

    rng = random.Random(index)
    tz = timezone.get_default_timezone()
    today = now.astimezone(tz).date()
    stopped = rng.randint(1, 60) if index % 5 == 4 else 0
    systolic0, weight0, rate0 = rng.randint(112, 158), rng.randint(550, 1100), rng.randint(58, 84)
    drift = rng.uniform(-0.01, 0.01)
    device, source, file = "OMRON M7 Intelli IT (HEM-7361T-EBK)", "file", "bench.csv"
    has_steps = index % STEPS_EVERY == 0
    for day in range(days - 1, stopped - 1, -1):
        date = today - datetime.timedelta(days=day)
        midnight = datetime.datetime(date.year, date.month, date.day, tzinfo=tz)
        trend = drift * (days - day)
        for minute in (rng.randint(420, 510), rng.randint(1230, 1290)):
            at = midnight + datetime.timedelta(minutes=minute, seconds=rng.randint(0, 59))
            if at > now:
                continue
            systolic = max(80, min(220, int(systolic0 + trend * 10 + rng.gauss(0, 8))))
            diastolic = max(45, min(systolic - 15, int(systolic * 0.63 + rng.gauss(0, 5))))
            pulse = max(40, min(140, int(rate0 + rng.gauss(0, 6))))
            instant = at.astimezone(datetime.UTC).isoformat()
            yield (
                clinic_id, patient_id, "blood_pressure", at, None, systolic, diastolic, pulse,
                rng.random() < 0.02, source, file, device, at,
                _key("blood_pressure", instant, None, systolic, diastolic, pulse),
            )  # fmt: skip
        at = midnight + datetime.timedelta(minutes=rng.randint(425, 480))
        if at <= now:
            tenths = int(weight0 + trend * 30 + rng.gauss(0, 4))
            weight = Decimal(tenths).scaleb(-1)
            yield (
                clinic_id, patient_id, "weight", at, weight, None, None, None, None, source,
                file, "Withings Body+", at,
                _key("weight", at.astimezone(datetime.UTC).isoformat(), weight, None, None, None),
            )  # fmt: skip
        at = midnight + datetime.timedelta(minutes=rng.randint(600, 900))
        if at <= now:
            rate = Decimal(max(40, min(160, int(rate0 + rng.gauss(0, 7)))))
            yield (
                clinic_id, patient_id, "heart_rate", at, rate, None, None, None, None, source,
                file, "Apple Watch", at,
                _key("heart_rate", at.astimezone(datetime.UTC).isoformat(), rate, None, None, None),
            )  # fmt: skip
        at = midnight + datetime.timedelta(hours=12)
        if has_steps and at <= now:
            steps = Decimal(rng.randint(1500, 16000))
            yield (
                clinic_id, patient_id, "steps", at, steps, None, None, None, None, source, file,
                "iPhone", at, _key("steps", date.isoformat()),
            )  # fmt: skip


def check_dedup_keys(rows: list[tuple]) -> None:
    """The seeded keys are exactly validation.dedup_key's: duplicates checks see the seed."""
    from patients.imports.base import Reading
    from patients.measurements.validation import dedup_key

    for row in rows:
        reading = Reading(
            line=0, kind=row[2], measured_at=row[3], value=row[4], systolic=row[5],
            diastolic=row[6], pulse=row[7], irregular_heartbeat=row[8],
        )  # fmt: skip
        assert dedup_key(reading) == row[-1], (row, dedup_key(reading))


def seed_clinic(name: str, patients: int, days: int) -> None:
    """A clinic, its professional, `patients` patients (through patient_create: encryption and
    name index) and their readings, COPYed in one transaction with the marker."""
    from django.db import connection, transaction
    from django.utils import timezone

    from clinics.models import Clinic
    from patients.models import Measurement
    from patients.services import patient_create

    started = time.perf_counter()
    now = timezone.now() - datetime.timedelta(minutes=10)
    with transaction.atomic():
        clinic, _created = Clinic.objects.get_or_create(name=name)
        staff = staff_for(clinic, f"pro-{patients}@bench.example")
        with connection.cursor() as cur:
            cur.execute("DELETE FROM bench_seed WHERE name = %s", [name])
        ids = []
        for i in range(patients):
            patient = patient_create(
                clinic=clinic,
                actor=staff,
                given_name=GIVEN[i % len(GIVEN)],
                family_name=f"{FAMILY[(i // len(GIVEN)) % len(FAMILY)]} {i:03d}",
                date_of_birth=datetime.date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
                email=f"patient{i}@{patients}.bench.example",
            )
            ids.append(patient.pk)
        table = Measurement._meta.db_table
        rows = 0
        raw = connection.connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for index, patient_id in enumerate(ids):
                patient_rows = list(seed_rows(clinic.pk, patient_id, index, days, now))
                if index % 50 == 0:
                    check_dedup_keys(patient_rows[:: max(1, len(patient_rows) // 40)])
                for row in patient_rows:
                    cp.write_row(row)
                rows += len(patient_rows)
        seed_mark(name, {"patients": patients, "rows": rows, "seeded_at": now.isoformat()})
    # Autovacuum would do this soon after a real load: statistics, and the visibility map that
    # lets index-only scans skip the table.
    with connection.cursor() as cur:
        cur.execute(f"VACUUM (ANALYZE) {table}")
    print(f"  seeded {name}: {patients} patients, {rows:,} readings "
          f"in {time.perf_counter() - started:.0f} s")  # fmt: skip


def seed(reseed: bool) -> dict[str, Any]:
    from django.db import connection

    from clinics.models import Clinic

    clinics = ((BIG, BIG_PATIENTS, BIG_DAYS), (SMALL, SMALL_PATIENTS, SMALL_DAYS))
    for name, patients, days in clinics:
        if reseed or seed_marker(name) is None or not Clinic.objects.filter(name=name).exists():
            if Clinic.objects.filter(name=name).exists():
                raise SystemExit(f"{name} exists without a seed marker: run with --reseed.")
            seed_clinic(name, patients, days)
        else:
            print(f"  re-using {name}: {seed_marker(name)['rows']:,} readings")
    # The tables the pages read besides the readings, filled by the seed (the patients, and the
    # newest readings and daily sums the database keeps from the readings): what autovacuum would
    # do soon after a real load, done here because a machine may run PostgreSQL without it.
    # Without statistics the planner takes a clinic's 1,500 newest readings for 5 and hashes
    # them all instead of probing 75; without the visibility map no scan is index-only.
    with connection.cursor() as cur:
        for table in (
            "patients_patient", "patients_latestreading", "patients_dailyreading",
            "patients_patientnametoken",
        ):  # fmt: skip
            cur.execute(f"VACUUM (ANALYZE) {table}")
    return {name: seed_marker(name) for name in (BIG, SMALL)}


# --- timing ------------------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(*fns: Callable[[], object], requests: int, warmup: int) -> list[dict[str, float]]:
    """p50, p95 and min of each function, in milliseconds. With several (a page and its floor)
    they take turns, call by call, so that both see the same moments of a shared machine."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(requests):
        for fn, times in zip(fns, samples, strict=True):
            started = time.perf_counter()
            fn()
            times.append((time.perf_counter() - started) * 1000)
    return [
        {
            "p50_ms": round(percentile(times, 50), 2),
            "p95_ms": round(percentile(times, 95), 2),
            "min_ms": round(min(times), 2),
        }
        for times in samples
    ]


def signed_in_client(user: Any) -> Any:
    """A test client signed in with both factors, as conftest.login does."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    client.force_login(user, backend="allauth.account.auth_backends.AuthenticationBackend")
    session = client.session
    device = user.authenticatordevice_set.filter(confirmed=True).first()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def page_getter(
    client: Any, url: str, status: int = 200, rows: int | None = None
) -> Callable[[], object]:
    """A GET of `url` that must answer `status` (and show `rows` table rows, when given)."""

    def get() -> object:
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code)
        if rows is not None:
            assert response.content.count(b'<th scope="row">') == rows, url
        return response

    return get


def query_count(fn: Callable[[], object]) -> int:
    """The statements one call makes."""
    return len(executed_by(fn))


def sql_runner(statements: list[tuple[str, list]]) -> Callable[[], object]:
    """Run hand-written SQL on the Django connection's own psycopg connection, fetching all."""
    from django.db import connection

    connection.ensure_connection()

    def run() -> object:
        rows = []
        with connection.connection.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
                rows.append(cur.fetchall() if cur.description else cur.rowcount)
        return rows

    return run


def signed_in_statements(user: Any) -> list[tuple[str, Any]]:
    """What every signed-in request asks the database before its view runs, hand-written: the
    session's user, the second factor's device, and the active memberships with whether the
    user has patient records (tenancy's own statement). The session itself is in the cache."""
    from clinics.tenancy import signed_in_statement

    device = user.authenticatordevice_set.get(confirmed=True)
    return [
        ("SELECT * FROM clinics_user WHERE id = %(id)s", {"id": user.pk}),
        ("SELECT * FROM clinics_authenticatordevice WHERE id = %(id)s", {"id": device.pk}),
        (signed_in_statement(user.memberships.model)[0], {"user": user.pk}),
    ]


def executed_by(fn: Callable[[], object]) -> list[tuple[str, Any]]:
    """The statements `fn` runs, as executed: a floor takes the project's hand-written SQL as
    it is rather than a copy of it."""
    from django.db import connection

    executed: list[tuple[str, Any]] = []

    def keep(execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        executed.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        fn()
    return executed


def layout_statements(user: Any) -> list[tuple[str, Any]]:
    """What the base layout shows beside any page, as executed: the navigation's unread count
    of a team member or a counsellor (messaging.context_processors), read lazily by the page."""
    from django.test import RequestFactory

    from clinics.tenancy import active_membership
    from messaging.context_processors import chat_unread

    request = RequestFactory().get("/")
    request.user, request.session = user, {}
    request.membership = active_membership(request)
    return executed_by(lambda: [str(value) for value in chat_unread(request).values()])


def writes_of(page: Callable[[], object]) -> list[tuple[str, Any]]:
    """The writes one request of a page makes (the access log's INSERT, for a record's page),
    taken as they are executed: a floor must do them too."""
    return [
        (sql, p) for sql, p in executed_by(page) if not sql.lstrip().upper().startswith("SELECT")
    ]


def page_against_floor(
    page: Callable[[], object],
    user: Any,
    data: list[tuple[str, Any]],
    *,
    requests: int,
    warmup: int,
) -> dict[str, Any]:
    """A page and its SQL floor taking turns (see the README, "SQL floor"). The floor is what the
    database must do for the page, hand-written and with no Python around it: the signed-in
    request's statements, the layout's, the page's data (`data`) and the page's writes. The
    data alone is timed in the same turns (the floor until 2026-12-01), for comparison."""
    floor = signed_in_statements(user) + layout_statements(user) + data + writes_of(page)
    page_times, floor_times, data_times = timed(
        page, sql_runner(floor), sql_runner(data), requests=requests, warmup=warmup
    )
    return {
        "page": page_times,
        "floor": floor_times,
        "floor_statements": len(floor),
        "data_floor": data_times,
        "queries": query_count(page),
        "ratio_p50": round(page_times["p50_ms"] / floor_times["p50_ms"], 1),
        "ratio_p95": round(page_times["p95_ms"] / floor_times["p95_ms"], 1),
        "data_ratio_p95": round(page_times["p95_ms"] / data_times["p95_ms"], 1),
    }


# --- the SQL floors ----------------------------------------------------------------------------

DASHBOARD_FLOOR = """
WITH rules AS (  -- the clinic's active triage rules (as patients.measurements.alerts.Triage)
    SELECT r.* FROM patients_thresholdrule r
    WHERE r.clinic_id = %(clinic)s AND r.is_active
      AND r.rule_type IN ('upper', 'lower', 'no_reading')
),
triaged AS (  -- the newest reading per kind is a row of patients_latestreading (triggers)
    SELECT p.id, p.given_name, p.family_name, p.date_of_birth, p.user_id,
           (SELECT max(l.measured_at) FROM patients_latestreading l
            WHERE l.patient_id = p.id) AS last_reading_at,
           (SELECT count(*) FROM patients_alert a
            WHERE a.patient_id = p.id AND a.acknowledged_at IS NULL) AS open_alerts,
           ARRAY(  -- the patient's effective rules that hold now
               SELECT r.id FROM rules r
               LEFT JOIN patients_latestreading l ON l.patient_id = p.id AND l.kind = r.kind
               WHERE (r.patient_id = p.id OR (r.patient_id IS NULL AND NOT EXISTS (
                        SELECT 1 FROM rules o WHERE o.patient_id = p.id AND o.kind = r.kind
                          AND o.rule_type = r.rule_type)))
                 AND CASE WHEN r.rule_type = 'no_reading' THEN
                        p.user_id IS NOT NULL AND (l.measured_at IS NULL
                            OR l.measured_at < %(now)s - r.days * interval '1 day')
                     WHEN r.rule_type = 'upper' THEN
                        coalesce(l.systolic, l.value) > r.limit OR l.diastolic > r.limit_diastolic
                     ELSE
                        coalesce(l.systolic, l.value) < r.limit OR l.diastolic < r.limit_diastolic
                     END
           ) AS holding
    FROM patients_patient p WHERE p.clinic_id = %(clinic)s
),
page AS (
    SELECT * FROM triaged
    ORDER BY (open_alerts > 0 OR cardinality(holding) > 0) DESC, open_alerts DESC,
             last_reading_at ASC NULLS FIRST, id
    LIMIT 25 OFFSET %(offset)s
)
SELECT page.*, (SELECT count(*) FROM patients_patient WHERE clinic_id = %(clinic)s) AS patients,
       (SELECT array_agg(a.id) FROM patients_alert a
        WHERE a.patient_id = page.id AND a.acknowledged_at IS NULL) AS alerts,
       k.kind, r.measured_at, r.value, r.systolic, r.diastolic, w.*
FROM page
CROSS JOIN unnest(%(kinds)s::text[]) AS k(kind)
LEFT JOIN patients_latestreading r ON r.patient_id = page.id AND r.kind = k.kind
LEFT JOIN LATERAL (  -- the trend (this week's mean against last week's) and the sparkline, from
    -- the daily counts and sums the database keeps in patients_dailyreading (triggers)
    SELECT sum(d.main_sum) FILTER (WHERE d.day > %(week)s)
               / nullif(sum(d.main_count) FILTER (WHERE d.day > %(week)s), 0) AS recent,
           sum(d.main_sum) FILTER (WHERE d.day <= %(week)s AND d.day > %(fortnight)s)
               / nullif(sum(d.main_count) FILTER (WHERE d.day <= %(week)s
                                                  AND d.day > %(fortnight)s), 0) AS before,
           array_agg(d.day) AS days, array_agg(d.main_mean) AS means,
           array_agg(d.second_mean) AS second_means
    FROM patients_dailyreading d
    WHERE d.patient_id = page.id AND d.kind = k.kind
      AND d.day >= %(first_day)s AND d.day <= %(today)s
) w ON true
ORDER BY page.id, k.kind
"""

PATIENT_FLOOR = [
    # The record.
    """
    SELECT p.id, p.given_name, p.family_name, p.date_of_birth, p.user_id
    FROM patients_patient p WHERE p.id = %(patient)s
    """,
    # The newest reading of each kind (the page's tabs and latest values), as the database
    # keeps it in patients_latestreading.
    """
    SELECT l.kind, l.measured_at, l.value, l.systolic, l.diastolic
    FROM patients_latestreading l
    WHERE l.patient_id = %(patient)s AND l.kind = ANY(%(all_kinds)s::text[]) ORDER BY l.kind
    """,
    # The readings table's first page.
    """
    SELECT m.id, m.measured_at, m.systolic, m.diastolic, m.pulse, m.irregular_heartbeat,
           m.source, m.source_file, m.device
    FROM patients_measurement m WHERE m.patient_id = %(patient)s AND m.kind = 'blood_pressure'
    ORDER BY m.measured_at DESC LIMIT 50
    """,
    # Chart points (local days) and, as the grand total row, the period statistics and count.
    """
    SELECT date_trunc('day', m.measured_at AT TIME ZONE %(tz)s) AS day, count(*),
           avg(m.systolic), min(m.systolic), max(m.systolic),
           avg(m.diastolic), min(m.diastolic), max(m.diastolic),
           avg(m.pulse), min(m.pulse), max(m.pulse)
    FROM patients_measurement m WHERE m.patient_id = %(patient)s AND m.kind = 'blood_pressure'
    GROUP BY ROLLUP (1) ORDER BY 1
    """,
    # The ESH home average: the last week of morning and evening readings.
    """
    SELECT m.measured_at, m.systolic, m.diastolic
    FROM patients_measurement m WHERE m.patient_id = %(patient)s AND m.kind = 'blood_pressure'
      AND m.measured_at >= (SELECT max(measured_at) FROM patients_measurement
                            WHERE patient_id = %(patient)s AND kind = 'blood_pressure')
                           - interval '7 days'
    """,
    # The patient's rules (their own and the clinic's defaults), drawn on the chart.
    """
    SELECT r.id, r.kind, r.rule_type, r.limit, r.limit_diastolic FROM patients_thresholdrule r
    WHERE r.clinic_id = %(clinic)s AND (r.patient_id = %(patient)s OR r.patient_id IS NULL)
      AND r.is_active
    """,
    # Open alerts.
    """
    SELECT a.id, a.kind, a.detail, a.raised_at FROM patients_alert a
    WHERE a.patient_id = %(patient)s AND a.acknowledged_at IS NULL ORDER BY a.raised_at DESC
    """,
]


# --- measurements ------------------------------------------------------------------------------


def measure_pages(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings
    from django.urls import reverse
    from django.utils import timezone

    from clinics.models import Clinic, User
    from patients.kinds import KINDS
    from patients.measurements.selectors import DASHBOARD_KINDS, SPARKLINE_DAYS, TREND_PERIOD
    from patients.models import Patient

    big, small = Clinic.objects.get(name=BIG), Clinic.objects.get(name=SMALL)
    big_client = signed_in_client(User.objects.get(email=f"pro-{BIG_PATIENTS}@bench.example"))
    small_client = signed_in_client(User.objects.get(email=f"pro-{SMALL_PATIENTS}@bench.example"))
    dashboard = reverse("patients:list")
    middle_page = BIG_PATIENTS // PAGE_SIZE // 2
    patient_ids = list(
        Patient.objects.filter(clinic=big).order_by("id").values_list("pk", flat=True)
    )
    patient = patient_ids[len(patient_ids) // 2]  # a patient who measured until today
    small_patient = Patient.objects.filter(clinic=small).order_by("id").first().pk
    two_years = "?kind=blood_pressure&period=all"
    patient_url = reverse("patients:measurements", args=[patient]) + two_years
    kinds = sorted(DASHBOARD_KINDS)
    all_kinds = sorted(KINDS)
    n, warmup = args.requests, args.warmup

    def data(statements: list[str], params: dict) -> list[tuple[str, Any]]:
        return [(sql, params) for sql in statements]

    now = timezone.now()
    today = timezone.localdate(now)
    week = {
        "now": now,
        "today": today,
        "first_day": today - datetime.timedelta(days=SPARKLINE_DAYS - 1),
        "week": today - TREND_PERIOD,
        "fortnight": today - 2 * TREND_PERIOD,
    }
    big_user = User.objects.get(email=f"pro-{BIG_PATIENTS}@bench.example")
    # The dashboard's triage evaluates the clinic's rules: the demo's defaults, as in the imports
    # clinic.
    import_rules(big, big_user)

    cases = {
        "dashboard": (
            page_getter(big_client, dashboard),
            data([DASHBOARD_FLOOR], {"clinic": big.pk, "offset": 0, "kinds": kinds, **week}),
        ),
        "dashboard_middle": (
            page_getter(big_client, f"{dashboard}?page={middle_page}"),
            data(
                [DASHBOARD_FLOOR],
                {"clinic": big.pk, "offset": (middle_page - 1) * PAGE_SIZE, "kinds": kinds, **week},
            ),
        ),
        "patient_page": (
            page_getter(big_client, patient_url),
            data(
                PATIENT_FLOOR,
                {
                    "patient": patient,
                    "clinic": big.pk,
                    "all_kinds": all_kinds,
                    "tz": settings.TIME_ZONE,
                },
            ),
        ),
    }
    results: dict[str, Any] = {
        name: page_against_floor(page, big_user, statements, requests=n, warmup=warmup)
        for name, (page, statements) in cases.items()
    }
    small_patient_url = reverse("patients:measurements", args=[small_patient]) + two_years
    results["queries"] = {
        "dashboard_50": query_count(page_getter(small_client, dashboard)),
        "dashboard_500": results["dashboard"]["queries"],
        "patient_page_50": query_count(page_getter(small_client, small_patient_url)),
        "patient_page_500": results["patient_page"]["queries"],
    }
    (small_dashboard,) = timed(page_getter(small_client, dashboard), requests=n, warmup=warmup)
    results["dashboard_50"] = {"page": small_dashboard}
    # What every signed-in request costs before a view does anything: session, user, second
    # factor, membership, access policy. "/" only redirects a professional.
    (redirect,) = timed(page_getter(big_client, reverse("home"), 302), requests=n, warmup=warmup)
    results["signed_in_redirect"] = {
        "page": redirect,
        "queries": query_count(page_getter(big_client, reverse("home"), 302)),
    }
    return results


# --- import ------------------------------------------------------------------------------------

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def omron_csv(rows: int) -> bytes:
    """An English OMRON connect report of `rows` readings at distinct minutes, newest first."""
    from django.utils import timezone

    from patients.tests.test_imports import OMRON_HEADER

    rng = random.Random(7)
    tz = timezone.get_default_timezone()
    newest = timezone.now().astimezone(tz).replace(second=0, microsecond=0)
    newest -= datetime.timedelta(days=1)
    lines = [OMRON_HEADER]
    for i in range(rows):
        at = newest - datetime.timedelta(minutes=7 * i)
        systolic = rng.randint(105, 170)
        lines.append(
            f"{MONTHS[at.month - 1]} {at.day} {at.year},{at:%H:%M},{systolic},"
            f"{int(systolic * 0.63) + rng.randint(-6, 6)},{rng.randint(50, 95)},-,-,-,-"
        )
    return ("\n".join(lines) + "\n").encode()


# The demo clinic's defaults (seed_demo.seed_alerts): the upper limit is crossed by about a third
# of the imported readings, so each import evaluates its readings and raises one alert.
IMPORT_RULES = (
    ("blood_pressure", "upper", {"limit": Decimal(150), "limit_diastolic": Decimal(95)}),
    ("blood_pressure", "no_reading", {"days": 3}),
    ("weight", "no_reading", {"days": 7}),
)


def import_rules(clinic: Any, staff: Any) -> None:
    """Give the imports clinic the demo's clinic-default rules, once."""
    from patients.measurements.alerts import rule_create
    from patients.models import ThresholdRule

    for kind, rule_type, values in IMPORT_RULES:
        rules = ThresholdRule.objects.for_clinic(clinic).filter(
            patient=None, kind=kind, rule_type=rule_type, is_active=True
        )
        if not rules.exists():
            rule_create(clinic=clinic, actor=staff, patient=None, kind=kind, rule_type=rule_type,
                        **values)  # fmt: skip


def fresh_patient(tag: str) -> Any:
    from clinics.models import Clinic
    from patients.services import patient_create

    clinic, _created = Clinic.objects.get_or_create(name=IMPORTS)
    staff = staff_for(clinic, "pro-imports@bench.example")
    import_rules(clinic, staff)
    return patient_create(
        clinic=clinic, actor=staff, given_name="Import", family_name=tag,
        date_of_birth=datetime.date(1960, 3, 3),
    ), staff  # fmt: skip


def clear_imports(*, vacuum: bool = False) -> None:
    """Remove what earlier runs imported, so the seeded clinics stay as seeded; `vacuum` also
    clears the dead rows out of the table and its indexes, so each run starts alike."""
    from django.db import connection

    from clinics.models import Clinic

    clinic = Clinic.objects.filter(name=IMPORTS).first()
    if clinic is not None:
        with connection.cursor() as cur:
            # Alerts first: they refer to the readings they were raised on.
            for table in ("patients_alert", "patients_measurement", "patients_importbatch",
                          "patients_patientnametoken", "clinics_accesslogentry"):  # fmt: skip
                cur.execute(f"DELETE FROM {table} WHERE clinic_id = %s", [clinic.pk])
            cur.execute("DELETE FROM patients_patient WHERE clinic_id = %s", [clinic.pk])
    if vacuum:
        with connection.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) patients_measurement")


def checkpoint() -> None:
    """Write out what earlier runs left dirty, so a run does not pay for the one before it
    (needs a superuser or pg_checkpoint; skipped without)."""
    from django.db import DatabaseError, connection

    try:
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
    except DatabaseError:
        pass


def import_once(content: bytes, attempt: int) -> dict[str, float]:
    """Upload, check and commit the CSV for a fresh patient, as the web pages do."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from patients.measurements.services import import_check, import_commit, import_upload
    from patients.models import Alert, ImportStatus, MeasurementSource

    patient, staff = fresh_patient(f"CSV {attempt}")
    upload = SimpleUploadedFile("omron-bench.csv", content, "text/csv")
    checkpoint()
    gc.collect()
    t0 = time.perf_counter()
    batch = import_upload(clinic=patient.clinic, actor=staff, patient=patient, upload=upload,
                          source=MeasurementSource.FILE_IMPORT)  # fmt: skip
    t1 = time.perf_counter()
    batch = import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    t2 = time.perf_counter()
    assert batch.rows_valid == IMPORT_ROWS, (batch.rows_valid, batch.errors[:3])
    batch = import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)
    t3 = time.perf_counter()
    assert batch.status == ImportStatus.DONE and batch.rows_imported == IMPORT_ROWS, batch
    assert Alert.objects.filter(patient=patient).count() == 1  # the rules were evaluated
    return {"upload_s": t1 - t0, "check_s": t2 - t1, "commit_s": t3 - t2, "total_s": t3 - t0}


def floor_once(rows: list[tuple], attempt: int) -> float:
    """Seconds to store the same readings the fastest way: one COPY of rows prepared beforehand
    (parsed and keyed, untimed, with their batch) and the commit. What the database and the wire
    cost."""
    from django.db import connection, transaction

    from patients.models import ImportBatch, ImportStatus

    patient, staff = fresh_patient(f"Floor {attempt}")
    # The same data as an import stores, its batch included (a key checked per row).
    batch = ImportBatch.objects.create(
        clinic=patient.clinic, patient=patient, uploaded_by=staff, source="file",
        filename="floor.csv", format="omron", status=ImportStatus.DONE,
    )  # fmt: skip
    rows = [(patient.clinic_id, patient.pk, *row, batch.pk) for row in rows]
    columns = ", ".join((*COLUMNS, "batch_id"))
    checkpoint()
    gc.collect()
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cur,
        cur.copy(f"COPY patients_measurement ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started


def measure_import(args: argparse.Namespace) -> dict[str, Any]:
    from django.utils import timezone

    from patients.imports import omron
    from patients.measurements.validation import dedup_key

    content = omron_csv(IMPORT_ROWS)
    tz = timezone.get_default_timezone()
    now = timezone.now()
    floor_rows = [
        (r.kind, r.measured_at, None, r.systolic, r.diastolic, r.pulse, None, "file", "floor.csv",
         "", now, dedup_key(r))
        for r in omron.parse(io.BytesIO(content), filename="floor.csv", tz=tz)
    ]  # fmt: skip
    clear_imports(vacuum=True)
    runs, floors = [], []
    # Alternately, so that both see the same conditions; each for a patient of its own.
    for attempt in range(args.import_runs):
        floors.append(floor_once(floor_rows, attempt))
        runs.append(import_once(content, attempt))
    clear_imports()
    median = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
    floor = sorted(floors)[len(floors) // 2]
    return {
        "rows": IMPORT_ROWS,
        "file_mb": round(len(content) / 1e6, 1),
        "runs": [{k: round(v, 2) for k, v in r.items()} for r in runs],
        "median": {k: round(v, 2) for k, v in median.items()},
        "rows_per_s": round(IMPORT_ROWS / median["total_s"]),
        "floor_runs_s": [round(f, 2) for f in floors],
        "floor_s": round(floor, 2),
        "floor_rows_per_s": round(IMPORT_ROWS / floor),
    }


# --- Apple Health memory -----------------------------------------------------------------------


def apple_check(path: Path, *, trace: bool) -> dict[str, float]:
    """Upload `path` for a fresh patient and run import_check on it, measuring its peak memory."""
    from patients.models import ImportStatus

    return memory_check(path, name="export.xml", trace=trace, ends=(ImportStatus.PREVIEWED,))


def junk_check(path: Path, *, trace: bool) -> dict[str, float]:
    """The same for an OMRON CSV of junk rows: previewed with every row refused, or refused
    whole as not an OMRON report; either way its memory must not grow with its size."""
    from patients.models import ImportStatus

    ends = (ImportStatus.PREVIEWED, ImportStatus.FAILED)
    return memory_check(path, name="Your Requested OMRON Report.csv", trace=trace, ends=ends)


def max_rss_mb() -> float:
    """The most resident memory this process has held, in MB. VmHWM where Linux has it:
    `ru_maxrss` survives fork and exec, so a child started by a process that once held 1 GB
    reports 1 GB before it has done anything."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(kb) / 1024


def memory_check(path: Path, *, name: str, trace: bool, ends: tuple[str, ...]) -> dict[str, float]:
    from django.core.files.uploadedfile import UploadedFile

    from patients.measurements.services import import_check, import_upload
    from patients.models import MeasurementSource

    patient, staff = fresh_patient(f"Memory {path.stem}")
    with path.open("rb") as stream:
        upload = UploadedFile(stream, name=name, size=path.stat().st_size)
        batch = import_upload(clinic=patient.clinic, actor=staff, patient=patient, upload=upload,
                              source=MeasurementSource.FILE_IMPORT)  # fmt: skip
    gc.collect()
    rss_before = max_rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    batch = import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6 if trace else None
    if trace:
        tracemalloc.stop()
    assert batch.status in ends, (batch.status, batch.failure)
    return {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "status": batch.status,
        "rows_valid": batch.rows_valid,
        "rows_duplicate": batch.rows_duplicate,
        "rows_rejected": batch.rows_rejected,
        "seconds": round(seconds, 1),
        "tracemalloc_peak_mb": round(peak, 1) if peak is not None else None,
        "maxrss_before_mb": round(rss_before, 1),
        "maxrss_mb": round(max_rss_mb(), 1),
    }


def measure_apple(args: argparse.Namespace) -> dict[str, Any]:
    from patients.tests.test_parsers import _write_export

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        for label, records in zip(("small", "large"), APPLE_RECORDS, strict=True):
            path = Path(tmp) / f"export-{label}.xml"
            _write_export(path, records)
            results[label] = measured_twice(path, apple_check, "--apple-child")
    return results


def write_junk_csv(path: Path, size: int) -> None:
    """An OMRON report header, then short rows that are no reading (every one a row error):
    the most refused rows a file of this size can hold."""
    from patients.tests.test_imports import OMRON_HEADER

    with path.open("w", encoding="utf-8") as out:
        out.write(OMRON_HEADER + "\n")
        row, written = 0, 0
        while written < size:
            line = f"junk {row},x\n"
            out.write(line)
            written += len(line)
            row += 1


def measure_junk(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        for label, size in zip(("small", "large"), JUNK_BYTES, strict=True):
            path = Path(tmp) / f"junk-{label}.csv"
            write_junk_csv(path, size)
            results[label] = measured_twice(path, junk_check, "--junk-child")
    return results


def measured_twice(
    path: Path, check: Callable[..., dict[str, Any]], child_flag: str
) -> dict[str, Any]:
    """The check under tracemalloc here, then its resident memory in a process of its own
    (tracemalloc off): the peak is a maximum over the process's life, so each file needs a
    fresh process."""
    traced = check(path, trace=True)
    child = subprocess.run(
        [sys.executable, __file__, child_flag, str(path)],
        check=True, capture_output=True, text=True, env=os.environ,
    )  # fmt: skip
    rss = json.loads(child.stdout.strip().splitlines()[-1])
    clear_imports()
    return {
        **traced,
        "child_maxrss_mb": rss["maxrss_mb"],
        "child_maxrss_before_mb": rss["maxrss_before_mb"],
        # What the check added to the most the process had held before it.
        "child_rss_growth_mb": round(rss["maxrss_mb"] - rss["maxrss_before_mb"], 1),
    }


# --- report ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    from django.db import connection

    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                      if line.startswith("Model name")), "")  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pass
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "postgresql": pg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument("--import-runs", type=int, default=3, help="imports of the 100k CSV")
    parser.add_argument("--inbox-requests", type=int, default=200,
                        help="timed requests of the team inbox")  # fmt: skip
    parser.add_argument("--upload-runs", type=int, default=5, help="uploads of a 10 MB attachment")
    parser.add_argument("--skip", action="append", default=[], choices=SECTIONS)
    parser.add_argument("--apple-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--junk-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--chat-floor-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ["BENCH_DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
    )
    if args.apple_child:
        import django

        django.setup()
        print(json.dumps(apple_check(args.apple_child, trace=False)))
        return
    if args.junk_child:
        import django

        django.setup()
        print(json.dumps(junk_check(args.junk_child, trace=False)))
        return
    if args.chat_floor_child:
        import django

        django.setup()
        chat.floor_child()
        return
    started = time.perf_counter()
    print(f"Benchmark database: {url}")
    setup_django(reseed=args.reseed)
    seeds = seed(args.reseed)
    results: dict[str, Any] = {"date": datetime.date.today().isoformat(), "machine": machine(),
                               "seed": seeds}  # fmt: skip
    if "pages" not in args.skip:
        print("Measuring the dashboard and the patient page...")
        results["pages"] = measure_pages(args)
    if "import" not in args.skip:
        print(f"Importing a {IMPORT_ROWS:,}-row OMRON CSV ({args.import_runs}×)...")
        results["import"] = measure_import(args)
    if "apple" not in args.skip:
        print("Checking Apple Health exports of two sizes...")
        results["apple"] = measure_apple(args)
    if "junk" not in args.skip:
        print("Checking OMRON CSVs of junk rows of two sizes...")
        results["junk"] = measure_junk(args)
    if "chat" not in args.skip:
        print("Purging the counsellor chat's expired messages...")
        results["chat"] = chat.measure_chat(
            percentile=percentile, checkpoint=checkpoint, bench=section_bench(args)
        )
    if "messages" not in args.skip:
        print("Measuring clinic messages: the team inbox and an attachment upload...")
        results["messages"] = messages.measure_messages(section_bench(args))
    if "programs" not in args.skip:
        print("Measuring exercise programs: the patient's day, the timeline, the library...")
        results["programs"] = programs.measure_programs(
            programs.ProgramsBench(section_bench(args), seed_rows=seed_rows, columns=COLUMNS)
        )
    results["seconds"] = round(time.perf_counter() - started)
    results |= carried_over(args.skip)
    results |= headline(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    missed = [name for name, met in results["targets_met"].items() if not met]
    print(f"Targets missed: {', '.join(missed)}." if missed else "All targets met.")
    print(f"Wrote {RESULTS.relative_to(ROOT)} in {results['seconds']} s.")


def section_bench(args: argparse.Namespace) -> Bench:
    """This script's helpers for the sections in modules of their own (bench/harness.py)."""

    def names(i: int) -> tuple[str, str]:  # as seed_clinic names its patients
        return GIVEN[i % len(GIVEN)], f"{FAMILY[(i // len(GIVEN)) % len(FAMILY)]} {i:03d}"

    return Bench(
        timed=timed, sql_runner=sql_runner, query_count=query_count,
        page_against_floor=page_against_floor, executed_by=executed_by, page_getter=page_getter,
        signed_in_client=signed_in_client,
        staff_for=staff_for, checkpoint=checkpoint, seed_marker=seed_marker, seed_mark=seed_mark,
        names=names, requests=args.inbox_requests, warmup=max(args.warmup, 10),
        upload_runs=args.upload_runs,
    )  # fmt: skip


def carried_over(skipped: list[str]) -> dict[str, Any]:
    """A skipped section keeps the figures of the run that last measured it (named in
    `carried_over`), so a run of one section does not wipe the others out of results.json."""
    if not RESULTS.exists():
        return {}
    before = json.loads(RESULTS.read_text())
    kept = {name: before[name] for name in SECTIONS if name in skipped and name in before}
    if not kept:
        return {}
    earlier = set(before.get("carried_over", {}))
    dates = {name: before["carried_over"][name] if name in earlier else before.get("date")
             for name in kept}  # fmt: skip
    return {**kept, "carried_over": dates}


def headline(r: dict[str, Any]) -> dict[str, Any]:
    """The flat keys of results.json (issue 3), from the detailed sections."""
    out: dict[str, Any] = {}
    if pages := r.get("pages"):
        for name in ("dashboard", "dashboard_middle", "patient_page"):
            out |= {
                f"{name}_p50_ms": pages[name]["page"]["p50_ms"],
                f"{name}_p95_ms": pages[name]["page"]["p95_ms"],
                f"{name}_floor_ms": pages[name]["floor"]["p50_ms"],
                f"{name}_floor_p95_ms": pages[name]["floor"]["p95_ms"],
                f"{name}_ratio_p50": pages[name]["ratio_p50"],
                f"{name}_ratio_p95": pages[name]["ratio_p95"],
                f"{name}_data_ratio_p95": pages[name]["data_ratio_p95"],
                f"{name}_queries": pages[name]["queries"],
            }
        out["signed_in_redirect_p50_ms"] = pages["signed_in_redirect"]["page"]["p50_ms"]
        q = pages["queries"]
        out |= {
            "dashboard_queries_50": q["dashboard_50"],
            "dashboard_queries_500": q["dashboard_500"],
            "patient_page_queries_50": q["patient_page_50"],
            "patient_page_queries_500": q["patient_page_500"],
        }
    if imp := r.get("import"):
        out["import_rows_per_s"] = imp["rows_per_s"]
        out["import_floor_rows_per_s"] = imp["floor_rows_per_s"]
        out["import_ratio"] = round(imp["floor_rows_per_s"] / imp["rows_per_s"], 1)
    if apple := r.get("apple"):
        out |= _memory_figures(apple, figure="apple_import", file="apple_file")
    if junk := r.get("junk"):
        out |= _memory_figures(junk, figure="import_junk", file="import_junk_file")
    if chat_figures := r.get("chat"):
        out |= chat.headline(chat_figures)
    if messages_figures := r.get("messages"):
        out |= messages.headline(messages_figures)
    if program_figures := r.get("programs"):
        out |= programs.headline(program_figures)
    out["targets_met"] = targets(out)
    return out


def _memory_figures(result: dict[str, Any], *, figure: str, file: str) -> dict[str, float]:
    """The headline memory figures of a small and a large file (`<figure>_peak_mb_small`...)."""
    measures = {
        "peak_mb": "tracemalloc_peak_mb",
        "maxrss_mb": "child_maxrss_mb",
        "rss_growth_mb": "child_rss_growth_mb",
    }
    figures = {}
    for size in ("small", "large"):
        figures |= {f"{figure}_{name}_{size}": result[size][key] for name, key in measures.items()}
        figures[f"{file}_mb_{size}"] = result[size]["file_mb"]
    return figures


def targets(h: dict[str, Any]) -> dict[str, bool]:
    """Issue 3's targets, for what this run measured."""
    met = {}
    if "dashboard_ratio_p95" in h:
        met["dashboard_within_3x_floor"] = h["dashboard_ratio_p95"] <= TARGET_RATIO
        met["patient_page_within_3x_floor"] = h["patient_page_ratio_p95"] <= TARGET_RATIO
        met["queries_constant"] = (h["dashboard_queries_50"], h["patient_page_queries_50"]) == (
            h["dashboard_queries_500"], h["patient_page_queries_500"],
        )  # fmt: skip
    if "import_rows_per_s" in h:
        met["import_20k_rows_per_s"] = h["import_rows_per_s"] >= TARGET_ROWS_PER_S
    if "apple_import_peak_mb_small" in h:
        small, large = h["apple_import_peak_mb_small"], h["apple_import_peak_mb_large"]
        met["apple_memory_flat"] = large <= TARGET_MEMORY_RATIO * small
    if "import_junk_peak_mb_small" in h:
        small, large = h["import_junk_peak_mb_small"], h["import_junk_peak_mb_large"]
        met["junk_memory_flat"] = large <= TARGET_MEMORY_RATIO * small
    if "purge_ratio" in h:
        met["purge_within_1_5x_raw_delete"] = h["purge_ratio"] <= TARGET_PURGE_RATIO
        during, idle = h["send_p95_during_purge_ms"], h["send_p95_ms"]
        met["send_during_purge_within_2x_idle"] = during <= TARGET_SEND_DURING_PURGE * idle
    if "team_inbox_ratio" in h:
        met["team_inbox_within_3x_floor"] = h["team_inbox_ratio"] <= TARGET_INBOX_RATIO
        met["team_inbox_queries_constant"] = (
            h["team_inbox_queries_10"] == h["team_inbox_queries_1000"]
        )
    if "patient_day_ratio" in h:  # issue 12
        met["patient_day_within_3x_floor"] = h["patient_day_ratio"] <= TARGET_PROGRAM_RATIO
        met["timeline_within_3x_floor"] = h["timeline_ratio"] <= TARGET_PROGRAM_RATIO
        met["program_page_queries_constant"] = (
            h["program_page_queries_5"] == h["program_page_queries_30"]
        )
    return met


def report(r: dict[str, Any]) -> str:
    lines = [
        "",
        f"{'':28}{'p50 ms':>8}{'p95 ms':>8}{'floor p50':>10}{'floor p95':>10}"
        f"{'×p50':>6}{'×p95':>6}{'queries':>8}",
    ]
    if pages := r.get("pages"):
        for name, label in (("dashboard", "dashboard, page 1"),
                            ("dashboard_middle", "dashboard, middle page"),
                            ("patient_page", "patient page, 2 y BP")):  # fmt: skip
            p = pages[name]
            lines.append(
                f"{label:28}{p['page']['p50_ms']:>8.1f}{p['page']['p95_ms']:>8.1f}"
                f"{p['floor']['p50_ms']:>10.2f}{p['floor']['p95_ms']:>10.2f}"
                f"{p['ratio_p50']:>6.1f}{p['ratio_p95']:>6.1f}{p['queries']:>8}"
            )
        base = pages["signed_in_redirect"]
        lines.append(
            f"{'signed-in redirect (/)':28}{base['page']['p50_ms']:>8.1f}"
            f"{base['page']['p95_ms']:>8.1f}{'':>32}{base['queries']:>8}"
        )
        q = pages["queries"]
        lines.append(
            f"queries at 50 / 500 patients: dashboard {q['dashboard_50']} / {q['dashboard_500']}, "
            f"patient page {q['patient_page_50']} / {q['patient_page_500']}"
        )
    if imp := r.get("import"):
        m = imp["median"]
        lines.append(
            f"import {imp['rows']:,} OMRON rows: {imp['rows_per_s']:,} rows/s "
            f"(upload {m['upload_s']} s, check {m['check_s']} s, commit {m['commit_s']} s); "
            f"floor (COPY of ready rows + commit): {imp['floor_rows_per_s']:,} rows/s"
        )
    if apple := r.get("apple"):
        for label in ("small", "large"):
            a = apple[label]
            lines.append(
                f"Apple import_check {a['file_mb']:>6.0f} MB: tracemalloc peak "
                f"{a['tracemalloc_peak_mb']} MB, max RSS {a['child_maxrss_mb']} MB "
                f"(+{a['child_rss_growth_mb']} MB over the process before the check)"
            )
    if junk := r.get("junk"):
        for label in ("small", "large"):
            j = junk[label]
            lines.append(
                f"OMRON junk import_check {j['file_mb']:>4.0f} MB ({j['status']}, "
                f"{j['rows_rejected']:,} rows refused): tracemalloc peak "
                f"{j['tracemalloc_peak_mb']} MB, max RSS {j['child_maxrss_mb']} MB "
                f"(+{j['child_rss_growth_mb']} MB over the process before the check)"
            )
    if chat_figures := r.get("chat"):
        lines += chat.report(chat_figures)
    if messages_figures := r.get("messages"):
        lines += messages.report(messages_figures)
    if program_figures := r.get("programs"):
        lines += programs.report(program_figures)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
