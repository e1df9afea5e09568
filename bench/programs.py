"""Exercise programs (issue 12), measured as the other sections are (bench/README.md,
"Exercise programs"). Run by run.py unless `--skip programs`.

Seeded once (a `bench_seed` marker records it): a clinic with one patient who has two years of
home readings (the pages' generator: blood pressure twice a day, weight, heart rate and steps
daily) and a year-long program of 6 exercises in 4 versions (one a quarter) with a year of
logs (ticked off most days, pain, effort, now and then a comment); two stopped programs of 5 and
30 exercises; and 4,921 of the clinic's own exercises beside the 79 of the base library.

1. `program_page_queries_5` / `_30`: the staff's program page of a program with 5 and with 30
   exercises: the number of queries must not grow with the exercises.
2. `patient_day_p95_ms`: the patient's day (`exercises:my_day`), signed in as the patient past
   the second factor, against its SQL floor `patient_day_floor_p95_ms` (run.page_against_floor:
   the signed-in statements, then the record, one statement returning the day (the running
   program's version of the day, its exercises with their names, instructions, doses and
   photos, the day's ticks and its pain, effort and comment) and the reminder days).
   `patient_day_ratio` = page p95 / floor p95.
3. `timeline_p95_ms`: the professional's timeline over 365 days (`exercises:timeline?days=365`)
   against `timeline_floor_p95_ms`: the signed-in statements, the navigation's unread count,
   the access-log INSERT, and the statements returning its data (the record, the daily sums of
   the four kinds, the pain and effort per day, the year's ticks, the versions and their items
   for the adherence). `timeline_ratio` = page p95 / floor p95.
4. `library_search_p95_ms`: the library page searched by a word in 5,000 exercises.
Page and floor take turns, call by call (`Bench.timed`).
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.harness import Bench

CLINIC = "Bench Oefenpraktijk"
PATIENT_EMAIL = "oefenaar@programs.bench.example"
STAFF_EMAIL = "fysio@programs.bench.example"
SEED_NAME = "programs"
LIBRARY_SIZE = 5000
SEARCH = "brug"  # in "Bruggetje ..." names: a few dozen of the 5,000
YEAR_ITEMS = 6
WORDS = (
    "Bruggetje",
    "Squat",
    "Stap",
    "Rek",
    "Plank",
    "Draai",
    "Heffen",
    "Kantelen",
    "Strekken",
    "Buigen",
    "Duwen",
    "Trekken",
    "Balans",
    "Lopen",
    "Zitten",
    "Staan",
)


@dataclass(frozen=True)
class ProgramsBench:
    """What run.py lends this section besides `Bench`: the pages' reading generator."""

    bench: Bench
    seed_rows: Callable[[int, int, int, int, datetime.datetime], Iterator[tuple]]
    columns: tuple[str, ...]


# --- seeding, once -----------------------------------------------------------------------------


def _patient(clinic: Any, staff: Any) -> Any:
    from clinics.mfa_devices import AuthenticatorDevice
    from clinics.models import User
    from patients.services import patient_create

    user, _created = User.objects.get_or_create(email=PATIENT_EMAIL)
    if not AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists():
        AuthenticatorDevice.objects.create(user=user, name="authenticator", confirmed=True)
    patient = patient_create(
        clinic=clinic,
        actor=staff,
        given_name="Olga",
        family_name="Oefenaar",
        date_of_birth=datetime.date(1961, 4, 12),
        email=PATIENT_EMAIL,
    )
    patient.user = user
    patient.save(update_fields=["user"])
    return patient


def _library(clinic: Any, staff: Any) -> None:
    from exercises.models import Exercise, Region

    rng = random.Random(12)
    regions = list(Region.values)
    Exercise.objects.bulk_create(
        Exercise(
            clinic=clinic,
            created_by=staff,
            name_nl=f"{WORDS[n % len(WORDS)]} variant {n:04d}",
            name_en=f"Variant {n:04d} of {WORDS[n % len(WORDS)].lower()}",
            instructions_nl="Begin rustig.\nBeweeg gecontroleerd.\nStop bij scherpe pijn.",
            instructions_en="Start calmly.\nMove with control.\nStop if the pain is sharp.",
            region=rng.choice(regions),
            equipment=[],
            tags=["strength"],
        )
        for n in range(LIBRARY_SIZE - Exercise.objects.base().count())
    )


def _program(patient: Any, staff: Any, exercises: list, start: datetime.date, **fields: Any) -> Any:
    from exercises import services

    return services.program_create(
        patient,
        staff,
        services.ProgramIn(
            title=fields.get("title", "Jaarprogramma"),
            goal="Sterker en minder pijn",
            start_date=start,
            end_date=fields.get("end"),
            items=[
                services.ItemIn(
                    exercise=e,
                    params={
                        **e.defaults(),
                        "load": "",
                        "times_per_day": 1,
                        "days_per_week": 7,
                        "weekdays": [],
                    },
                )
                for e in exercises
            ],
        ),
    )


def _year_program(patient: Any, staff: Any, base: list, today: datetime.date) -> int:
    """A program started a year ago, changed every quarter, with a year of logs."""
    from django.utils import timezone

    from exercises import selectors, services
    from exercises.models import ExerciseLog, ProgramVersion, SessionLog

    start = today - datetime.timedelta(days=364)
    program = _program(patient, staff, base[:YEAR_ITEMS], start)
    for quarter in (1, 2, 3):
        previous = selectors.version_items(program.current_version)
        version = services.program_revise(
            program,
            staff,
            services.ProgramIn(
                title="Jaarprogramma",
                goal="Sterker en minder pijn",
                start_date=start,
                end_date=None,
                items=[
                    services.ItemIn(
                        exercise=i.exercise,
                        slot=i.slot,
                        params={
                            **i.exercise.defaults(),
                            "load": "",
                            "reps": 10 + quarter,
                            "times_per_day": 1,
                            "days_per_week": 7,
                            "weekdays": [],
                        },
                    )
                    for i in previous
                ],
            ),
        )
        made = start + datetime.timedelta(days=91 * quarter)
        ProgramVersion.objects.filter(pk=version.pk).update(
            created_at=timezone.make_aware(datetime.datetime.combine(made, datetime.time(9)))
        )
    ProgramVersion.objects.filter(program=program, number=1).update(
        created_at=timezone.make_aware(datetime.datetime.combine(start, datetime.time(9)))
    )
    rng = random.Random(7)
    versions = list(program.versions.order_by("number").prefetch_related("items"))
    logs, sessions = [], []
    for n in range(365):
        day = start + datetime.timedelta(days=n)
        version = versions[min(n // 91, 3)]
        if rng.random() < 0.1:
            continue
        logs += [
            ExerciseLog(clinic_id=program.clinic_id, program=program, item=i, day=day, times=1)
            for i in version.items.all()
            if rng.random() < 0.9
        ]
        sessions.append(
            SessionLog(
                clinic_id=program.clinic_id,
                program=program,
                day=day,
                pain=max(0, min(10, round(6 - 4 * n / 365 + rng.uniform(-1.5, 1.5)))),
                effort=rng.randint(3, 7),
                comment="Ging goed." if rng.random() < 0.1 else "",
            )
        )
    ExerciseLog.objects.bulk_create(logs)
    SessionLog.objects.bulk_create(sessions)
    return len(logs)


def seed(pb: ProgramsBench) -> dict[str, Any]:
    """Once per seed version: the clinic, its patient with readings and programs, the library."""
    from django.db import connection, transaction
    from django.utils import timezone

    from clinics.models import Clinic
    from exercises.base_library import base_library_ensure
    from exercises.models import Exercise, Program
    from patients.models import Measurement

    bench = pb.bench
    if (marker := bench.seed_marker(SEED_NAME)) is not None:
        return marker
    started = time.perf_counter()
    now = timezone.now() - datetime.timedelta(minutes=10)
    today = timezone.localdate()
    with transaction.atomic():
        clinic, _created = Clinic.objects.get_or_create(name=CLINIC)
        staff = bench.staff_for(clinic, STAFF_EMAIL)
        patient = _patient(clinic, staff)
        rows = list(pb.seed_rows(clinic.pk, patient.pk, 0, 730, now))
        with (
            connection.connection.cursor() as cur,
            cur.copy(
                f"COPY {Measurement._meta.db_table} ({', '.join(pb.columns)}) FROM STDIN"
            ) as cp,
        ):
            for row in rows:
                cp.write_row(row)
        base_library_ensure()
        base = list(Exercise.objects.base().order_by("key"))
        logs = _year_program(patient, staff, base, today)
        for count in (5, 30):
            stopped = _program(
                patient,
                staff,
                base[:count],
                today - datetime.timedelta(days=30),
                title=f"{count} oefeningen",
            )
            Program.objects.filter(pk=stopped.pk).update(stopped_at=now)
        _library(clinic, staff)
        info = {
            "readings": len(rows),
            "exercise_logs": logs,
            "library": LIBRARY_SIZE,
            "seconds": round(time.perf_counter() - started, 1),
        }
        bench.seed_mark(SEED_NAME, info)
    with connection.cursor() as cur:
        for table in (
            "patients_measurement",
            "patients_dailyreading",
            "exercises_exercise",
            "exercises_exerciselog",
            "exercises_sessionlog",
        ):
            cur.execute(f"VACUUM (ANALYZE) {table}")
    return bench.seed_marker(SEED_NAME) or info


# --- the floors ----------------------------------------------------------------------------------

DAY_FLOOR = """
WITH version AS (  -- the running program's version of the day (selectors.version_on)
    SELECT DISTINCT ON (v.program_id) v.*
    FROM exercises_programversion v
    JOIN exercises_program p ON p.id = v.program_id
    WHERE p.clinic_id = %(clinic)s AND p.patient_id = %(patient)s AND p.stopped_at IS NULL
      AND v.created_at < %(end_of_day)s
    ORDER BY v.program_id, v.number DESC
)
SELECT v.program_id, v.title, v.start_date, v.end_date, i.id, i.position, i.sets, i.reps,
       i.hold_seconds, i.rest_seconds, i.load, i.times_per_day, i.days_per_week, i.weekdays,
       i.note, e.name_nl, e.instructions_nl, l.times, s.pain, s.effort, s.comment,
       (SELECT json_agg(json_build_array(m.id, m.content_type) ORDER BY m.created_at, m.id)
        FROM exercises_exercisemedia m WHERE m.exercise_id = e.id) AS media
FROM version v
JOIN exercises_programitem i ON i.version_id = v.id
JOIN exercises_exercise e ON e.id = i.exercise_id
LEFT JOIN exercises_exerciselog l ON l.item_id = i.id AND l.day = %(day)s
LEFT JOIN exercises_sessionlog s ON s.program_id = v.program_id AND s.day = %(day)s
WHERE v.start_date <= %(day)s AND (v.end_date IS NULL OR v.end_date >= %(day)s)
ORDER BY v.program_id, i.position
"""

# The record a page is about, as patients.record_access reads it: the patient's own (with its
# clinic), or one of the clinic's patients for its staff.
OWN_RECORD = """SELECT p.*, c.* FROM patients_patient p JOIN clinics_clinic c ON c.id = p.clinic_id
WHERE p.id = %(patient)s AND p.user_id = %(user)s"""
STAFF_RECORD = "SELECT * FROM patients_patient WHERE id = %(patient)s AND clinic_id = %(clinic)s"
# The patient's reminder days, which the day's page shows in its form.
REMINDER_DAYS = "SELECT weekdays FROM exercises_exercisereminder WHERE patient_id = %(patient)s"

TIMELINE_FLOOR = (
    # The daily sums of the four kinds over the period.
    """SELECT kind, day, main_sum, main_mean, second_mean FROM patients_dailyreading
    WHERE clinic_id = %(clinic)s AND patient_id = %(patient)s
      AND kind IN ('steps', 'heart_rate', 'blood_pressure', 'weight')
      AND day BETWEEN %(first)s AND %(last)s""",
    # Pain and effort per day.
    """SELECT s.day, s.pain, s.effort FROM exercises_sessionlog s
    JOIN exercises_program p ON p.id = s.program_id
    WHERE p.clinic_id = %(clinic)s AND p.patient_id = %(patient)s
      AND s.day BETWEEN %(first)s AND %(last)s""",
    # What was ticked off, and what the versions prescribed (the adherence's input).
    """SELECT l.item_id, l.day, l.times FROM exercises_exerciselog l
    JOIN exercises_program p ON p.id = l.program_id
    WHERE p.clinic_id = %(clinic)s AND p.patient_id = %(patient)s
      AND l.day BETWEEN %(first)s AND %(last)s""",
    """SELECT v.id, v.program_id, v.number, v.start_date, v.end_date, v.created_at, i.id, i.slot,
           i.times_per_day, i.days_per_week, i.weekdays
    FROM exercises_programversion v
    JOIN exercises_program p ON p.id = v.program_id
    JOIN exercises_programitem i ON i.version_id = v.id
    WHERE p.clinic_id = %(clinic)s AND p.patient_id = %(patient)s""",
)


# --- measuring ---------------------------------------------------------------------------------


def measure_programs(pb: ProgramsBench) -> dict[str, Any]:
    from django.urls import reverse
    from django.utils import timezone

    from clinics.models import Clinic, User
    from exercises.models import Program
    from patients.models import Patient

    bench = pb.bench
    results: dict[str, Any] = {"seed": seed(pb)}
    bench.checkpoint()
    clinic = Clinic.objects.get(name=CLINIC)
    patient = Patient.objects.for_clinic(clinic).get(user__email=PATIENT_EMAIL)
    staff_user = User.objects.get(email=STAFF_EMAIL)
    staff = bench.signed_in_client(staff_user)
    own = bench.signed_in_client(patient.user)
    programs = {p.current_version.title: p for p in Program.objects.filter(patient=patient)}
    results["queries"] = {
        f"program_page_queries_{n}": bench.query_count(
            bench.page_getter(
                staff,
                reverse("exercises:program", args=[patient.pk, programs[f"{n} oefeningen"].pk]),
            )
        )
        for n in (5, 30)
    }
    print(f"  program page queries: {results['queries']}", flush=True)
    today = timezone.localdate()
    end_of_day = timezone.make_aware(
        datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time())
    )
    params = {
        "clinic": clinic.pk,
        "patient": patient.pk,
        "user": patient.user_id,
        "day": today,
        "end_of_day": end_of_day,
    }
    rows = bench.sql_runner([(DAY_FLOOR, params)])()[0]
    assert len(rows) == YEAR_ITEMS, rows
    results["patient_day"] = bench.page_against_floor(
        bench.page_getter(own, reverse("exercises:my_day", args=[patient.pk])),
        patient.user,
        [(OWN_RECORD, params), (DAY_FLOOR, params), (REMINDER_DAYS, params)],
        requests=bench.requests,
        warmup=bench.warmup,
    )
    first = today - datetime.timedelta(days=364)
    span = {"clinic": clinic.pk, "patient": patient.pk, "first": first, "last": today}
    results["timeline"] = bench.page_against_floor(
        bench.page_getter(staff, reverse("exercises:timeline", args=[patient.pk]) + "?days=365"),
        staff_user,
        [(sql, span) for sql in (STAFF_RECORD, *TIMELINE_FLOOR)],
        requests=bench.requests,
        warmup=bench.warmup,
    )
    (search,) = bench.timed(
        bench.page_getter(staff, reverse("exercises:library") + f"?q={SEARCH}"),
        requests=bench.requests,
        warmup=bench.warmup,
    )
    results["library_search"] = {"page": search, "exercises": LIBRARY_SIZE, "q": SEARCH}
    # What any signed-in request costs before a view runs (the root only redirects), for scale.
    (redirect,) = bench.timed(
        bench.page_getter(staff, reverse("home"), 302), requests=bench.requests, warmup=bench.warmup
    )
    results["signed_in_redirect"] = redirect
    for name in ("patient_day", "timeline"):
        r = results[name]
        print(
            f"  {name}: p95 {r['page']['p95_ms']} ms, floor {r['floor']['p95_ms']} ms, "
            f"×{r['ratio_p95']}",
            flush=True,
        )
    print(f"  library search: p95 {search['p95_ms']} ms", flush=True)
    return results


def headline(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(r["queries"])
    for name in ("patient_day", "timeline"):
        out |= {
            f"{name}_p50_ms": r[name]["page"]["p50_ms"],
            f"{name}_p95_ms": r[name]["page"]["p95_ms"],
            f"{name}_floor_p95_ms": r[name]["floor"]["p95_ms"],
            f"{name}_ratio": r[name]["ratio_p95"],
            f"{name}_data_floor_p95_ms": r[name]["data_floor"]["p95_ms"],
            f"{name}_data_ratio": r[name]["data_ratio_p95"],
            f"{name}_queries": r[name]["queries"],
        }
    out["library_search_p95_ms"] = r["library_search"]["page"]["p95_ms"]
    return out


def report(r: dict[str, Any]) -> list[str]:
    lines = []
    for name, label in (("patient_day", "patient's day"), ("timeline", "timeline, 365 days")):
        p = r[name]
        lines.append(
            f"{label:28}{p['page']['p50_ms']:>8.1f}{p['page']['p95_ms']:>8.1f}"
            f"{p['floor']['p50_ms']:>10.2f}{p['floor']['p95_ms']:>10.2f}"
            f"{p['ratio_p50']:>6.1f}{p['ratio_p95']:>6.1f}{p['queries']:>8}"
        )
    lines.append(
        f"  signed-in redirect p95 {r['signed_in_redirect']['p95_ms']} ms; page p95 / its data's "
        f"floor: day ×{r['patient_day']['data_ratio_p95']}, "
        f"timeline ×{r['timeline']['data_ratio_p95']}"
    )
    q = r["queries"]
    lines.append(
        f"program page queries at 5 / 30 exercises: {q['program_page_queries_5']} / "
        f"{q['program_page_queries_30']}"
    )
    s = r["library_search"]["page"]
    lines.append(
        f"library search ?q={SEARCH} in {LIBRARY_SIZE:,} exercises: p50 {s['p50_ms']} ms, "
        f"p95 {s['p95_ms']} ms"
    )
    return lines
