"""Appointments as the professional's form would store them (through the service)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_plan
from clinics.models import User
from patients.models import Patient


def plan(
    patient: Patient,
    professional: User,
    *,
    starts_in: datetime.timedelta = datetime.timedelta(days=7),
    starts_at: datetime.datetime | None = None,
    **fields: object,
) -> Appointment:
    """An appointment with `professional`, `starts_in` from now unless `starts_at` is given."""
    return appointment_plan(
        clinic=patient.clinic,
        actor=professional,
        patient=patient,
        starts_at=starts_at or timezone.now() + starts_in,
        duration_minutes=fields.pop("duration_minutes", 30),
        **fields,
    )
