"""LatestReading: the newest reading per patient and kind, kept by the database's triggers
through every way readings change (one insert, many, COPY, update, delete)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from patients.measurements.services import measurement_from
from patients.models import LatestReading, Measurement, MeasurementSource
from patients.tests.factories import PatientFactory, add_measurement, reading_at

pytestmark = pytest.mark.django_db


def kept(patient):
    return {
        row.kind: (row.measurement_id, row.value, row.systolic)
        for row in LatestReading.objects.filter(patient=patient)
    }


def newest(patient, kind):
    m = Measurement.objects.filter(patient=patient, kind=kind).order_by("-measured_at", "-id")[0]
    return (m.pk, m.value, m.systolic)


def test_an_insert_keeps_the_newest_and_an_older_one_changes_nothing(patient_a):
    add_measurement(patient_a, 2, kind="weight", value=Decimal("80.5"))
    assert kept(patient_a) == {"weight": newest(patient_a, "weight")}
    add_measurement(patient_a, 5, kind="weight", value=Decimal("70"))  # older: not the newest
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=150, diastolic=90)
    assert kept(patient_a) == {
        "weight": newest(patient_a, "weight"),
        "blood_pressure": newest(patient_a, "blood_pressure"),
    }
    assert kept(patient_a)["weight"][1] == Decimal("80.5")


def test_a_bulk_insert_keeps_the_newest_per_patient_and_kind(patient_a, clinic_a):
    other = PatientFactory(clinic=clinic_a)
    rows = [
        measurement_from(
            reading_at(days, kind="weight", value=Decimal(value)),
            patient=patient,
            source=MeasurementSource.MANUAL_PROFESSIONAL,
            actor=None,
        )
        for patient, days, value in (
            (patient_a, 3, "81"), (patient_a, 1, "82"), (other, 4, "60"), (other, 9, "61"),
        )
    ]  # fmt: skip
    Measurement.objects.bulk_create(rows)
    assert kept(patient_a)["weight"][1] == Decimal("82")
    assert kept(other)["weight"][1] == Decimal("60")


def test_deleting_the_newest_falls_back_to_the_one_before(patient_a):
    add_measurement(patient_a, 3, kind="weight", value=Decimal("81"))
    newer = add_measurement(patient_a, 1, kind="weight", value=Decimal("82"))
    newer.delete()
    assert kept(patient_a)["weight"][1] == Decimal("81")
    Measurement.objects.filter(patient=patient_a).delete()
    assert kept(patient_a) == {}


def test_an_update_recomputes_the_kinds_it_touched(patient_a):
    older = add_measurement(patient_a, 3, kind="weight", value=Decimal("81"))
    add_measurement(patient_a, 1, kind="weight", value=Decimal("82"))
    Measurement.objects.filter(pk=older.pk).update(measured_at=older.measured_at.replace(year=2099))
    assert kept(patient_a)["weight"] == (older.pk, Decimal("81"), None)
