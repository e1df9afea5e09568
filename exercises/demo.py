"""The exercises' demo data, added to each demo clinic by `seed_demo` (registered in
exercises.hooks; it runs after patients.demo, so the patients exist): three clinic templates
made of base-library exercises, and for every demo patient a program started from one of them
three weeks ago, with what a patient would have logged since: most days ticked off, pain easing
from about 6 to about 3, effort, now and then a comment. The logs are drawn from a generator
seeded by the patient, so every run gives the same demo. Idempotent: a patient who has a
program gets no other, and a template that exists is left as it is."""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from clinics.demo import SeededClinic
from exercises import selectors, services
from exercises.base_library import base_library_ensure
from exercises.models import (
    PRESCRIPTION_FIELDS,
    Exercise,
    ExerciseLog,
    Program,
    ProgramTemplate,
    SessionLog,
)
from patients.models import Patient

# name, goal, weeks, the base exercises with their dose (sets, repetitions, hold seconds).
TEMPLATES = (
    (
        "Knieprothese week 1-4",
        "Knie buigen tot 90° en zonder krukken traplopen",
        4,
        (
            ("knee-heel-slide", 3, 10, 3),
            ("knee-quad-set", 3, 10, 5),
            ("knee-straight-leg-raise", 3, 10, 0),
            ("ankle-pumps", 2, 20, 0),
            ("general-sit-to-stand", 2, 8, 0),
        ),
    ),
    (
        "Lage rugklachten",
        "Weer een uur kunnen wandelen en zitten zonder pijn",
        6,
        (
            ("lower-back-pelvic-tilt", 2, 10, 3),
            ("lower-back-cat-camel", 2, 10, 0),
            ("hip-bridge", 3, 12, 3),
            ("core-bird-dog", 3, 8, 5),
            ("lower-back-knee-rolls", 2, 10, 0),
        ),
    ),
    (
        "Enkelverstuiking: stabiliteit",
        "Weer hardlopen zonder door de enkel te gaan",
        6,
        (
            ("ankle-alphabet", 2, 1, 0),
            ("ankle-calf-raise", 3, 15, 0),
            ("ankle-band-eversion", 3, 12, 0),
            ("balance-single-leg-stance", 3, 1, 30),
        ),
    ),
)
COMMENTS = (
    "Ging goed vandaag.",
    "Na het fietsen wat stijf, daarna beter.",
    "Bruggetje voelde zwaar.",
    "Minder pijn dan vorige week!",
    "Geen tijd gehad voor de tweede ronde.",
)
PROGRAM_WEEKS_AGO = 3


def _template(
    seeded: SeededClinic, name: str, goal: str, weeks: int, items: tuple
) -> ProgramTemplate:
    clinic, author = seeded.clinic, seeded.staff["fysio1"]
    existing = ProgramTemplate.objects.for_clinic(clinic).filter(name=name).first()
    if existing is not None:
        return existing
    base = {e.key: e for e in Exercise.objects.base().filter(key__in=[i[0] for i in items])}
    return services.template_save(
        clinic,
        author,
        None,
        name=name,
        goal=goal,
        weeks=weeks,
        items=[
            services.ItemIn(
                exercise=base[key],
                params={
                    **base[key].defaults(),
                    "load": "",
                    "sets": sets,
                    "reps": reps,
                    "hold_seconds": hold,
                },
            )
            for key, sets, reps, hold in items
        ],
    )


def _program(patient: Patient, author, template: ProgramTemplate, start: datetime.date) -> Program:
    items = [
        services.ItemIn(
            exercise=i.exercise,
            params={name: getattr(i, name) for name in PRESCRIPTION_FIELDS},
        )
        for i in selectors.template_items(template)
    ]
    return services.program_create(
        patient,
        author,
        services.ProgramIn(
            title=template.name,
            goal=template.goal,
            start_date=start,
            end_date=start + datetime.timedelta(days=7 * template.weeks - 1),
            items=items,
            template=template,
        ),
    )


def _logs(program: Program, start: datetime.date, today: datetime.date) -> None:
    """What the patient logged from the start until yesterday: most days done, pain easing."""
    rng = random.Random(program.patient_id)  # noqa: S311 - demo data, not secrets
    items = selectors.version_items(program.current_version)
    days = (today - start).days
    exercise_logs, session_logs = [], []
    for n in range(days):
        day = start + datetime.timedelta(days=n)
        if rng.random() < 0.15:  # a day skipped
            continue
        for item in items:
            if item.days_per_week is None and day.isoweekday() not in item.weekdays:
                continue
            times = item.times_per_day if rng.random() < 0.85 else max(0, item.times_per_day - 1)
            if times:
                exercise_logs.append(
                    ExerciseLog(
                        clinic_id=program.clinic_id,
                        program=program,
                        item=item,
                        day=day,
                        times=times,
                    )
                )
        pain = max(0, min(10, round(6 - 3 * n / max(days, 1) + rng.uniform(-1, 1))))
        session_logs.append(
            SessionLog(
                clinic_id=program.clinic_id,
                program=program,
                day=day,
                pain=pain,
                effort=rng.randint(3, 6),
                comment=rng.choice(COMMENTS) if rng.random() < 0.15 else "",
            )
        )
    ExerciseLog.objects.bulk_create(exercise_logs)
    SessionLog.objects.bulk_create(session_logs)


def exercises_demo_seed(seeded: SeededClinic) -> list[dict]:
    base_library_ensure()  # loaded by a migration; a test database may have been flushed since
    templates = [_template(seeded, *spec) for spec in TEMPLATES]
    today = timezone.localdate()
    start = today - datetime.timedelta(days=7 * PROGRAM_WEEKS_AGO)
    patients = Patient.objects.for_clinic(seeded.clinic).order_by("pk")
    for index, patient in enumerate(patients):
        if Program.objects.for_clinic(seeded.clinic).filter(patient=patient).exists():
            continue
        template = templates[index % len(templates)]
        program = _program(patient, seeded.staff["fysio1"], template, start)
        _logs(program, start, today)
    return []
