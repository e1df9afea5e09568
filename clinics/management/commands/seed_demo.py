"""Demo data: two clinics with staff and patients, every login with a working second factor.

Idempotent: running it again finds what exists and creates only what is missing. Passwords are
derived from SECRET_KEY and the e-mail address, so they are stable for one installation and
unguessable elsewhere; TOTP secrets are kept once made.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinics.mfa import TOTP_DEVICE_NAME, backup_codes_regenerate
from clinics.models import Clinic, Membership, Role, User
from patients.imports.base import Reading
from patients.measurements.alerts import alerts_evaluate, rule_create
from patients.measurements.services import measurement_from
from patients.models import Measurement, MeasurementSource, Patient, RuleType, ThresholdRule
from patients.services import patient_create


@dataclass(frozen=True)
class DemoClinic:
    name: str
    domain: str
    requires_patient_mfa: bool
    patients: tuple[tuple[str, str, datetime.date], ...]


CLINICS = (
    DemoClinic(
        name="Fysiotherapie De Linde",
        domain="delinde.example",
        requires_patient_mfa=True,
        patients=(
            ("Sanne", "de Vries", datetime.date(1958, 3, 14)),
            ("Mohamed", "El Amrani", datetime.date(1971, 9, 2)),
            ("Joke", "Bakker", datetime.date(1949, 12, 28)),
            ("Thijs", "van den Berg", datetime.date(1988, 6, 9)),
        ),
    ),
    DemoClinic(
        name="Praktijk Zuidpark",
        domain="zuidpark.example",
        requires_patient_mfa=False,
        patients=(
            (
                "Fatma",
                "Yılmaz",
                datetime.date(1965, 1, 21),
            ),
            ("Pieter", "Jansen", datetime.date(1953, 7, 30)),
            ("Anouk", "Visser", datetime.date(1992, 11, 5)),
            ("Kees", "Smit", datetime.date(1944, 4, 17)),
        ),
    ),
)
STAFF = (
    ("beheer", Role.CLINIC_ADMIN),
    ("fysio1", Role.PROFESSIONAL),
    ("fysio2", Role.PROFESSIONAL),
    ("vertrouwenspersoon", Role.COUNSELLOR),
)
OPERATOR_EMAIL = "operator@portal.example"
HISTORY_DAYS = 120


def seed_measurement_history(patient: Patient) -> int:
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
    for days_ago in range(HISTORY_DAYS, 0, -1):
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


def demo_password(email: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo:{email}".encode(), hashlib.sha256)
    return "Demo-" + base64.urlsafe_b64encode(digest.digest()[:15]).decode()


class Command(BaseCommand):
    help = "Create demo clinics, staff and patients (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--credentials-out", type=Path, help="Write the demo logins as JSON.")
        parser.add_argument(
            "--force", action="store_true", help="Also run when DEBUG is off (never in production)."
        )

    def handle(self, *args: object, credentials_out: Path | None, force: bool, **options: object):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo makes known logins: run it with DEBUG on, or --force.")
        credentials = self.seed()
        if credentials_out:
            credentials_out.write_text(json.dumps(credentials, indent=2, ensure_ascii=False) + "\n")
            credentials_out.chmod(0o600)
            self.stdout.write(f"Wrote {len(credentials)} demo logins to {credentials_out}.")
        else:
            self.stdout.write(f"{len(credentials)} demo logins ready (use --credentials-out).")

    @transaction.atomic
    def seed(self) -> list[dict]:
        credentials = []
        operator = self.user(OPERATOR_EMAIL, "Operator", is_staff=True, is_superuser=True)
        credentials.append(self.login(operator, "superuser", None, with_device=True))
        for demo in CLINICS:
            clinic, _ = Clinic.objects.update_or_create(
                name=demo.name, defaults={"requires_patient_mfa": demo.requires_patient_mfa}
            )
            for local, role in STAFF:
                user = self.user(f"{local}@{demo.domain}", local.capitalize())
                Membership.objects.update_or_create(
                    clinic=clinic, user=user, defaults={"role": role, "is_active": True}
                )
                credentials.append(self.login(user, role.value, clinic, with_device=True))
            admin = User.objects.get(email=f"beheer@{demo.domain}")
            for given, family, born in demo.patients:
                credentials.append(self.patient(clinic, admin, demo, given, family, born))
            seed_alerts(clinic, User.objects.get(email=f"fysio1@{demo.domain}"))
        return credentials

    def user(self, email: str, name: str, **flags: bool) -> User:
        user, _ = User.objects.get_or_create(email=email, defaults={"display_name": name, **flags})
        user.set_password(demo_password(email))
        user.is_active = True
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user

    def device_secret(self, user: User) -> str:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
            backup_codes_regenerate(user)
        return base64.b32encode(device.bin_key).decode("ascii")

    def login(self, user: User, role: str, clinic: Clinic | None, *, with_device: bool) -> dict:
        entry = {"email": user.email, "password": demo_password(user.email), "role": role}
        if clinic is not None:
            entry["clinic"] = clinic.name
        if with_device:
            entry["totp_secret"] = self.device_secret(user)
        return entry

    def patient(
        self,
        clinic: Clinic,
        admin: User,
        demo: DemoClinic,
        given: str,
        family: str,
        born: datetime.date,
    ) -> dict:
        local = f"{given}.{family}".lower().replace(" ", "")
        email = f"{local.encode('ascii', 'ignore').decode()}@patient.{demo.domain}"
        user = self.user(email, given)
        record = Patient.objects.for_clinic(clinic).filter(user=user).first()
        if record is None:
            record = patient_create(
                clinic=clinic,
                actor=admin,
                given_name=given,
                family_name=family,
                date_of_birth=born,
                email=email,
            )
            record.user = user
            record.save(update_fields=["user"])
        seed_measurement_history(record)
        entry = self.login(user, "patient", clinic, with_device=demo.requires_patient_mfa)
        entry["patient_id"] = record.pk
        return entry
