"""Patients' demo data, added to each demo clinic by `seed_demo` (registered in
patients.hooks): patients with an account, months of home readings, clinic default rules and
the alerts those readings raise. Idempotent, deterministic per patient."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from clinics.demo import SeededClinic, demo_login, demo_user
from clinics.models import Clinic, User
from patients.imports.base import Reading
from patients.measurements.alerts import alerts_evaluate, rule_create
from patients.measurements.services import measurement_from
from patients.models import Measurement, MeasurementSource, Patient, RuleType, ThresholdRule
from patients.services import patient_create

PATIENTS = {
    "delinde.example": (
        ("Sanne", "de Vries", datetime.date(1958, 3, 14)),
        ("Mohamed", "El Amrani", datetime.date(1971, 9, 2)),
        ("Joke", "Bakker", datetime.date(1949, 12, 28)),
        ("Thijs", "van den Berg", datetime.date(1988, 6, 9)),
    ),
    "zuidpark.example": (
        ("Fatma", "Yılmaz", datetime.date(1965, 1, 21)),
        ("Pieter", "Jansen", datetime.date(1953, 7, 30)),
        ("Anouk", "Visser", datetime.date(1992, 11, 5)),
        ("Kees", "Smit", datetime.date(1944, 4, 17)),
    ),
}
HISTORY_DAYS = 120
# Who stopped measuring how many days ago, so the triage has a missing-readings case to show.
STOPPED_MEASURING = {("Joke", "Bakker"): 5, ("Kees", "Smit"): 9}


def patients_demo_seed(seeded: SeededClinic) -> list[dict]:
    credentials = []
    for given, family, born in PATIENTS.get(seeded.demo.domain, ()):
        credentials.append(_patient(seeded, given, family, born))
    seed_alerts(seeded.clinic, seeded.staff["fysio1"])
    return credentials


def _patient(seeded: SeededClinic, given: str, family: str, born: datetime.date) -> dict:
    clinic, demo = seeded.clinic, seeded.demo
    local = f"{given}.{family}".lower().replace(" ", "")
    email = f"{local.encode('ascii', 'ignore').decode()}@patient.{demo.domain}"
    user = demo_user(email, "")  # no name on the account: the record holds it, encrypted
    record = Patient.objects.for_clinic(clinic).filter(user=user).first()
    if record is None:
        record = patient_create(
            clinic=clinic,
            actor=seeded.staff["beheer"],
            given_name=given,
            family_name=family,
            date_of_birth=born,
            email=email,
        )
        record.user = user
        record.save(update_fields=["user"])
    seed_measurement_history(record, stopped_days_ago=STOPPED_MEASURING.get((given, family), 0))
    entry = demo_login(user, "patient", clinic, with_device=demo.requires_patient_mfa)
    entry["patient_id"] = record.pk
    return entry


def seed_measurement_history(patient: Patient, *, stopped_days_ago: int = 0) -> int:
    """Home readings of the last months: blood pressure mornings and evenings, weight, pulse.

    Deterministic per patient and anchored to today, so a second run on the same day adds
    nothing (duplicates are skipped by their dedup key).
    """
    rng = random.Random(patient.pk)  # noqa: S311 - demo data, not secrets
    tz = timezone.get_current_timezone()
    today = timezone.localdate()
    base_sys, base_dia = rng.randint(118, 150), rng.randint(72, 95)
    weight = Decimal(rng.randint(600, 1050)) / 10
    drift = rng.choice((-1, 0, 1))  # some improve, some get worse
    readings = []
    for days_ago in range(HISTORY_DAYS, stopped_days_ago, -1):
        day = today - datetime.timedelta(days=days_ago)
        trend = drift * (HISTORY_DAYS - days_ago) / 12
        for hour in (7, 21):
            if rng.random() < 0.15:
                continue  # a forgotten measurement
            at = datetime.datetime.combine(day, datetime.time(hour, rng.randint(0, 40)), tz)
            sys_value = int(base_sys + trend + rng.gauss(0, 6))
            readings.append(
                Reading(line=0, kind="blood_pressure", measured_at=at, systolic=sys_value,
                        diastolic=int(base_dia + trend / 2 + rng.gauss(0, 4)),
                        pulse=rng.randint(58, 84), irregular_heartbeat=rng.random() < 0.03,
                        device="OMRON M7 Intelli IT")
            )  # fmt: skip
        if days_ago % 2 == 0:
            at = datetime.datetime.combine(day, datetime.time(7, 50), tz)
            value = weight + Decimal(drift * (HISTORY_DAYS - days_ago)) / 60
            value += Decimal(str(round(rng.gauss(0, 0.3), 1)))
            readings.append(Reading(line=0, kind="weight", measured_at=at, value=value,
                                    device="Withings Body+"))  # fmt: skip
            readings.append(Reading(line=0, kind="heart_rate", measured_at=at,
                                    value=Decimal(rng.randint(55, 80))))  # fmt: skip
    rows = [
        measurement_from(r, patient=patient, source=MeasurementSource.FILE_IMPORT, actor=None)
        for r in readings
    ]
    return len(Measurement.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000))


def seed_alerts(clinic: Clinic, professional: User) -> None:
    """Clinic default rules, and the alerts the last two weeks of readings raise under them."""
    defaults = (
        ("blood_pressure", RuleType.UPPER, {"limit": Decimal(150), "limit_diastolic": Decimal(95)}),
        ("blood_pressure", RuleType.NO_READING, {"days": 3}),
        ("weight", RuleType.NO_READING, {"days": 7}),
    )
    for kind, rule_type, values in defaults:
        exists = ThresholdRule.objects.for_clinic(clinic).filter(
            patient=None, kind=kind, rule_type=rule_type, is_active=True
        )
        if not exists.exists():
            rule_create(clinic=clinic, actor=professional, patient=None, kind=kind,
                        rule_type=rule_type, **values)  # fmt: skip
    since = timezone.now() - datetime.timedelta(days=14)
    for patient in Patient.objects.for_clinic(clinic):
        recent = Measurement.objects.for_clinic(clinic).filter(
            patient=patient, measured_at__gte=since
        )
        alerts_evaluate(patient=patient, measurements=recent)
