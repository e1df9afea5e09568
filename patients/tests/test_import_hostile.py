"""Hostile and broken files (SECURITY.md T41, T44): a check's memory stays flat in file size
whatever the rows hold, a file whose rows mostly fail is refused whole, dates outside the
plausible range are row errors (never a 500), and no import is left in a non-final state."""

from __future__ import annotations

import datetime
import json
import tracemalloc
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils import translation

from patients.measurements.services import import_check, import_set_mapping, import_upload
from patients.measurements.services import imports as import_services
from patients.models import ImportBatch, ImportStatus, MeasurementSource
from patients.tests.test_imports import OMRON_HEADER
from patients.tests.test_imports_commit import files_of

pytestmark = pytest.mark.django_db

OMRON_NAME = "Your Requested OMRON Report.csv"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def upload(alice, patient, content: bytes | Path, name: str = OMRON_NAME) -> ImportBatch:
    if isinstance(content, Path):
        with content.open("rb") as stream:
            file = UploadedFile(stream, name=name, size=content.stat().st_size)
            return import_upload(clinic=patient.clinic, actor=alice, patient=patient,
                                 upload=file, source=MeasurementSource.FILE_IMPORT)  # fmt: skip
    return import_upload(
        clinic=patient.clinic, actor=alice, patient=patient,
        upload=SimpleUploadedFile(name, content), source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip


def check(batch: ImportBatch) -> ImportBatch:
    return import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)


def write_rows(path: Path, size: int, row: str) -> Path:
    """An OMRON report of `size` bytes: its header, then `row` (formatted with {i}) repeated."""
    with path.open("w", encoding="utf-8") as out:
        out.write(OMRON_HEADER + "\n")
        written = i = 0
        while written < size:
            line = row.format(i=i) + "\n"
            out.write(line)
            written += len(line)
            i += 1
    return path


def good_row(i: int) -> str:
    at = datetime.datetime(2024, 1, 1) + datetime.timedelta(minutes=i)
    return f"{at:%b} {at.day} {at.year},{at:%H:%M},120,80,60,-,-,-,-"


def half_bad_rows(path: Path, size: int) -> Path:
    """Every other row a junk row: 50% refused, so the file is checked to its end."""
    with path.open("w", encoding="utf-8") as out:
        out.write(OMRON_HEADER + "\n")
        written = i = 0
        while written < size:
            line = f"{good_row(i)}\nnot a date {i},x\n"
            out.write(line)
            written += len(line)
            i += 1
    return path


def peak_mb(alice, patient, path: Path) -> tuple[float, ImportBatch]:
    batch = upload(alice, patient, path)
    tracemalloc.start()
    try:
        batch = check(batch)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
    return peak, batch


# --- T41: memory -------------------------------------------------------------------------------


def test_a_junk_omron_file_is_refused_with_memory_flat_in_its_size(alice, patient_a, tmp_path):
    """5 and 50 MB of junk rows: refused whole as not an OMRON report, files deleted, and the
    check's peak stays small and does not grow with the file."""
    peaks = []
    for size in (5, 50):
        path = write_rows(tmp_path / f"junk-{size}.csv", size * 2**20, "junk {i},x")
        peak, batch = peak_mb(alice, patient_a, path)
        assert batch.status == ImportStatus.FAILED
        assert "cannot be read or are not plausible" in batch.failure
        assert batch.stored_name == ""
        peaks.append(peak)
    assert peaks[1] < 8, peaks
    assert peaks[1] < 1.5 * peaks[0] + 1, peaks


def test_a_file_half_of_refused_rows_keeps_the_first_errors_and_counts_the_rest(
    alice, patient_a, tmp_path
):
    """Checked to its end (half its rows are fine), with 100 row errors kept, all counted, and
    a peak that does not grow with the number of refused rows."""
    peaks, batches = [], []
    for size in (1, 4):
        path = half_bad_rows(tmp_path / f"half-{size}.csv", size * 2**20)
        peak, batch = peak_mb(alice, patient_a, path)
        assert batch.status == ImportStatus.PREVIEWED, batch.failure
        assert len(batch.errors) == import_services.MAX_STORED_ERRORS
        assert batch.rows_rejected >= batch.rows_valid > 10_000
        peaks.append(peak)
        batches.append(batch)
    # What grows with the file is the set of the valid rows' keys (dedup in the file), about
    # 0.15 kB a valid row; the refused rows add nothing.
    growth = (peaks[1] - peaks[0]) / (batches[1].rows_valid - batches[0].rows_valid) * 1000
    assert growth < 0.3, peaks


def test_a_file_whose_rows_mostly_fail_is_refused_with_a_clear_message(alice, patient_a):
    """1,000 rows of which 950 cannot be read: FAILED, not previewed, and no file left."""
    rows = [good_row(i) for i in range(50)] + [f"junk {i},x" for i in range(950)]
    batch = check(upload(alice, patient_a, ("\n".join([OMRON_HEADER, *rows]) + "\n").encode()))
    assert batch.status == ImportStatus.FAILED and batch.stored_name == ""
    assert batch.failure.startswith("This file is refused: 950 of its first 1000 rows")


def test_a_short_file_of_bad_rows_is_still_previewed_with_its_errors(alice, patient_a):
    """Below 1,000 rows the user sees which rows are wrong rather than a refusal."""
    rows = [f"junk {i},x" for i in range(200)]
    batch = check(upload(alice, patient_a, ("\n".join([OMRON_HEADER, *rows]) + "\n").encode()))
    assert batch.status == ImportStatus.PREVIEWED
    assert (batch.rows_rejected, len(batch.errors)) == (200, 100)


def test_one_huge_line_is_refused_without_being_loaded(alice, patient_a, tmp_path):
    """A 30 MB line after the header: refused, the peak far below the line's size."""
    path = tmp_path / "line.csv"
    with path.open("w") as out:
        out.write(OMRON_HEADER + "\n")
        for _ in range(30):
            out.write("9" * 2**20)
    peak, batch = peak_mb(alice, patient_a, path)
    assert batch.status == ImportStatus.FAILED and "longer than" in batch.failure
    assert peak < 4


def test_a_huge_quoted_csv_field_is_refused_without_being_loaded(alice, patient_a, tmp_path):
    """A quoted field of 30 MB spread over short lines: refused, never buffered."""
    path = tmp_path / "field.csv"
    with path.open("w") as out:
        out.write(OMRON_HEADER + '\nJan 1 2024,08:00,"')
        for _ in range(30 * 1024):
            out.write("x" * 1000 + "\n")
        out.write('",80,60\n')
    peak, batch = peak_mb(alice, patient_a, path)
    assert batch.status == ImportStatus.FAILED and "longer than" in batch.failure
    assert peak < 4


def test_a_huge_xml_text_node_in_an_apple_export_is_refused(alice, patient_a, tmp_path):
    """A text node of 30 MB: refused once it passes a MB, never held."""
    path = tmp_path / "export.xml"
    with path.open("w") as out:
        out.write('<?xml version="1.0"?>\n<HealthData locale="en"><Note>')
        for _ in range(30):
            out.write("x" * 2**20)
        out.write("</Note></HealthData>")
    peak, batch = peak_mb(alice, patient_a, path)
    assert batch.status == ImportStatus.FAILED and "too large" in batch.failure
    assert peak < 8


# --- T44: dates outside the plausible range ----------------------------------------------------

EXTREMES = [
    ("0001-01-01T00:00:00+14:00", "too far in the past"),
    ("0001-01-01T00:00:00-14:00", "too far in the past"),
    ("1899-12-31T23:00:00+00:00", "too far in the past"),
    ("9999-12-31T23:59:59-14:00", "in the future"),
    ("9999-12-31T23:59:59+14:00", "in the future"),
]


def fhir_bundle(effective: str) -> bytes:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "effectiveDateTime": effective,
        "valueQuantity": {"value": 80, "unit": "kg", "code": "kg"},
    }
    loose = {
        **observation,
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
        "valueQuantity": {"value": 120, "code": "mm[Hg]"},
    }
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": observation}, {"resource": loose}]}  # fmt: skip
    return json.dumps(bundle).encode()


@pytest.mark.parametrize(("effective", "message"), EXTREMES)
def test_fhir_dates_outside_the_range_are_row_errors(alice, patient_a, effective, message):
    """Year 1 and year 9999 at ±14 h: each observation a row error, the import previewed."""
    batch = check(upload(alice, patient_a, fhir_bundle(effective), name="bundle.json"))
    assert batch.status == ImportStatus.PREVIEWED, batch.failure
    assert batch.rows_valid == 0 and batch.rows_rejected == 2
    assert message in batch.errors[0]["message"]


@pytest.mark.parametrize(
    ("day", "message"),
    [("Jan 1 0001", "too far in the past"), ("Dec 31 9999", "in the future"),
     ("Dec 31 1899", "too far in the past")],
)  # fmt: skip
def test_omron_dates_outside_the_range_are_row_errors(alice, patient_a, day, message):
    """The patient's zone at year 1 or 9999 overflows UTC: a row error, not a crash."""
    rows = [f"{day},00:00,120,80,60,-,-,-,-", f"{day},23:59,121,80,60,-,-,-,-"]
    batch = check(upload(alice, patient_a, ("\n".join([OMRON_HEADER, *rows]) + "\n").encode()))
    assert batch.status == ImportStatus.PREVIEWED, batch.failure
    assert batch.rows_rejected == 2 and message in batch.errors[0]["message"]


@pytest.mark.parametrize(
    ("when", "message"),
    [("0001-01-01 00:00", "too far in the past"), ("0001-01-01T00:00+14:00", "too far in the past"),
     ("9999-12-31 23:59", "in the future"), ("9999-12-31T23:59-14:00", "in the future")],
)  # fmt: skip
def test_generic_csv_dates_outside_the_range_are_row_errors(alice, patient_a, when, message):
    """A mapped CSV with year-1 or year-9999 dates: previewed with row errors."""
    content = f"when,weight kg\n{when},80\n2025-03-14 07:30,81\n".encode()
    batch = upload(alice, patient_a, content, name="metingen.csv")
    assert batch.status == ImportStatus.NEEDS_MAPPING
    mapping = import_services.ColumnMapping(
        datetime_column="when", date_format="iso", values={"weight": "weight kg"}
    )
    batch = import_set_mapping(clinic=patient_a.clinic, actor=alice, batch=batch, mapping=mapping)
    assert batch.status == ImportStatus.PREVIEWED, batch.failure
    assert (batch.rows_valid, batch.rows_rejected) == (1, 1)
    assert message in batch.errors[0]["message"]


APPLE_RECORDS = {
    "weight": '<Record type="HKQuantityTypeIdentifierBodyMass" sourceName="S" unit="kg" '
    'value="80" startDate="{when}" endDate="{when}"/>',
    "steps": '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="S" unit="count" '
    'value="80" startDate="{when}" endDate="{when}"/>',
    "sleep": '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="S" '
    'value="HKCategoryValueSleepAnalysisAsleepCore" startDate="{when}" endDate="{when}"/>',
    "systolic": '<Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="S" '
    'unit="mmHg" value="120" startDate="{when}" endDate="{when}"/>',
    "diastolic": '<Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" sourceName="S" '
    'unit="mmHg" value="80" startDate="{when}" endDate="{when}"/>',
}


@pytest.mark.parametrize(
    "when", ["0001-01-01 00:00:00 +1400", "0001-01-01 00:30:00 -1400", "9999-12-31 23:59:59 -1400"]
)
def test_apple_dates_outside_the_range_are_row_errors(alice, patient_a, when):
    """Instant, daily and sleep records and a blood pressure at the ends of the calendar: row
    errors, never a crash."""
    records = "".join(r.format(when=when) for r in APPLE_RECORDS.values())
    content = f'<?xml version="1.0"?>\n<HealthData locale="en">{records}</HealthData>'.encode()
    batch = check(upload(alice, patient_a, content, name="export.xml"))
    assert batch.status == ImportStatus.PREVIEWED, batch.failure
    assert batch.rows_valid == 0 and batch.rows_rejected >= 2


# --- T44: never a non-final state ---------------------------------------------------------------


def test_a_check_that_raises_leaves_the_batch_failed_and_no_file(alice, patient_a, monkeypatch):
    """An unexpected exception in a parser: FAILED with a generic message, files deleted."""
    batch = upload(
        alice, patient_a, (OMRON_HEADER + "\nJan 1 2024,08:00,120,80,60,-,-,-,-\n").encode()
    )
    upload_file, _checked = files_of(batch)

    def explode(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(import_services, "reading_problems", explode)
    batch = check(batch)
    assert batch.status == ImportStatus.FAILED
    assert batch.failure.startswith("The file could not be imported because of an unexpected")
    assert "out of range" not in batch.failure
    assert batch.stored_name == "" and not upload_file.exists()


def test_a_commit_that_raises_leaves_the_batch_failed_and_no_file(alice, patient_a, monkeypatch):
    """An unexpected exception while storing: rolled back, FAILED, both files deleted."""
    batch = check(
        upload(alice, patient_a, (OMRON_HEADER + "\nJan 1 2024,08:00,120,80,60,-,-,-,-\n").encode())
    )
    upload_file, checked_file = files_of(batch)
    assert checked_file.exists()

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(import_services, "alerts_evaluate", explode)
    batch = import_services.import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED and batch.stored_name == ""
    assert not upload_file.exists() and not checked_file.exists()
    assert not batch.patient.measurements.exists()
