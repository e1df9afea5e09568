"""File imports through the web pages and the command: preview, confirm, duplicates, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from clinics.models import AccessLogEntry, AccessPart
from patients.measurements.services import import_check, import_commit, import_upload
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource

OMRON_HEADER = (
    "Date,Time,Systolic (mmHg),Diastolic (mmHg),Pulse (bpm),Symptoms,Consumed,TruRead,Notes"
)
OMRON_ROWS = [
    "Jan 8 2025,20:15,131,84,70,-,-,-,-",
    "Jan 7 2025,08:02,126,81,66,-,-,-,ok",
    "Jan 6 2025,08:12,128,82,64,-,-,-,-",
]
pytestmark = pytest.mark.django_db

FILENAME = "Your Requested OMRON Report from Jan 01 2025 to Jan 22 2025.csv"


def omron_csv(*rows: str) -> bytes:
    return ("\n".join([OMRON_HEADER, *(rows or OMRON_ROWS)]) + "\n").encode()


def upload(client, patient, content: bytes, name: str = FILENAME, *, own: bool = False):
    url_name = "patients:my_import_new" if own else "patients:import_new"
    url = reverse(url_name, args=[patient.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, content, "text/csv")})


def english(client):
    client.cookies["django_language"] = "en"
    return client


def test_upload_shows_a_preview_and_stores_nothing_until_confirmed(client_for, alice, patient_a):
    """After the upload the page counts the readings; the database has none of them yet."""
    client = english(client_for(alice))
    response = upload(client, patient_a, omron_csv())
    assert response.status_code == 302
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.rows_valid, batch.rows_rejected) == (ImportStatus.PREVIEWED, 3, 0)
    assert not Measurement.objects.exists()
    page = client.get(response.url).content.decode()
    assert "Import 3 readings" in page


def test_confirming_imports_the_readings_with_their_provenance(client_for, alice, patient_a):
    """Source, file name, the uploader and the batch are kept with every reading."""
    client = client_for(alice)
    upload(client, patient_a, omron_csv())
    batch = ImportBatch.objects.get()
    response = client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and batch.rows_imported == 3
    readings = Measurement.objects.order_by("measured_at")
    assert [(m.systolic, m.diastolic, m.pulse) for m in readings] == [
        (128, 82, 64),
        (126, 81, 66),
        (131, 84, 70),
    ]
    first = readings[0]
    assert first.source == MeasurementSource.FILE_IMPORT and first.source_file == FILENAME
    # Who brought the readings in is the batch's uploader; entered_by is for manual entry.
    assert first.batch == batch and first.batch.uploaded_by == alice and first.entered_by is None
    assert first.irregular_heartbeat is None  # the 9-column report cannot tell
    assert AccessLogEntry.objects.filter(part=AccessPart.IMPORT, patient=patient_a).exists()


def test_importing_the_same_file_twice_adds_nothing(client_for, alice, patient_a):
    """The second preview counts every reading as already imported."""
    client = client_for(alice)
    upload(client, patient_a, omron_csv())
    first = ImportBatch.objects.get()
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, first.pk]))
    upload(client, patient_a, omron_csv())
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    assert (second.rows_valid, second.rows_duplicate) == (0, 3)
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, second.pk]))
    assert Measurement.objects.count() == 3


def test_rejected_rows_are_listed_with_line_number_and_reason(client_for, alice, patient_a):
    """An implausible row is refused with its line; the valid rows can still be imported."""
    client = english(client_for(alice))
    content = omron_csv(OMRON_ROWS[0], "Jan 7 2025,08:02,400,81,66,-,-,-,-", OMRON_ROWS[2])
    upload(client, patient_a, content)
    batch = ImportBatch.objects.get()
    assert (batch.rows_valid, batch.rows_rejected) == (2, 1)
    assert batch.errors[0]["line"] == 3 and "between 50 and 300" in batch.errors[0]["message"]
    page = client.get(reverse("patients:import_detail", args=[patient_a.pk, batch.pk]))
    assert "between 50 and 300" in page.content.decode()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"this is not an export\n1,2,3\n", "notes.csv"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "photo.png"),
        (b"", "empty.csv"),
    ],
)
def test_an_unrecognised_file_gets_a_clear_error_and_changes_nothing(
    client_for, alice, patient_a, content, name
):
    """No batch, no readings, the form again with an error message."""
    response = upload(english(client_for(alice)), patient_a, content, name)
    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert not ImportBatch.objects.exists() and not Measurement.objects.exists()


def test_a_file_over_the_size_cap_is_refused(client_for, alice, patient_a, settings):
    """The cap is checked before anything is stored: the upload handler stops at it (413)."""
    settings.IMPORT_MAX_BYTES = 100
    response = upload(english(client_for(alice)), patient_a, omron_csv())
    assert response.status_code == 413 and "too large" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_a_failure_late_in_the_file_stores_nothing(alice, patient_a, settings):
    """All or nothing: a file that breaks during the commit leaves no reading behind."""
    rows = [f"Jan {d} 2025,08:00,{120 + d},80,60,-,-,-,-" for d in range(1, 29)]
    batch = import_upload(
        clinic=patient_a.clinic,
        actor=alice,
        patient=patient_a,
        upload=SimpleUploadedFile(FILENAME, omron_csv(*rows)),
        source=MeasurementSource.FILE_IMPORT,
    )
    import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    # The stored file is damaged after the check: a line far beyond any real export's.
    with open(Path(settings.PRIVATE_UPLOAD_ROOT) / batch.stored_name, "ab") as stored:
        stored.write(b"Jan 29 2025,08:00," + b"9" * 2_000_000 + b",80,60,-,-,-,-\n")
    batch = import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)
    assert batch.status == ImportStatus.FAILED and batch.failure
    assert not Measurement.objects.exists()


def test_the_uploaded_file_is_private_and_removed_after_the_import(client_for, alice, patient_a):
    """Kept outside any public URL while waiting, deleted once imported."""
    from django.conf import settings

    client = client_for(alice)
    upload(client, patient_a, omron_csv())
    batch = ImportBatch.objects.get()
    stored = Path(settings.PRIVATE_UPLOAD_ROOT) / batch.stored_name
    assert stored.is_file() and not str(stored).startswith(str(settings.STATIC_ROOT))
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    assert not stored.exists()


def test_cancelling_discards_the_file_and_imports_nothing(client_for, alice, patient_a):
    """Cancel after the preview: status cancelled, no readings."""
    client = client_for(alice)
    upload(client, patient_a, omron_csv())
    batch = ImportBatch.objects.get()
    client.post(reverse("patients:import_cancel", args=[patient_a.pk, batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED and not Measurement.objects.exists()


def test_patient_imports_an_omron_csv_into_their_own_record(client_for, paul, patient_a):
    """The patient's own import: readings marked as a file import, uploaded by the patient."""
    client = client_for(paul)
    upload(client, patient_a, omron_csv(), own=True)
    batch = ImportBatch.objects.get()
    client.post(reverse("patients:my_import_confirm", args=[patient_a.pk, batch.pk]))
    assert Measurement.objects.filter(patient=patient_a, batch__uploaded_by=paul).count() == 3
    page = client.get(reverse("patients:my_measurements", args=[patient_a.pk]))
    assert "131/84" in page.content.decode()


def test_import_command_imports_files_and_reports(patient_a, tmp_path):
    """The command takes the web path: it prints what it imported; a rerun adds nothing."""
    path = tmp_path / FILENAME
    path.write_bytes(omron_csv())
    out = io.StringIO()
    call_command("import_measurements", "--patient", str(patient_a.pk), str(path), stdout=out)
    assert "imported 3" in out.getvalue()
    call_command("import_measurements", "--patient", str(patient_a.pk), str(path), stdout=out)
    assert "already present 3" in out.getvalue()
    assert Measurement.objects.count() == 3


def test_import_command_exits_non_zero_when_a_file_is_refused(patient_a, tmp_path):
    """A refused file is reported on stderr and the command fails; good files still import."""
    good, bad = tmp_path / FILENAME, tmp_path / "notes.txt"
    good.write_bytes(omron_csv())
    bad.write_bytes(b"nothing to see\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_measurements", "--patient", str(patient_a.pk), str(good), str(bad), stderr=err
        )
    assert "notes.txt: refused" in err.getvalue()
    assert Measurement.objects.count() == 3


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_checked_and_imported_by_a_worker(
    celery_worker, client_for, alice, patient_a, settings
):
    """Above the synchronous limit the page hands the work to Celery and shows progress."""
    import time

    settings.IMPORT_SYNC_MAX_BYTES = 100
    rows = [f"Jan {d} 2025,08:00,{120 + d},80,60,-,-,-,-" for d in range(1, 29)]
    client = client_for(alice)
    response = upload(client, patient_a, omron_csv(*rows))
    batch = ImportBatch.objects.get()
    deadline = time.monotonic() + 20
    while batch.status != ImportStatus.PREVIEWED and time.monotonic() < deadline:
        time.sleep(0.2)
        batch.refresh_from_db()
    assert batch.status == ImportStatus.PREVIEWED and batch.rows_valid == 28
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    assert client.get(response.url).context["in_progress"] or True  # queued or already running
    while batch.status != ImportStatus.DONE and time.monotonic() < deadline:
        time.sleep(0.2)
        batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and Measurement.objects.count() == 28


def test_abandoned_imports_are_cancelled_and_their_files_deleted(alice, patient_a, settings):
    """Two days without confirmation: the batch is cancelled and the private file removed."""
    import datetime

    from django.utils import timezone

    from clinics.retention import purges_run

    def purge(**kwargs: object) -> int:
        (run,) = purges_run(only=["imports-abandoned"], **kwargs)
        return run.rows_purged

    batch = import_upload(
        clinic=patient_a.clinic,
        actor=alice,
        patient=patient_a,
        upload=SimpleUploadedFile(FILENAME, omron_csv()),
        source=MeasurementSource.FILE_IMPORT,
    )
    batch = import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    stored = Path(settings.PRIVATE_UPLOAD_ROOT) / batch.stored_name
    assert purge() == 0  # too young
    later = timezone.now() + datetime.timedelta(hours=49)
    assert purge(now=later) == 1
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED and not stored.exists()
    assert purge(now=later) == 0
    assert not Measurement.objects.exists()


def _run_command(patient, path, *extra: str) -> tuple[int, str, str]:
    """The command's exit status (0 when it returns), stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(
            "import_measurements", "--patient", str(patient.pk), *extra, str(path),
            stdout=out, stderr=err,
        )  # fmt: skip
    except CommandError as exc:
        err.write(str(exc))
        return exc.returncode, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def _fhir_weight(value: object) -> bytes:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "effectiveDateTime": "2025-03-14T07:05:00+01:00",
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org",
                          "code": "kg"},
    }  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": observation}]}
    return json.dumps(bundle).encode()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (FILENAME, omron_csv("Jan 8 2099,20:15,131,84,70,-,-,-,-"), "in the future"),
        (FILENAME, omron_csv("Jan 8 2025,20:15,331,84,70,-,-,-,-"), "must be between"),
        (FILENAME, omron_csv("Jan 8 2025,20:15,80,84,70,-,-,-,-"), "must be higher"),
        ("fhir.json", _fhir_weight("heavy"), "line 1"),
    ],
    ids=["future", "out_of_range", "systolic_below_diastolic", "fhir_heavy"],
)
def test_import_command_exits_3_in_english_when_rows_are_refused(
    patient_a, tmp_path, name, content, reason
):
    """A refused row makes the command fail with status 3, its reason written in English."""
    path = tmp_path / name
    path.write_bytes(content)
    status, out, err = _run_command(patient_a, path)
    assert status == 3
    assert reason in err and "rows refused 1" in out
    assert "1 row(s) refused" in err
    assert not Measurement.objects.exists()


def test_import_command_exits_1_when_a_file_is_refused_even_with_rows_refused(patient_a, tmp_path):
    """A refused file outranks refused rows: status 1, so a script sees the worse outcome."""
    rows, bad = tmp_path / FILENAME, tmp_path / "notes.txt"
    rows.write_bytes(omron_csv("Jan 8 2025,20:15,80,84,70,-,-,-,-"))
    bad.write_bytes(b"nothing to see\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(
            "import_measurements", "--patient", str(patient_a.pk), str(rows), str(bad),
            stdout=out, stderr=err,
        )  # fmt: skip
    assert exc.value.returncode == 1
    assert "1 of 2 file(s) refused" in str(exc.value)


def test_import_command_writes_dutch_when_asked(patient_a, tmp_path):
    """`--language nl` gives the clinic's language; English is the default for operators."""
    path = tmp_path / FILENAME
    path.write_bytes(omron_csv("Jan 8 2099,20:15,131,84,70,-,-,-,-"))
    status, _out, err = _run_command(patient_a, path, "--language", "nl")
    assert status == 3 and "toekomst" in err


def test_import_command_exits_0_when_everything_was_imported(patient_a, tmp_path):
    """Nothing refused: status 0 and nothing on stderr."""
    path = tmp_path / FILENAME
    path.write_bytes(omron_csv())
    status, out, err = _run_command(patient_a, path)
    assert (status, err) == (0, "") and "imported 3" in out


def test_import_command_reports_a_short_row_as_a_row_error(patient_a, tmp_path):
    """A row with fewer fields than the header is malformed: refused with its line, status 3."""
    path = tmp_path / FILENAME
    path.write_bytes(omron_csv(OMRON_ROWS[0], "Jan 7 2025,08:02,126,81"))
    status, out, err = _run_command(patient_a, path)
    assert status == 3 and "line 3:" in err and "4 fields" in err
    assert "imported 1" in out
