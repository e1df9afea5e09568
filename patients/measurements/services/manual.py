"""Manual entry of a reading, and the one way a reading becomes a `Measurement` row.

Invariant: every reading passes `validation.reading_problems` and gets a `dedup_key`; an exact
duplicate of a stored reading is refused, never stored twice.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from patients.imports.base import Reading
from patients.measurements.alerts import alerts_evaluate
from patients.measurements.validation import dedup_key, reading_problems, stored_value
from patients.models import Measurement, MeasurementSource, Patient


def measurement_from(
    reading: Reading, *, patient: Patient, source: str, actor: User | None, **extra: object
) -> Measurement:
    return Measurement(
        clinic_id=patient.clinic_id,
        patient=patient,
        kind=reading.kind,
        measured_at=reading.measured_at,
        value=stored_value(reading),
        systolic=reading.systolic,
        diastolic=reading.diastolic,
        pulse=reading.pulse,
        irregular_heartbeat=reading.irregular_heartbeat,
        device=reading.device[:200],
        source=source,
        entered_by=actor,
        dedup_key=dedup_key(reading),
        **extra,
    )


@transaction.atomic
def measurement_record(
    *, clinic: Clinic, actor: User, patient: Patient, reading: Reading, source: MeasurementSource
) -> Measurement:
    """Manual entry by the patient or a professional."""
    patient = Patient.objects.for_clinic(clinic).get(pk=patient.pk)
    problems = reading_problems(reading)
    if problems:
        raise ValidationError(problems)
    measurement = measurement_from(reading, patient=patient, source=source, actor=actor)
    readings = Measurement.objects.for_clinic(clinic)
    if readings.filter(patient=patient, dedup_key=measurement.dedup_key).exists():
        raise ValidationError(_("This measurement has been recorded already."), code="duplicate")
    measurement.save()
    alerts_evaluate(patient=patient, measurements=readings.filter(pk=measurement.pk))
    return measurement
