"""The import preview: the first new readings as they will be stored, and the refused rows."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse

from patients.imports.base import Reading
from patients.measurements import import_store
from patients.measurements.import_selectors import PREVIEW_READINGS
from patients.measurements.import_store import CheckedReading
from patients.measurements.services.imports import MAX_STORED_ERRORS
from patients.measurements.validation import dedup_key
from patients.models import ImportBatch, ImportStatus
from patients.tasks import import_check_task
from patients.tests.test_imports import english, omron_csv, upload
from portal import private_files

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"
OMRON_GOOD = "Jan 8 2025,20:15,131,84,70,-,-,-,-"
OMRON_REFUSED = "Jan 2 2025,08:00,400,80,60,-,-,-,-"  # systolic out of range


def preview_page(client, response) -> str:
    assert response.status_code == 302, response.content[:500]
    return client.get(response.url).content.decode()


def table_rows(page: str, caption: str) -> list[list[str]]:
    """The cells (as text) of each body row of the table with this caption."""
    table = re.search(rf"<caption[^>]*>{re.escape(caption)}</caption>(.*?)</table>", page, re.S)
    assert table is not None, f"no table {caption!r}"
    body = table.group(1).split("<tbody>")[1]
    return [
        [
            " ".join(re.sub(r"<[^>]+>", "", cell).split())
            for cell in re.findall(r"<td.*?</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_omron_preview_shows_each_reading_as_it_will_be_stored_in_dutch(
    client_for, alice, patient_a
):
    """An OMRON export's rows: kind, Dutch date and time, sys/dia with pulse and the
    irregular-heartbeat flag, the monitor."""
    client = client_for(alice)
    content = (FILES / "omron_nl.csv").read_bytes()
    page = preview_page(client, upload(client, patient_a, content, name="omron.csv"))
    assert table_rows(page, "Nieuwe metingen") == [
        ["Bloeddruk", "12-03-2025 08:14", "132/85 mmHg · 68 /min", "M7 Intelli IT"],
        [
            "Bloeddruk",
            "11-03-2025 21:02",
            "127/81 mmHg · 72 /min · onregelmatige hartslag",
            "M7 Intelli IT",
        ],
    ]


def test_withings_preview_shows_values_with_the_kinds_decimals_and_a_dutch_comma(
    client_for, alice, patient_a
):
    """A Withings scale's 75.76 kg reads 75,8 kg in Dutch (stored as measured, shown half up
    with the catalogue's one decimal); derived percentages come from the same row."""
    client = client_for(alice)
    content = (FILES / "withings_weight.csv").read_bytes()
    page = preview_page(client, upload(client, patient_a, content, name="weight.csv"))
    rows = table_rows(page, "Nieuwe metingen")
    assert ["Gewicht", "14-03-2025 07:35", "75,8 kg", ""] in rows
    assert ["Botmassa", "14-03-2025 07:35", "3,2 kg", ""] in rows
    assert ["Gewicht", "12-03-2025 07:40", "73,3 kg", ""] in rows
    assert not any("75.8" in cell for row in rows for cell in row)


def test_preview_in_english_uses_british_dates_and_a_decimal_point(client_for, alice, patient_a):
    """English is en-GB: dd/mm/yyyy, 24-hour clock, 75.8 kg."""
    client = english(client_for(alice))
    content = (FILES / "withings_weight.csv").read_bytes()
    page = preview_page(client, upload(client, patient_a, content, name="weight.csv"))
    assert ["Weight", "14/03/2025 07:35", "75.8 kg", ""] in table_rows(page, "New readings")


def test_fhir_preview_shows_its_readings(client_for, alice, patient_a):
    """A FHIR bundle's observations appear with their kinds, as many rows as it has new
    readings."""
    client = client_for(alice)
    content = (FILES / "fhir_bundle.json").read_bytes()
    page = preview_page(client, upload(client, patient_a, content, name="bundle.json"))
    batch = ImportBatch.objects.get()
    rows = table_rows(page, "Nieuwe metingen")
    assert batch.rows_valid > 0 and len(rows) == min(batch.rows_valid, PREVIEW_READINGS)
    assert all(kind and when and value for kind, when, value, _device in rows)


def test_preview_shows_the_first_twenty_new_readings_and_counts_the_rest(
    client_for, alice, patient_a
):
    """25 new readings: the first 20 of the file in its order, then "and 5 more"."""
    client = english(client_for(alice))
    rows = [f"Jan {d} 2025,08:00,{100 + d},80,60,-,-,-,-" for d in range(1, 26)]
    page = preview_page(client, upload(client, patient_a, omron_csv(*rows)))
    shown = table_rows(page, "New readings")
    assert [row[2] for row in shown] == [f"{100 + d}/80 mmHg · 60 /min" for d in range(1, 21)]
    assert "and 5 more new readings" in page
    assert "Import 25 readings" in page


def test_preview_leaves_out_readings_that_are_already_stored(client_for, alice, patient_a):
    """A file imported before and grown by one reading: only the new one is listed, and the
    page says the others are skipped."""
    client = english(client_for(alice))
    upload(client, patient_a, omron_csv())
    batch = ImportBatch.objects.get()
    client.post(reverse("patients:import_confirm", args=[patient_a.pk, batch.pk]))
    grown = omron_csv("Jan 9 2025,07:30,140,90,75,-,-,-,-", "Jan 8 2025,20:15,131,84,70,-,-,-,-")
    page = preview_page(client, upload(client, patient_a, grown))
    assert [row[2] for row in table_rows(page, "New readings")] == ["140/90 mmHg · 75 /min"]
    assert "already stored, or that appear twice in the file, are not listed" in page


def test_preview_lists_the_first_hundred_refused_rows_and_counts_the_rest(
    client_for, alice, patient_a
):
    """130 implausible rows: lines and reasons of the first 100, then "and 30 more refused
    rows"; the valid row is still offered for import."""
    client = english(client_for(alice))
    refused = [f"Jan 2 2025,{h:02d}:{m:02d},400,80,60,-,-,-,-" for h in range(3) for m in range(45)]
    refused = refused[:130]
    page = preview_page(client, upload(client, patient_a, omron_csv(*refused, OMRON_GOOD)))
    errors = table_rows(page, "Refused rows")
    assert len(errors) == MAX_STORED_ERRORS == 100
    assert errors[0][0] == "2" and errors[-1][0] == "101"  # the header is line 1
    assert all(reason for _line, reason in errors)
    assert "and 30 more refused rows" in page
    assert "Import 1 reading" in page


def test_a_few_refused_rows_are_all_listed_without_a_count(client_for, alice, patient_a):
    """Under the cap nothing is left out, so there is no "more" line."""
    client = english(client_for(alice))
    page = preview_page(
        client,
        upload(client, patient_a, omron_csv(OMRON_REFUSED, OMRON_GOOD)),
    )
    assert [row[0] for row in table_rows(page, "Refused rows")] == ["2"]
    assert "more refused" not in page


def test_patients_see_the_same_preview_on_their_own_pages(client_for, paul, patient_a):
    """The patient's own import page shows the rows through the same view and template."""
    client = english(client_for(paul))
    page = preview_page(client, upload(client, patient_a, omron_csv(), own=True))
    assert [row[2] for row in table_rows(page, "New readings")] == [
        "131/84 mmHg · 70 /min",
        "126/81 mmHg · 66 /min",
        "128/82 mmHg · 64 /min",
    ]
    assert (
        reverse("patients:my_import_confirm", args=[patient_a.pk, ImportBatch.objects.get().pk])
        in page
    )


def test_a_file_checked_by_the_worker_shows_the_same_preview(
    client_for, alice, patient_a, settings
):
    """A large file is checked by the Celery task; its preview reads what the task left."""
    settings.IMPORT_SYNC_MAX_BYTES = 100
    client = english(client_for(alice))
    response = upload(client, patient_a, omron_csv(OMRON_GOOD, OMRON_REFUSED))
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.QUEUED  # handed to the worker, not checked here
    import_check_task(batch.clinic_id, batch.pk)  # what the worker runs
    page = preview_page(client, response)
    assert [row[2] for row in table_rows(page, "New readings")] == ["131/84 mmHg · 70 /min"]
    assert table_rows(page, "Refused rows")[0][0] == "3"


def test_preview_reads_the_checked_file_not_the_upload(client_for, alice, patient_a):
    """Without the checked file (an upload checked before it existed) the page shows the
    counts only: the rows come from what the check wrote, the upload is not parsed again."""
    client = english(client_for(alice))
    response = upload(client, patient_a, omron_csv())
    assert "New readings as they will be stored" in preview_page(client, response)
    batch = ImportBatch.objects.get()
    import_store.discard(batch.stored_name)
    assert private_files.exists(name=batch.stored_name)
    page = preview_page(client, response)
    assert "New readings as they will be stored" not in page
    assert "Import 3 readings" in page


def test_checked_lines_read_back_as_they_were_written():
    """Every field survives the COPY text: a device with a tab, a backslash and a line end, a
    missing pulse, the irregular-heartbeat flag, a decimal value at the column's precision."""
    when = datetime.datetime(2025, 3, 12, 7, 14, tzinfo=datetime.UTC)
    readings = [
        Reading(2, "blood_pressure", when, systolic=132, diastolic=85, irregular_heartbeat=True,
                device="M7\tIntelli \\IT\nline"),
        Reading(3, "weight", when, value=Decimal("77.85"), irregular_heartbeat=False),
    ]  # fmt: skip
    parsed = [
        import_store.checked_reading(import_store.copy_line(r, dedup_key(r))) for r in readings
    ]
    assert parsed == [
        CheckedReading("blood_pressure", when, None, 132, 85, None, True, "M7\tIntelli \\IT\nline"),
        CheckedReading("weight", when, Decimal("77.85"), None, None, None, False, ""),
    ]
