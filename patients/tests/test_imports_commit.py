"""The commit reuses the check's work: the checked file's lifecycle, readings stored meanwhile,
the fallback to checking the upload again, and alerts evaluated once per import."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clinics.retention import purges_run
from patients.imports.base import Reading
from patients.measurements import import_store
from patients.measurements.alerts import rule_create
from patients.measurements.services import (
    import_cancel,
    import_check,
    import_commit,
    import_set_mapping,
    import_upload,
    measurement_from,
    measurement_record,
)
from patients.measurements.services import imports as import_services
from patients.models import (
    Alert,
    ImportBatch,
    ImportStatus,
    Measurement,
    MeasurementSource,
    RuleType,
)
from patients.tests.test_imports import FILENAME, OMRON_ROWS, omron_csv

pytestmark = pytest.mark.django_db


def uploaded(alice, patient, content: bytes | None = None) -> ImportBatch:
    return import_upload(
        clinic=patient.clinic, actor=alice, patient=patient,
        upload=SimpleUploadedFile(FILENAME, content or omron_csv()),
        source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip


def checked(alice, patient, content: bytes | None = None) -> ImportBatch:
    """An OMRON file uploaded and checked (previewed), not yet committed."""
    batch = uploaded(alice, patient, content)
    return import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)


def files_of(batch: ImportBatch) -> tuple[Path, Path]:
    root = Path(settings.PRIVATE_UPLOAD_ROOT)
    return root / batch.stored_name, root / import_store.checked_name(batch.stored_name)


def commit(batch: ImportBatch) -> ImportBatch:
    return import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)


def test_the_check_writes_the_new_readings_for_the_commit_and_nothing_else(alice, patient_a):
    """The checked file holds one line per new reading; the database is not written."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    assert upload.is_file() and checked_file.is_file()
    assert len(checked_file.read_text().splitlines()) == 1 + 3  # what it was made from, rows
    beside = {p.name for p in upload.parent.iterdir() if p.name.startswith(upload.name)}
    assert beside == {upload.name, checked_file.name}  # no partial file left
    assert not Measurement.objects.exists()


def test_the_commit_does_not_parse_the_file_again(alice, patient_a, monkeypatch):
    """With the checked file the commit stores the readings without reading the upload."""
    batch = checked(alice, patient_a)

    def no_parsing(batch):
        raise AssertionError("the commit parsed the upload again")

    monkeypatch.setattr(import_services, "_items", no_parsing)
    batch = commit(batch)
    assert batch.status == ImportStatus.DONE and batch.rows_imported == 3
    first = Measurement.objects.order_by("measured_at").first()
    assert (first.systolic, first.diastolic, first.pulse) == (128, 82, 64)
    assert (first.source_file, first.batch.uploaded_by, first.batch) == (FILENAME, alice, batch)
    assert first.entered_by is None  # manual entry only


def test_both_files_are_deleted_once_imported(alice, patient_a):
    """Upload and checked file go together when the readings are committed."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    batch = commit(batch)
    assert batch.stored_name == "" and not upload.exists() and not checked_file.exists()


def test_both_files_are_deleted_on_cancel(alice, patient_a):
    """Cancelling the preview removes the checked file with the upload."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    import_cancel(clinic=patient_a.clinic, batch=batch)
    assert not upload.exists() and not checked_file.exists()


def test_a_half_written_checked_file_never_reaches_private_storage(alice, patient_a, monkeypatch):
    """A check that breaks off while writing leaves the earlier checked file whole, and nothing
    else beside the upload: it writes elsewhere and stores only a finished file."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    before = checked_file.read_bytes()

    class Stopped(BaseException):
        """The worker stopped (not an error of the file, which would fail the import)."""

    def killed(reading, key):
        raise Stopped

    monkeypatch.setattr(import_store, "copy_line", killed)
    with pytest.raises(Stopped):
        import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    assert checked_file.read_bytes() == before
    beside = {p.name for p in upload.parent.iterdir() if p.name.startswith(upload.name)}
    assert beside == {upload.name, checked_file.name}


def test_both_files_are_deleted_by_the_purge_of_abandoned_imports(alice, patient_a):
    """A preview nobody confirmed for two days: both files removed."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    later = timezone.now() + datetime.timedelta(hours=49)
    (run,) = purges_run(only=["imports-abandoned"], now=later)
    assert run.rows_purged == 1
    assert not upload.exists() and not checked_file.exists()


def test_a_check_that_fails_leaves_no_checked_file(alice, patient_a):
    """A file refused during the check: no checked file, complete or partial, no upload."""
    content = omron_csv(*OMRON_ROWS) + b"Jan 5 2025,08:00," + b"9" * 2_000_000 + b",80,60\n"
    batch = uploaded(alice, patient_a, content)
    upload, checked_file = files_of(batch)
    batch = import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    assert batch.status == ImportStatus.FAILED
    assert not upload.exists() and not checked_file.exists()
    assert not [p for p in upload.parent.iterdir() if p.name.startswith(upload.name)]


def test_a_commit_that_fails_deletes_both_files_and_stores_nothing(alice, patient_a):
    """The upload changed after the check: the checked file is not trusted, the upload is
    checked again, breaks, and nothing is stored; both files are gone."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    with open(upload, "ab") as stored:
        stored.write(b"Jan 29 2025,08:00," + b"9" * 2_000_000 + b",80,60,-,-,-,-\n")
    batch = commit(batch)
    assert batch.status == ImportStatus.FAILED and not Measurement.objects.exists()
    assert not upload.exists() and not checked_file.exists()


def test_without_a_checked_file_the_commit_checks_the_upload_again(alice, patient_a):
    """A batch previewed before checked files existed (or whose file is lost) still imports."""
    batch = checked(alice, patient_a)
    _upload, checked_file = files_of(batch)
    checked_file.unlink()
    batch = commit(batch)
    assert batch.status == ImportStatus.DONE and batch.rows_imported == 3
    assert Measurement.objects.filter(batch=batch).count() == 3


def test_a_reading_stored_after_the_preview_is_skipped_and_counted(alice, patient_a):
    """The same reading entered by hand between preview and confirmation: the import stores
    the other two, counts it as already present, and does not fail."""
    batch = checked(alice, patient_a)
    assert (batch.rows_valid, batch.rows_duplicate) == (3, 0)
    tz = timezone.get_default_timezone()
    measurement_record(
        clinic=patient_a.clinic, actor=alice, patient=patient_a,
        reading=Reading(0, "blood_pressure", datetime.datetime(2025, 1, 7, 8, 2, tzinfo=tz),
                        systolic=126, diastolic=81, pulse=66),
        source=MeasurementSource.MANUAL_PROFESSIONAL,
    )  # fmt: skip
    batch = commit(batch)
    assert batch.status == ImportStatus.DONE
    assert (batch.rows_imported, batch.rows_duplicate, batch.rows_processed) == (2, 1, 3)
    assert Measurement.objects.filter(patient=patient_a).count() == 3
    assert Measurement.objects.filter(batch=batch).count() == 2


def test_a_reading_stored_meanwhile_by_another_import_is_skipped(alice, patient_a):
    """Two previews of overlapping files, both confirmed: every reading stored once."""
    first = checked(alice, patient_a, omron_csv(*OMRON_ROWS[:2]))
    second = checked(alice, patient_a, omron_csv(*OMRON_ROWS))
    assert (first.rows_valid, second.rows_valid) == (2, 3)
    assert commit(first).rows_imported == 2
    second = commit(second)
    assert (second.status, second.rows_imported, second.rows_duplicate) == ("done", 1, 2)
    assert Measurement.objects.count() == 3


def test_a_second_commit_of_the_same_batch_changes_nothing(alice, patient_a):
    """Confirmed twice (a double click, a retried task): the import is counted once."""
    batch = checked(alice, patient_a)
    commit(batch)
    again = commit(batch)
    assert (again.status, again.rows_imported) == (ImportStatus.DONE, 3)
    assert Measurement.objects.count() == 3


def test_mapping_again_discards_the_checked_file(client_for, alice, patient_a):
    """New columns make the earlier check's readings wrong: its file is replaced by the file of
    the check that the mapping starts."""
    from patients.imports.generic_csv import ColumnMapping
    from patients.tests.test_import_mapping import COMMA_FILE, COMMA_MAPPING, mapping_url

    client = client_for(alice)
    client.post(
        reverse("patients:import_new", args=[patient_a.pk]),
        {"file": SimpleUploadedFile("metingen.csv", COMMA_FILE)},
    )
    batch = ImportBatch.objects.get()
    client.post(mapping_url(batch), COMMA_MAPPING)
    batch.refresh_from_db()
    _upload, checked_file = files_of(batch)
    assert batch.status == ImportStatus.PREVIEWED and checked_file.is_file()
    checked_file.write_text("checked under the earlier columns\n")
    batch = import_set_mapping(
        clinic=patient_a.clinic, actor=alice, batch=batch,
        mapping=ColumnMapping.from_dict(batch.mapping),
    )  # fmt: skip
    assert batch.status == ImportStatus.PREVIEWED
    assert checked_file.read_text().startswith(import_store.VERSION)


def test_text_that_copy_would_misread_is_stored_as_it_was(alice, patient_a):
    """Backslashes, tabs and line ends in a device name survive the COPY text; NUL, which
    PostgreSQL text cannot hold, is dropped."""
    batch = ImportBatch.objects.create(
        clinic=patient_a.clinic, patient=patient_a, uploaded_by=alice, filename="x.csv",
        source=MeasurementSource.FILE_IMPORT, format="omron", status=ImportStatus.RUNNING,
    )  # fmt: skip
    at = timezone.now() - datetime.timedelta(hours=1)
    reading = Reading(0, "weight", at, value=Decimal("72.46"), device="C:\\scale\t1\r\n\\N\x00")
    lines = [import_store.copy_line(reading, "k" * 32)]
    assert import_store.copy_into_measurements(batch, lines, lambda rows: None) == 1
    stored = Measurement.objects.get()
    assert stored.device == "C:\\scale\t1\r\n\\N"
    assert stored.value == Decimal("72.46") and stored.measured_at == at


def test_progress_is_reported_per_chunk(alice, patient_a, monkeypatch):
    """A large commit reports the rows done after each chunk (the page reads the cache)."""
    monkeypatch.setattr(import_store, "STORE_CHUNK", 2)
    batch = checked(alice, patient_a)
    reported = []

    def report(key: str, rows: int, timeout: int) -> None:
        reported.append(rows)

    monkeypatch.setattr(import_services.cache, "set", report)
    commit(batch)
    assert reported == [2, 3]


def bp_rule(patient, actor, systolic=150, diastolic=95):
    return rule_create(
        clinic=patient.clinic, actor=actor, patient=None, kind="blood_pressure",
        rule_type=RuleType.UPPER, limit=Decimal(systolic), limit_diastolic=Decimal(diastolic),
    )  # fmt: skip


def test_an_import_raises_one_alert_on_its_newest_crossing_reading(alice, patient_a, monkeypatch):
    """Oldest first, over several chunks: one alert per rule, on the newest reading that
    crosses it (not on the newest of the first chunk)."""
    monkeypatch.setattr(import_store, "STORE_CHUNK", 2)
    bp_rule(patient_a, alice)
    rows = [
        "Jan 1 2025,08:00,171,99,70,-,-,-,-",
        "Jan 2 2025,08:00,120,80,70,-,-,-,-",
        "Jan 3 2025,08:00,165,90,70,-,-,-,-",
        "Jan 4 2025,08:00,130,97,70,-,-,-,-",  # diastolic only: crosses too
        "Jan 5 2025,08:00,140,90,70,-,-,-,-",
    ]
    batch = commit(checked(alice, patient_a, omron_csv(*rows)))
    alert = Alert.objects.get()
    assert (alert.measurement.systolic, alert.measurement.diastolic) == (130, 97)
    assert alert.measurement.batch == batch and alert.detail == "130/97 mmHg"


def test_an_import_adds_no_alert_while_the_rules_alert_is_open(alice, patient_a):
    """A second file crossing the same rule: the open alert stands, nothing is added."""
    bp_rule(patient_a, alice)
    commit(checked(alice, patient_a, omron_csv("Jan 1 2025,08:00,171,99,70,-,-,-,-")))
    commit(checked(alice, patient_a, omron_csv("Jan 2 2025,08:00,175,99,70,-,-,-,-")))
    assert Alert.objects.get().measurement.systolic == 171


def test_readings_skipped_as_stored_meanwhile_raise_no_alert_again(alice, patient_a):
    """Only the readings this import stored are evaluated: the alert of the reading stored by
    the other import stays that import's."""
    bp_rule(patient_a, alice)
    high = "Jan 9 2025,08:00,171,99,70,-,-,-,-"
    first = checked(alice, patient_a, omron_csv(high))
    second = checked(alice, patient_a, omron_csv(high, *OMRON_ROWS))
    commit(first)
    Alert.objects.update(acknowledged_at=timezone.now())
    second = commit(second)
    assert second.rows_imported == 3 and Alert.objects.count() == 1


def test_the_database_refuses_a_reading_filed_under_another_clinic(patient_a, clinic_b):
    """One foreign key holds patient and clinic together: a reading cannot be stored in a
    clinic that is not its patient's, whatever code writes it."""
    from django.db import IntegrityError, connection, transaction

    reading = Reading(0, "weight", timezone.now(), value=Decimal("80.0"))
    measurement = measurement_from(
        reading, patient=patient_a, source=MeasurementSource.MANUAL_PROFESSIONAL, actor=None
    )
    measurement.clinic_id = clinic_b.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        measurement.save()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db(transaction=True)
def test_two_commits_of_one_batch_at_once_import_it_once(alice, patient_a):
    """Two workers (or requests) commit the same batch together: one imports, the other waits
    for it and finds the batch done; the count is not overwritten by an import of nothing."""
    import threading

    from django.db import connections

    batch = checked(alice, patient_a, omron_csv(*[f"Jan {d} 2025,08:00,{120 + d},80,60,-,-,-,-"
                                                  for d in range(1, 29)]))  # fmt: skip
    results = []

    def confirm():
        try:
            results.append(commit(batch))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch.refresh_from_db()
    assert (batch.status, batch.rows_imported, batch.rows_duplicate) == ("done", 28, 0)
    assert Measurement.objects.count() == 28 and len(results) == 2


# --- device precision ------------------------------------------------------------------------

WITHINGS_WEIGHT = (
    b'Date,"Weight (kg)","Fat mass (kg)","Bone mass (kg)","Muscle mass (kg)",'
    b'"Hydration (kg)",Comments\n"2025-03-14 07:35:02",77.85,,3.05,55.71,,\n'
)
APPLE_WEIGHT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_NL">\n'
    b' <ExportDate value="2025-03-15 10:00:00 +0100"/>\n'
    b' <Record type="HKQuantityTypeIdentifierBodyMass" sourceName="Withings" unit="kg" '
    b'creationDate="2025-03-14 07:40:00 +0100" startDate="2025-03-14 07:40:00 +0100" '
    b'endDate="2025-03-14 07:40:00 +0100" value="77.85"/>\n</HealthData>\n'
)
FHIR_WEIGHT = (
    b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {'
    b'"resourceType": "Observation", "status": "final", '
    b'"code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}, '
    b'"effectiveDateTime": "2025-03-14T07:05:00+01:00", '
    b'"valueQuantity": {"value": 77.85, "unit": "kg", "system": "http://unitsofmeasure.org", '
    b'"code": "kg"}}}]}'
)


def checked_as(alice, patient, content: bytes, name: str) -> ImportBatch:
    batch = import_upload(
        clinic=patient.clinic, actor=alice, patient=patient,
        upload=SimpleUploadedFile(name, content), source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip
    return import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)


def imported(alice, patient, content: bytes, name: str) -> dict[str, Decimal]:
    batch = commit(checked_as(alice, patient, content, name))
    assert batch.status == ImportStatus.DONE, batch.failure
    return dict(Measurement.objects.filter(batch=batch).values_list("kind", "value"))


def test_withings_weights_are_stored_as_the_scale_measured_them(alice, patient_a):
    """77.85 kg, 3.05 kg bone and 55.71 kg muscle: no display rounding on the way in."""
    values = imported(alice, patient_a, WITHINGS_WEIGHT, "weight.csv")
    assert values == {
        "weight": Decimal("77.85"),
        "bone_mass": Decimal("3.05"),
        "muscle_mass": Decimal("55.71"),
    }


@pytest.mark.parametrize(
    ("content", "name"), [(APPLE_WEIGHT, "export.xml"), (FHIR_WEIGHT, "bundle.json")]
)
def test_apple_and_fhir_weights_are_stored_as_measured(alice, patient_a, content, name):
    """An Apple Health or FHIR weight of 77.85 kg is stored as 77.85."""
    assert imported(alice, patient_a, content, name) == {"weight": Decimal("77.85")}


def test_a_reading_stored_rounded_before_is_still_recognised_as_a_duplicate(alice, patient_a):
    """The dedup key is still computed at the catalogue's decimals, so a file imported before
    values were kept exactly (77.85 stored as 77.8) is not imported a second time."""
    imported(alice, patient_a, WITHINGS_WEIGHT, "weight.csv")
    Measurement.objects.filter(kind="weight").update(value=Decimal("77.8"))  # as stored before
    batch = checked_as(alice, patient_a, WITHINGS_WEIGHT, "weight.csv")
    assert (batch.rows_valid, batch.rows_duplicate) == (0, 3)


def test_a_weight_limit_is_judged_on_the_stored_value_and_worded_half_up(alice, patient_a):
    """77.85 kg crosses an upper limit of 77.8 kg (the stored value, not the displayed one);
    the alert says 77.9 kg (half up), where the catalogue's rounding once said 77.8."""
    rule_create(
        clinic=patient_a.clinic, actor=alice, patient=None, kind="weight",
        rule_type=RuleType.UPPER, limit=Decimal("77.8"),
    )  # fmt: skip
    imported(alice, patient_a, WITHINGS_WEIGHT, "weight.csv")
    (alert,) = Alert.objects.filter(patient=patient_a)
    assert "77.9 kg" in alert.detail
