"""The exercises' demo seeder: templates, a program per patient with weeks of logs, idempotent."""

from __future__ import annotations

import pytest
from django.utils import timezone

from clinics.demo import CLINICS, SeededClinic
from exercises import selectors
from exercises.demo import TEMPLATES, exercises_demo_seed
from exercises.models import ExerciseLog, Program, ProgramTemplate, SessionLog
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_every_demo_patient_follows_a_program_with_weeks_of_logs(alice, clinic_a):
    patients = [PatientFactory(clinic=clinic_a) for _ in range(3)]
    seeded = SeededClinic(clinic_a, CLINICS[0], {"fysio1": alice})
    exercises_demo_seed(seeded)
    assert ProgramTemplate.objects.for_clinic(clinic_a).count() == len(TEMPLATES)
    today = timezone.localdate()
    for patient in patients:
        (program,) = Program.objects.filter(patient=patient)
        assert program.current_version.template is not None
        (running,) = selectors.patient_days(patient, today)  # still running today
        assert running.program == program and running.items
        logged_days = set(ExerciseLog.objects.filter(program=program).values_list("day", flat=True))
        assert len(logged_days) >= 10 and max(logged_days) < today
        weeks = selectors.program_adherence_weeks(program)
        assert len(weeks) >= 3 and any(w.percent and w.percent >= 60 for w in weeks)
        pains = list(
            SessionLog.objects.filter(program=program)
            .order_by("day")
            .values_list("pain", flat=True)
        )
        assert sum(pains[:5]) > sum(pains[-5:])  # easing
    counts = (Program.objects.count(), ExerciseLog.objects.count(), ProgramTemplate.objects.count())
    exercises_demo_seed(seeded)
    assert (
        Program.objects.count(),
        ExerciseLog.objects.count(),
        ProgramTemplate.objects.count(),
    ) == counts
