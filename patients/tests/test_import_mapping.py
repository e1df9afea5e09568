"""Importing a CSV that is no known export: the user chooses its columns, then the usual flow."""

from __future__ import annotations

import io
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from clinics.models import AccessAction, AccessLogEntry, AccessPart
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"
NL_FILE = "generic_nl.csv"  # Datum;Tijd;Bovendruk;Onderdruk;Hartslag;Gewicht;Apparaat;Opmerking
NL_MAPPING = {
    "datetime_column": "Datum",
    "time_column": "Tijd",
    "date_format": "dd-mm-yyyy",
    "systolic_column": "Bovendruk",
    "diastolic_column": "Onderdruk",
    "pulse_column": "Hartslag",
    "kind_weight": "Gewicht",
    "device_column": "Apparaat",
}
NO_MEASUREMENT = {
    "systolic_column": "",
    "diastolic_column": "",
    "pulse_column": "",
    "kind_weight": "",
}
# A spreadsheet of another app: comma-separated, ISO dates, a value out of range on line 5.
COMMA_FILE = b"""when,weight kg,sys,dia,pulse,SpO2
2025-03-14 07:30,75.4,128,82,66,97
2025-03-13 07:31,75.2,131,85,,
2025-03-12 07:30,,,,,
2025-03-11 07:30,900,120,80,60,98
"""
COMMA_MAPPING = {
    "datetime_column": "when",
    "date_format": "iso",
    "systolic_column": "sys",
    "diastolic_column": "dia",
    "pulse_column": "pulse",
    "kind_weight": "weight kg",
    "kind_spo2": "SpO2",
}


def english(client):
    client.cookies["django_language"] = "en"
    return client


def upload(client, patient, content: bytes, name: str = "metingen.csv", *, own: bool = False):
    url_name = "patients:my_import_new" if own else "patients:import_new"
    return client.post(
        reverse(url_name, args=[patient.pk]), {"file": SimpleUploadedFile(name, content)}
    )


def mapping_url(batch: ImportBatch, *, own: bool = False) -> str:
    url_name = "patients:my_import_mapping" if own else "patients:import_mapping"
    return reverse(url_name, args=[batch.patient_id, batch.pk])


def stored_file(batch: ImportBatch) -> Path:
    assert batch.stored_name, "the batch keeps no file"
    return Path(settings.PRIVATE_UPLOAD_ROOT) / batch.stored_name


def waiting_batch(client, patient, content: bytes | None = None) -> ImportBatch:
    """An uploaded generic CSV, waiting for its columns."""
    upload(client, patient, content or (FILES / NL_FILE).read_bytes())
    return ImportBatch.objects.get(status=ImportStatus.NEEDS_MAPPING)


def test_an_unknown_csv_is_kept_and_sent_to_the_choice_of_columns(client_for, alice, patient_a):
    """Not an error any more: a private batch waiting for a mapping; nothing imported."""
    client = client_for(alice)
    response = upload(client, patient_a, (FILES / NL_FILE).read_bytes())
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == mapping_url(batch)
    assert (batch.format, batch.status, batch.mapping) == ("generic_csv", "needs_mapping", {})
    assert stored_file(batch).is_file()
    assert not Measurement.objects.exists()
    # The batch page itself sends the user to the choice as long as it is not made.
    detail = client.get(reverse("patients:import_detail", args=[patient_a.pk, batch.pk]))
    assert detail.status_code == 302 and detail.url == mapping_url(batch)


def test_the_mapping_page_lists_the_columns_with_their_first_values(client_for, alice, patient_a):
    """Every column is offered for the date and each kind; the first values are shown."""
    client = english(client_for(alice))
    batch = waiting_batch(client, patient_a)
    response = client.get(mapping_url(batch))
    assert response.status_code == 200
    form = response.context["form"]
    columns = ["Datum", "Tijd", "Bovendruk", "Onderdruk", "Hartslag", "Gewicht", "Apparaat"]
    offered = [value for value, _label in form.fields["kind_weight"].choices]
    assert offered[0] == "" and offered[1:8] == columns
    assert [v for v, _label in form.fields["systolic_column"].choices][1:8] == columns
    assert "kind_body_temperature" in form.fields and "kind_blood_pressure" not in form.fields
    page = response.content.decode()
    assert "Weight (kg)" in page and "14-03-2025" in page and "Eigen meter" in page
    assert "=1+2" in page  # a formula is shown as the text it is, never evaluated


def test_a_valid_mapping_gives_a_preview_then_imports_with_provenance(client_for, alice, patient_a):
    """The chosen columns are stored, the preview counts, the confirm stores every reading."""
    client = english(client_for(alice))
    batch = waiting_batch(client, patient_a, COMMA_FILE)
    response = client.post(mapping_url(batch), COMMA_MAPPING)
    detail = reverse("patients:import_detail", args=[patient_a.pk, batch.pk])
    assert response.status_code == 302 and response.url == detail
    batch.refresh_from_db()
    assert batch.status == ImportStatus.PREVIEWED
    assert batch.mapping["values"] == {"weight": "weight kg", "spo2": "SpO2"}
    # Line 2: BP, weight, SpO2; line 3: BP, weight; line 5: BP and SpO2, the weight refused.
    assert (batch.rows_valid, batch.rows_duplicate, batch.rows_rejected) == (7, 0, 1)
    assert batch.errors[0]["line"] == 5
    assert not Measurement.objects.exists()
    assert "Import 7 readings" in client.get(detail).content.decode()
    # Choosing the columns changes the import: logged as such (it once logged "measurements").
    assert AccessLogEntry.objects.filter(
        patient=patient_a, action=AccessAction.UPDATE, part=AccessPart.IMPORT
    ).exists()

    stored = stored_file(batch)
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and batch.rows_imported == 7
    assert not stored.exists()
    weights = Measurement.objects.filter(kind="weight").order_by("measured_at")
    assert [m.value for m in weights] == [Decimal("75.2"), Decimal("75.4")]
    bp = Measurement.objects.filter(kind="blood_pressure").order_by("measured_at")
    assert [(m.systolic, m.diastolic, m.pulse) for m in bp] == [
        (120, 80, 60),
        (131, 85, None),
        (128, 82, 66),
    ]
    for measurement in Measurement.objects.all():
        assert measurement.source == MeasurementSource.FILE_IMPORT
        assert measurement.source_file == "metingen.csv"
        assert (measurement.batch, measurement.batch.uploaded_by) == (batch, alice)
        assert measurement.patient == patient_a


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"datetime_column": ""}, "Choose the column with the date."),
        (NO_MEASUREMENT, "Choose at least one column with measurements."),
        ({"diastolic_column": ""}, "Blood pressure needs both a systolic and a diastolic column."),
        ({"systolic_column": ""}, "Blood pressure needs both a systolic and a diastolic column."),
        (
            {"systolic_column": "", "diastolic_column": ""},
            "A pulse belongs to a blood pressure reading",
        ),
        ({"kind_weight": "Weight"}, "The file has no column “Weight”."),
        ({"kind_heart_rate": "Hartslag"}, "The column “Hartslag” is already chosen for “Pulse"),
        ({"kind_weight": "Datum"}, "The column “Datum” is already chosen for “Date (and time)”."),
        ({"date_format": "mm/dd/yyyy"}, "Select a valid choice."),
        # A forged field for blood pressure as a single value is no measurement column.
        ({**NO_MEASUREMENT, "kind_blood_pressure": "Bovendruk"}, "Choose at least one column"),
    ],
)
def test_an_invalid_mapping_gets_a_clear_error_and_changes_nothing(
    client_for, alice, patient_a, changes, message
):
    """The form again with the reason; the batch still waits, its file kept, nothing imported."""
    client = english(client_for(alice))
    batch = waiting_batch(client, patient_a)
    response = client.post(mapping_url(batch), {**NL_MAPPING, **changes})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert message in response.content.decode()
    batch.refresh_from_db()
    assert (batch.status, batch.mapping, batch.rows_valid) == (ImportStatus.NEEDS_MAPPING, {}, 0)
    assert stored_file(batch).is_file()
    assert not Measurement.objects.exists()


def test_a_semicolon_file_with_decimal_commas_imports_its_readings(client_for, alice, patient_a):
    """A Dutch Excel file: `;`, `75,4` kg, date and time in two columns; bad rows listed."""
    client = english(client_for(alice))
    batch = waiting_batch(client, patient_a)
    client.post(mapping_url(batch), NL_MAPPING)
    batch.refresh_from_db()
    # BP on lines 2 and 3, weight on lines 2 and 4; line 4's "abc" and line 5 (no time) refused.
    assert (batch.rows_valid, batch.rows_rejected) == (4, 2)
    assert [e["line"] for e in batch.errors] == [4, 5]
    assert "abc" in batch.errors[0]["message"]
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    weights = Measurement.objects.filter(kind="weight").order_by("measured_at")
    assert [m.value for m in weights] == [Decimal("75.1"), Decimal("75.4")]
    first_bp = Measurement.objects.filter(kind="blood_pressure").latest("measured_at")
    assert (first_bp.systolic, first_bp.diastolic, first_bp.pulse) == (128, 82, 66)
    assert first_bp.device == "Eigen meter"


def test_the_columns_can_be_chosen_again_after_the_preview(client_for, alice, patient_a):
    """A wrong date format refuses every row; choosing again gives the right preview."""
    client = english(client_for(alice))
    batch = waiting_batch(client, patient_a)
    client.post(mapping_url(batch), {**NL_MAPPING, "date_format": "iso"})
    batch.refresh_from_db()
    assert (batch.status, batch.rows_valid, batch.rows_rejected) == ("previewed", 0, 4)
    detail = client.get(reverse("patients:import_detail", args=[patient_a.pk, batch.pk]))
    assert mapping_url(batch) in detail.content.decode()
    page = client.get(mapping_url(batch))
    assert page.context["form"]["kind_weight"].value() == "Gewicht"  # the earlier choice
    client.post(mapping_url(batch), NL_MAPPING)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_valid, batch.rows_rejected) == ("previewed", 4, 2)


def test_a_confirmed_import_cannot_be_mapped_again(client_for, alice, patient_a):
    """After the import the mapping page only leads back to the result; nothing changes."""
    client = client_for(alice)
    batch = waiting_batch(client, patient_a, COMMA_FILE)
    client.post(mapping_url(batch), COMMA_MAPPING)
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    response = client.post(mapping_url(batch), {**COMMA_MAPPING, "kind_spo2": ""})
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and batch.mapping["values"]["spo2"] == "SpO2"
    assert Measurement.objects.count() == 7


def test_cancelling_while_choosing_discards_the_file(client_for, alice, patient_a):
    """The mapping page's cancel: status cancelled, the private file removed."""
    client = client_for(alice)
    batch = waiting_batch(client, patient_a)
    stored = stored_file(batch)
    client.post(reverse("patients:import_cancel", args=[patient_a.pk, batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED and not stored.exists()
    assert client.get(mapping_url(batch)).status_code == 302  # nothing left to choose


def test_patient_maps_and_imports_a_csv_into_their_own_record(client_for, paul, patient_a):
    """The patient's own pages: the same choice, readings entered by the patient."""
    client = english(client_for(paul))
    response = upload(client, patient_a, COMMA_FILE, own=True)
    batch = ImportBatch.objects.get()
    assert response.url == mapping_url(batch, own=True)
    assert "weight kg" in client.get(response.url).content.decode()
    response = client.post(mapping_url(batch, own=True), COMMA_MAPPING)
    assert response.url == reverse("patients:my_import_detail", args=[patient_a.pk, batch.pk])
    client.post(reverse("patients:my_import_confirm", args=[patient_a.pk, batch.pk]))
    assert Measurement.objects.filter(patient=patient_a, batch__uploaded_by=paul).count() == 7


def test_another_clinics_import_is_not_found_and_unchanged(
    client_for, alice, charlie, patient_a, patient_b
):
    """Clinic B's professional gets 404 for clinic A's batch, by either patient id."""
    batch = waiting_batch(client_for(alice), patient_a)
    client = client_for(charlie)
    for patient_id in (patient_a.pk, patient_b.pk):
        url = reverse("patients:import_mapping", args=[patient_id, batch.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, NL_MAPPING).status_code == 404
    batch.refresh_from_db()
    assert (batch.status, batch.mapping) == (ImportStatus.NEEDS_MAPPING, {})


def test_a_patient_cannot_map_another_patients_import(client_for, alice, paul, patient_a):
    """A batch of another record of the clinic is not found from the patient's own record."""
    from patients.tests.factories import PatientFactory

    other = PatientFactory(clinic=patient_a.clinic, given_name="Pieter", family_name="Bakker")
    batch = waiting_batch(client_for(alice), other)
    client = client_for(paul)
    for record_id in (patient_a.pk, other.pk):
        url = reverse("patients:my_import_mapping", args=[record_id, batch.pk])
        assert client.post(url, NL_MAPPING).status_code == 404
    batch.refresh_from_db()
    assert batch.mapping == {}


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "a,b\n1,2\n")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b'[{"weight": 80, "spo2": 97},\n{"weight": 81, "spo2": 98}]\n', "data.txt"),
        (b'{"a": 1,\n"b": 2}\n', "data.csv"),
        (b"<?xml version='1.0'?>\n<root><a>1</a></root>\n", "data.csv"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv"),
        (b"just one column\n80\n", "notes.csv"),
        (b"Datum;Gewicht\n", "header-only.csv"),
    ],
)
def test_files_that_are_not_a_mappable_csv_are_still_refused(
    client_for, alice, patient_a, content, name
):
    """JSON, XML, binary, a one-column or empty table: the upload form's error, no batch."""
    response = upload(english(client_for(alice)), patient_a, content, name)
    assert response.status_code == 200
    assert "not a recognised export" in str(response.context["form"].errors["file"])
    assert not ImportBatch.objects.exists()


def test_a_zip_that_is_no_export_is_not_offered_for_mapping(client_for, alice, patient_a):
    """A ZIP of CSV files is refused after the check, as before: it never waits for columns."""
    client = english(client_for(alice))
    upload(client, patient_a, _zip(["a.csv", "b.csv"]), "archive.zip")
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED and "neither" in batch.failure


def test_the_import_command_refuses_an_unknown_csv(patient_a, tmp_path):
    """The command cannot ask for columns: the file is refused and the command fails."""
    path = tmp_path / NL_FILE
    path.write_bytes((FILES / NL_FILE).read_bytes())
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_measurements", "--patient", str(patient_a.pk), str(path), stderr=err)
    assert f"{NL_FILE}: refused" in err.getvalue()
    assert not Measurement.objects.exists()


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_large_mapped_file_is_checked_by_a_worker(
    celery_worker, client_for, alice, patient_a, settings
):
    """Above the synchronous limit the chosen columns are checked by Celery, as for exports."""
    settings.IMPORT_SYNC_MAX_BYTES = 100
    client = client_for(alice)
    batch = waiting_batch(client, patient_a, COMMA_FILE)
    client.post(mapping_url(batch), COMMA_MAPPING)
    batch.refresh_from_db()
    deadline = time.monotonic() + 20
    while batch.status != ImportStatus.PREVIEWED and time.monotonic() < deadline:
        time.sleep(0.2)
        batch.refresh_from_db()
    assert batch.status == ImportStatus.PREVIEWED and batch.rows_valid == 7
