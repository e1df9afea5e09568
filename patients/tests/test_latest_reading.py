"""LatestReading and DailyReading: the newest reading per patient and kind, and the daily counts
and sums, kept by the database's triggers through every way readings change (one insert, many,
COPY, update, delete)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from patients.measurements.services import measurement_from
from patients.models import (
    READING_DAY_TIME_ZONE,
    DailyReading,
    LatestReading,
    Measurement,
    MeasurementSource,
)
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


# --- DailyReading: per patient, kind and local day, the count and sums of the readings ---------


def days_kept(patient, kind):
    return {
        row.day.isoformat(): (row.main_count, row.main_sum, row.second_count, row.second_sum)
        for row in DailyReading.objects.filter(patient=patient, kind=kind)
    }


def at(text):
    return datetime.datetime.fromisoformat(text)


def test_daily_sums_follow_inserts_updates_and_deletes_by_local_day(patient_a, clinic_a):
    """23:30 in Amsterdam is the same local day as 00:30 the day before in UTC terms; an insert
    adds to its day, a bulk insert sums its rows, an update moves a reading between days and a
    delete takes it out (the last one of a day removes the day)."""
    other = PatientFactory(clinic=clinic_a)
    late = Measurement.objects.create(
        clinic=clinic_a,
        patient=patient_a,
        kind="blood_pressure",
        systolic=140,
        diastolic=90,
        measured_at=at("2026-03-10T22:30:00+00:00"),
        source=MeasurementSource.MANUAL_PATIENT,
        dedup_key="a",
    )  # fmt: skip  -- 23:30 on 10 March in Amsterdam
    rows = [
        Measurement(
            clinic=clinic_a, patient=patient, kind="blood_pressure", systolic=s, diastolic=d,
            measured_at=at(when), source=MeasurementSource.MANUAL_PATIENT, dedup_key=key,
        )
        for patient, when, s, d, key in (
            (patient_a, "2026-03-10T07:00:00+00:00", 120, 80, "b"),
            (patient_a, "2026-03-10T23:30:00+00:00", 150, 100, "c"),  # 00:30 on 11 March
            (other, "2026-03-10T07:00:00+00:00", 110, 70, "d"),
        )
    ]  # fmt: skip
    Measurement.objects.bulk_create(rows)
    assert days_kept(patient_a, "blood_pressure") == {
        "2026-03-10": (2, Decimal(260), 2, Decimal(170)),
        "2026-03-11": (1, Decimal(150), 1, Decimal(100)),
    }
    assert days_kept(other, "blood_pressure") == {"2026-03-10": (1, Decimal(110), 1, Decimal(70))}
    Measurement.objects.filter(pk=late.pk).update(measured_at=at("2026-03-11T08:00:00+00:00"))
    assert days_kept(patient_a, "blood_pressure") == {
        "2026-03-10": (1, Decimal(120), 1, Decimal(80)),
        "2026-03-11": (2, Decimal(290), 2, Decimal(190)),
    }
    Measurement.objects.filter(
        patient=patient_a, measured_at__lt=at("2026-03-11T00:00:00+01:00")
    ).delete()
    assert set(days_kept(patient_a, "blood_pressure")) == {"2026-03-11"}
    assert days_kept(other, "blood_pressure") == {"2026-03-10": (1, Decimal(110), 1, Decimal(70))}


def test_a_day_across_the_clock_change_holds_its_25_hours(patient_a, clinic_a):
    """On 25 October 2026 Amsterdam has 25 hours: a reading at 23:30 local (22:30 UTC) is still
    that day, also when an update recomputes it."""
    for key, when in (("a", "2026-10-24T22:30:00+00:00"), ("b", "2026-10-25T22:30:00+00:00")):
        Measurement.objects.create(
            clinic=clinic_a, patient=patient_a, kind="weight", value=Decimal("80"),
            measured_at=at(when), source=MeasurementSource.MANUAL_PATIENT, dedup_key=key,
        )  # fmt: skip
    Measurement.objects.filter(patient=patient_a).update(value=Decimal("81"))
    assert days_kept(patient_a, "weight") == {
        "2026-10-25": (2, Decimal("162"), 0, Decimal(0)),
    }


def test_the_reading_day_is_the_portals_time_zone(settings):
    """The triggers' SQL names the zone; the pages show days in settings.TIME_ZONE."""
    from importlib import import_module

    migration = import_module("patients.migrations.0013_daily_reading")
    assert migration.ZONE == READING_DAY_TIME_ZONE == settings.TIME_ZONE
