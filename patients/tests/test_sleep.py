"""Sleep nights: one rule for Apple Health and FHIR (patients.imports.sleep).

A night runs noon to noon on the clock its records were written in, is dated by the day it
starts, and its reading sits at the last wake-up, so the same night from two sources is stored
once. The files are built here: real element and field names, invented values.
"""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from patients.imports import apple, fhir, sleep
from patients.imports.base import Reading
from patients.measurements.services import import_confirm, import_start
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PACIFIC = datetime.timezone(datetime.timedelta(hours=-7))
CET = datetime.timezone(datetime.timedelta(hours=1))
CEST = datetime.timezone(datetime.timedelta(hours=2))
STAGE = "HKCategoryValueSleepAnalysisAsleep"

# The outside tester's night: recorded at -07:00, core then deep, 7.5 h asleep.
PACIFIC_NIGHT = [
    ("Core", "2025-06-01 23:20:00 -0700", "2025-06-02 05:00:00 -0700"),
    ("Deep", "2025-06-02 05:00:00 -0700", "2025-06-02 06:50:00 -0700"),
]
# An ordinary night at home: asleep 23:15, awake 02:15-02:45, up at 06:30 (6.75 h).
AMSTERDAM_NIGHT = [
    ("Core", "2025-03-13 23:15:00 +0100", "2025-03-14 02:15:00 +0100"),
    ("Deep", "2025-03-14 02:45:00 +0100", "2025-03-14 06:30:00 +0100"),
]


def apple_export(*stages: tuple[str, str, str], source: str = "Apple Watch") -> bytes:
    records = "".join(
        f'<Record type="{apple.SLEEP}" sourceName="{source}" value="{STAGE}{stage}" '
        f'startDate="{start}" endDate="{end}"/>'
        for stage, start, end in stages
    )
    return f'<?xml version="1.0"?>\n<HealthData locale="en">{records}</HealthData>'.encode()


def fhir_sleep(start: str, end: str, hours: str) -> bytes:
    """One Observation of LOINC 93832-4 over the night's period, as a FHIR Bundle."""
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "93832-4"}]},
        "effectivePeriod": {"start": start, "end": end},
        "valueQuantity": {"value": float(hours), "unit": "h",
                          "system": "http://unitsofmeasure.org", "code": "h"},
    }  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
    return json.dumps(bundle).encode()


def iso(apple_time: str) -> str:
    """Apple's "2025-06-01 23:20:00 -0700" as FHIR's "2025-06-01T23:20:00-07:00"."""
    return f"{apple_time[:10]}T{apple_time[11:19]}{apple_time[20:23]}:{apple_time[23:]}"


def parsed(parse, data: bytes) -> list[Reading]:
    items = list(parse(io.BytesIO(data), filename="upload", tz=AMSTERDAM))
    assert all(isinstance(item, Reading) for item in items), items
    return items


# --- the rule --------------------------------------------------------------------------------


def test_a_night_is_dated_by_the_day_it_starts_on_its_own_clock():
    """02:00 belongs to the night before; noon starts a new night; the offset as written counts."""
    assert sleep.night_of(datetime.datetime(2025, 6, 2, 2, 0, tzinfo=CET)) == datetime.date(
        2025, 6, 1
    )
    assert sleep.night_of(datetime.datetime(2025, 6, 2, 12, 0, tzinfo=CET)) == datetime.date(
        2025, 6, 2
    )
    # 05:00 at -07:00 is 14:00 in Amsterdam, yet it is still the night of 1 June.
    assert sleep.night_of(datetime.datetime(2025, 6, 2, 5, 0, tzinfo=PACIFIC)) == datetime.date(
        2025, 6, 1
    )


# --- Apple Health ------------------------------------------------------------------------------


def test_apple_night_recorded_at_minus_seven_is_one_night_of_seven_and_a_half_hours():
    """Core 23:20-05:00 and deep 05:00-06:50 at -07:00: one night of 7.5 h at 06:50 -07:00."""
    (night,) = parsed(apple.parse, apple_export(*PACIFIC_NIGHT))
    assert (night.kind, night.value) == ("sleep_duration", Decimal("7.50"))
    assert night.measured_at == datetime.datetime(2025, 6, 2, 6, 50, tzinfo=PACIFIC)
    assert night.measured_at.utcoffset() == datetime.timedelta(hours=-7)


def test_apple_night_over_the_spring_dst_change_counts_real_hours():
    """23:00 CET to 07:00 CEST on 30 March 2025 is 7 hours asleep (the clock skips one): one
    night, at the wake-up."""
    stages = [
        ("Core", "2025-03-29 23:00:00 +0100", "2025-03-30 01:30:00 +0100"),
        ("Deep", "2025-03-30 01:30:00 +0100", "2025-03-30 03:00:00 +0200"),
        ("REM", "2025-03-30 03:00:00 +0200", "2025-03-30 07:00:00 +0200"),
    ]
    (night,) = parsed(apple.parse, apple_export(*stages))
    assert night.value == Decimal("7.00")
    assert night.measured_at == datetime.datetime(2025, 3, 30, 7, 0, tzinfo=CEST)


def test_apple_night_over_the_autumn_dst_change_counts_real_hours():
    """23:00 CEST to 07:00 CET on 26 October 2025 is 9 hours asleep (the clock repeats one)."""
    stages = [
        ("Core", "2025-10-25 23:00:00 +0200", "2025-10-26 02:30:00 +0200"),
        ("Deep", "2025-10-26 02:30:00 +0200", "2025-10-26 02:30:00 +0100"),
        ("Core", "2025-10-26 02:30:00 +0100", "2025-10-26 07:00:00 +0100"),
    ]
    (night,) = parsed(apple.parse, apple_export(*stages))
    assert night.value == Decimal("9.00")
    assert night.measured_at == datetime.datetime(2025, 10, 26, 7, 0, tzinfo=CET)


def test_apple_two_nights_in_a_row_stay_two_nights():
    """Each night its own reading, dated by its start, the afternoon nap with the next night."""
    stages = [
        *PACIFIC_NIGHT,
        ("Core", "2025-06-02 14:00:00 -0700", "2025-06-02 14:30:00 -0700"),
        ("Core", "2025-06-02 23:00:00 -0700", "2025-06-03 06:00:00 -0700"),
    ]
    nights = parsed(apple.parse, apple_export(*stages))
    assert [(n.value, n.measured_at) for n in nights] == [
        (Decimal("7.50"), datetime.datetime(2025, 6, 2, 6, 50, tzinfo=PACIFIC)),
        (Decimal("7.50"), datetime.datetime(2025, 6, 3, 6, 0, tzinfo=PACIFIC)),
    ]


# --- FHIR and Apple agree -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "stages",
    [PACIFIC_NIGHT, AMSTERDAM_NIGHT],
    ids=["recorded_at_minus_seven", "recorded_in_amsterdam"],
)
def test_fhir_sleep_period_is_placed_where_apple_places_the_same_night(stages):
    """effectivePeriod start/end of 93832-4: at the end (the wake-up), in its own offset."""
    (from_apple,) = parsed(apple.parse, apple_export(*stages))
    data = fhir_sleep(iso(stages[0][1]), iso(stages[-1][2]), str(from_apple.value))
    (from_fhir,) = parsed(fhir.parse, data)
    assert from_fhir.kind == "sleep_duration" and from_fhir.value == from_apple.value
    assert from_fhir.measured_at == from_apple.measured_at
    assert from_fhir.measured_at.utcoffset() == from_apple.measured_at.utcoffset()


def test_fhir_sleep_with_only_a_start_is_placed_at_the_start():
    """A period without an end: the only time there is (and never a missing date)."""
    observation = json.loads(fhir_sleep("2025-06-01T23:20:00-07:00", "", "7.5"))
    del observation["entry"][0]["resource"]["effectivePeriod"]["end"]
    (night,) = parsed(fhir.parse, json.dumps(observation).encode())
    assert night.measured_at == datetime.datetime(2025, 6, 1, 23, 20, tzinfo=PACIFIC)


# --- through the import service ------------------------------------------------------------------


def preview(alice, patient, content: bytes, name: str) -> ImportBatch:
    batch = import_start(
        clinic=patient.clinic, actor=alice, patient=patient,
        upload=SimpleUploadedFile(name, content), source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip
    assert batch.status == ImportStatus.PREVIEWED, batch.failure or batch.errors
    return batch


def import_file(alice, patient, content: bytes, name: str) -> ImportBatch:
    batch = preview(alice, patient, content, name)
    batch = import_confirm(clinic=patient.clinic, actor=alice, batch=batch)
    assert batch.status == ImportStatus.DONE, batch.failure
    return batch


@pytest.mark.django_db
def test_the_minus_seven_night_is_stored_as_one_night_of_seven_and_a_half_hours(alice, patient_a):
    """The tester's export: one stored reading of 7.5 h, not 5.7 h and a second night."""
    import_file(alice, patient_a, apple_export(*PACIFIC_NIGHT), "export.xml")
    stored = Measurement.objects.for_clinic(patient_a.clinic).filter(patient=patient_a)
    assert [(m.kind, m.value) for m in stored] == [("sleep_duration", Decimal("7.500"))]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "stages",
    [PACIFIC_NIGHT, AMSTERDAM_NIGHT],
    ids=["recorded_at_minus_seven", "recorded_in_amsterdam"],
)
@pytest.mark.parametrize("apple_first", [True, False], ids=["apple_first", "fhir_first"])
def test_the_same_night_from_apple_and_fhir_is_stored_once(alice, patient_a, stages, apple_first):
    """Imported from both sources, in either order: the second is a duplicate of the first."""
    files = [
        (apple_export(*stages), "export.xml"),
        (fhir_sleep(iso(stages[0][1]), iso(stages[-1][2]), "7"), "fhir.json"),
    ]
    first, second = files if apple_first else files[::-1]
    import_file(alice, patient_a, *first)
    batch = preview(alice, patient_a, *second)
    assert (batch.rows_valid, batch.rows_duplicate) == (0, 1)
    stored = Measurement.objects.for_clinic(patient_a.clinic).filter(patient=patient_a)
    assert stored.count() == 1
    (night,) = stored
    assert night.measured_at == datetime.datetime.fromisoformat(iso(stages[-1][2]))
