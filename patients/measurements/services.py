"""Writes of measurements: manual entry, and file imports (upload → check → confirm → commit).

Invariants:
- Every reading, whatever its source, passes `validation.reading_problems` and gets a
  `dedup_key`; an exact duplicate (in the file or already stored) is skipped, never stored twice.
- A commit is all-or-nothing: one transaction; a failure stores nothing.
- Uploaded files live in private storage (PRIVATE_UPLOAD_ROOT, never served) until the import is
  committed or cancelled. Tasks receive ids and load the batch through `for_clinic`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from patients.imports import generic_csv
from patients.imports.base import ImportFormatError, Reading, RowError
from patients.imports.detect import detect, parser_for
from patients.imports.fhir import FORMAT_CODE as FHIR_FORMAT
from patients.imports.generic_csv import ColumnMapping, CsvHeader, read_header
from patients.measurements.alerts import alerts_evaluate
from patients.measurements.validation import dedup_key, reading_problems, rounded
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource, Patient

MAX_STORED_ERRORS = 100
COMMIT_CHUNK = 5000
HEAD_BYTES = 64 * 1024


def measurement_from(
    reading: Reading, *, patient: Patient, source: str, actor: User | None, **extra: object
) -> Measurement:
    return Measurement(
        clinic_id=patient.clinic_id,
        patient=patient,
        kind=reading.kind,
        measured_at=reading.measured_at,
        value=rounded(reading),
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
    if Measurement.objects.filter(patient=patient, dedup_key=measurement.dedup_key).exists():
        raise ValidationError(_("This measurement has been recorded already."), code="duplicate")
    measurement.save()
    alerts_evaluate(patient=patient, measurements=[measurement])
    return measurement


# --- imports -------------------------------------------------------------------------------------


def _private_path(stored_name: str) -> Path:
    return Path(settings.PRIVATE_UPLOAD_ROOT) / stored_name


def _store_upload(upload: UploadedFile) -> str:
    root = Path(settings.PRIVATE_UPLOAD_ROOT)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    stored_name = uuid.uuid4().hex
    with open(root / stored_name, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return stored_name


def _discard_file(batch: ImportBatch) -> None:
    if batch.stored_name:
        _private_path(batch.stored_name).unlink(missing_ok=True)
        batch.stored_name = ""


def import_upload(
    *, clinic: Clinic, actor: User | None, patient: Patient, upload: UploadedFile, source: str
) -> ImportBatch:
    """Store the file privately and recognise its format; nothing is imported yet."""
    patient = Patient.objects.for_clinic(clinic).get(pk=patient.pk)
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ValidationError(
            _("The file is too large: at most %(mb)d MB.")
            % {"mb": settings.IMPORT_MAX_BYTES // (1024 * 1024)},
            code="too_large",
        )
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    try:
        file_format = detect(upload.name, head)
    except ImportFormatError as exc:
        # No known export, but a readable CSV: imported once the user has chosen its columns.
        if not generic_csv.sniff(head):
            raise ValidationError(str(exc), code="format") from exc
        file_format = generic_csv.FORMAT_CODE
    if file_format == FHIR_FORMAT:
        source = MeasurementSource.FHIR
    return ImportBatch.objects.create(
        clinic=clinic,
        patient=patient,
        uploaded_by=actor,
        source=source,
        filename=Path(upload.name).name[:255],
        stored_name=_store_upload(upload),
        format=file_format,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        status=ImportStatus.NEEDS_MAPPING
        if file_format == generic_csv.FORMAT_CODE
        else ImportStatus.QUEUED,
    )


def _stored_file(batch: ImportBatch) -> Path:
    path = _private_path(batch.stored_name) if batch.stored_name else None
    if path is None or not path.is_file():
        raise ImportFormatError(_("The uploaded file is no longer available. Upload it again."))
    return path


def _items(batch: ImportBatch) -> Iterator[Reading | RowError]:
    parse = parser_for(batch.format)
    tz = timezone.get_default_timezone()
    options: dict[str, ColumnMapping] = {}
    if batch.format == generic_csv.FORMAT_CODE:
        if not batch.mapping:  # e.g. the import command, which cannot ask for the columns
            raise ImportFormatError(_("This CSV file is not a known export: choose its columns."))
        options["mapping"] = ColumnMapping.from_dict(batch.mapping)
    with open(_stored_file(batch), "rb") as stream:
        yield from parse(stream, filename=batch.filename, tz=tz, **options)


def import_header(*, batch: ImportBatch) -> CsvHeader:
    """The columns and first rows of a generic CSV waiting for its mapping (ImportFormatError
    when the file is gone or unreadable)."""
    with open(_stored_file(batch), "rb") as stream:
        return read_header(stream, filename=batch.filename)


@transaction.atomic
def import_set_mapping(
    *, clinic: Clinic, actor: User, batch: ImportBatch, mapping: ColumnMapping
) -> ImportBatch:
    """Store the columns chosen for a generic CSV; the caller then runs the check (preview).

    Allowed until the import is confirmed: a preview with wrong dates can be mapped again.
    """
    batch = ImportBatch.objects.for_clinic(clinic).select_for_update().get(pk=batch.pk)
    if not import_accepts_mapping(batch):
        raise ValidationError(_("The columns of this file can no longer be changed."))
    batch.mapping = mapping.to_dict()
    batch.status = ImportStatus.QUEUED
    batch.rows_valid = batch.rows_duplicate = batch.rows_rejected = 0
    batch.errors = []
    batch.save()
    return batch


def import_accepts_mapping(batch: ImportBatch) -> bool:
    return batch.format == generic_csv.FORMAT_CODE and batch.status in (
        ImportStatus.NEEDS_MAPPING,
        ImportStatus.PREVIEWED,
    )


Checked = tuple[Reading, str]  # a valid reading and its dedup_key


def _checked(batch: ImportBatch) -> Iterator[Checked | RowError | None]:
    """Each item of the file as (reading, dedup key) to store, a RowError, or None for a
    duplicate. No model instance per row: building them was most of the time of an import."""
    seen: set[str] = set()
    now = timezone.now()
    for item in _items(batch):
        if isinstance(item, RowError):
            yield item
            continue
        problems = reading_problems(item, now=now)
        if problems:
            yield RowError(item.line, " ".join(problems))
            continue
        key = dedup_key(item)
        if key in seen:
            yield None
            continue
        seen.add(key)
        yield item, key


def _existing_keys(patient: Patient, keys: list[str]) -> set[str]:
    if connection.vendor == "postgresql":
        # One array parameter, each key probed in measurement_unique: an IN list of 5,000
        # placeholders cost ~10 µs a key to build, send and plan, a third of a file's check.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT m.dedup_key FROM unnest(%s::text[]) AS k(key) "
                "JOIN patients_measurement m ON m.patient_id = %s AND m.dedup_key = k.key",
                [keys, patient.pk],
            )
            return {key for (key,) in cursor.fetchall()}
    return set(
        Measurement.objects.filter(patient=patient, dedup_key__in=keys).values_list(
            "dedup_key", flat=True
        )
    )


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_check(*, clinic_id: int, batch_id: int) -> ImportBatch:
    """The preview: count what would be imported, what is a duplicate and what is refused."""
    batch = ImportBatch.objects.for_clinic(clinic_id).select_related("patient").get(pk=batch_id)
    with translation.override(batch.language):
        return _import_check(batch)


def _import_check(batch: ImportBatch) -> ImportBatch:
    valid = duplicate = 0
    errors: list[RowError] = []
    try:
        for chunk in _chunks(_checked(batch), COMMIT_CHUNK):
            new = [c for c in chunk if isinstance(c, tuple)]
            stored = _existing_keys(batch.patient, [key for _reading, key in new])
            errors += [e for e in chunk if isinstance(e, RowError)]
            duplicate += sum(1 for m in chunk if m is None) + len(stored)
            valid += len(new) - len(stored)
    except ImportFormatError as exc:
        return _fail(batch, str(exc))
    batch.rows_valid, batch.rows_duplicate, batch.rows_rejected = valid, duplicate, len(errors)
    batch.errors = [{"line": e.line, "message": e.message} for e in errors[:MAX_STORED_ERRORS]]
    batch.status = ImportStatus.PREVIEWED
    batch.save()
    return batch


def _fail(batch: ImportBatch, message: str) -> ImportBatch:
    _discard_file(batch)
    batch.status = ImportStatus.FAILED
    batch.failure = message
    batch.finished_at = timezone.now()
    batch.save()
    return batch


def progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


def import_commit(*, clinic_id: int, batch_id: int) -> ImportBatch:
    """Store every valid, new reading of the file in one transaction (idempotent)."""
    batch = ImportBatch.objects.for_clinic(clinic_id).select_related("patient").get(pk=batch_id)
    if batch.status in (ImportStatus.DONE, ImportStatus.CANCELLED, ImportStatus.FAILED):
        return batch
    with translation.override(batch.language):
        return _import_commit(batch)


def _import_commit(batch: ImportBatch) -> ImportBatch:
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.RUNNING)
    imported = processed = 0
    try:
        with transaction.atomic():
            for chunk in _chunks(_checked(batch), COMMIT_CHUNK):
                new = [c for c in chunk if isinstance(c, tuple)]
                stored = _store(batch, new)
                alerts_evaluate(patient=batch.patient, measurements=stored)
                imported += len(stored)
                processed += len(chunk)
                # Outside the transaction's visibility: the progress page reads the cache.
                cache.set(progress_key(batch.pk), processed, timeout=3600)
    except ImportFormatError as exc:
        return _fail(batch, str(exc))
    _discard_file(batch)
    batch.rows_imported = imported
    batch.rows_processed = processed
    batch.status = ImportStatus.DONE
    batch.finished_at = timezone.now()
    batch.save()
    return batch


# Every column of Measurement but the id: a field added to the model must be added here (the
# import tests fail on a NOT NULL column missing from the COPY).
_COPY_COLUMNS = (
    "clinic_id", "patient_id", "kind", "measured_at", "value", "systolic", "diastolic",
    "pulse", "irregular_heartbeat", "source", "source_file", "device", "entered_by_id",
    "received_at", "batch_id", "dedup_key",
)  # fmt: skip


class _Stored:
    """The new readings of one chunk, as Measurements built only when iterated: alert rules
    look at them, and most patients have none."""

    def __init__(self, batch: ImportBatch, rows: list[Checked]) -> None:
        self.batch, self.rows, self.received_at = batch, rows, timezone.now()
        self.ids: dict[str, int] | None = None  # dedup key → id, looked up when first needed

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Measurement]:
        if self.ids is None:
            keys = [key for _reading, key in self.rows]
            stored = Measurement.objects.filter(patient=self.batch.patient, dedup_key__in=keys)
            self.ids = dict(stored.values_list("dedup_key", "pk"))
        for reading, key in self.rows:
            yield self.measurement(reading, self.ids[key])

    def measurement(self, reading: Reading, pk: int | None = None) -> Measurement:
        return measurement_from(
            reading,
            patient=self.batch.patient,
            source=self.batch.source,
            actor=self.batch.uploaded_by,
            source_file=self.batch.filename,
            batch=self.batch,
            received_at=self.received_at,
            pk=pk,
        )


def _store(batch: ImportBatch, rows: list[Checked]) -> _Stored:
    """Insert the chunk's readings that are not stored yet, in the caller's transaction.

    On PostgreSQL with COPY: bulk_create's per-field preparation and parameter quoting made
    100,000 readings take half a minute. A reading stored meanwhile by another import makes the
    commit fail whole (measurement_unique), never half.
    """
    stored = _existing_keys(batch.patient, [key for _reading, key in rows]) if rows else set()
    new = _Stored(batch, [(reading, key) for reading, key in rows if key not in stored])
    if not new.rows:
        return new
    if connection.vendor != "postgresql":
        created = Measurement.objects.bulk_create([new.measurement(r) for r, _key in new.rows])
        new.ids = {m.dedup_key: m.pk for m in created}
        return new
    # Identifiers from this module, never from input: the f-string is not injectable.
    table, columns = Measurement._meta.db_table, ", ".join(_COPY_COLUMNS)
    clinic_id, patient_id, source, source_file = (
        batch.clinic_id, batch.patient_id, batch.source, batch.filename,
    )  # fmt: skip
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for r, key in new.rows:
            copy.write_row((
                clinic_id, patient_id, r.kind, r.measured_at, rounded(r), r.systolic, r.diastolic,
                r.pulse, r.irregular_heartbeat, source, source_file, r.device[:200],
                batch.uploaded_by_id, new.received_at, batch.pk, key,
            ))  # fmt: skip
    return new


def import_cancel(*, clinic: Clinic, batch: ImportBatch) -> ImportBatch:
    batch = ImportBatch.objects.for_clinic(clinic).get(pk=batch.pk)
    if batch.status in (ImportStatus.PREVIEWED, ImportStatus.NEEDS_MAPPING):
        _discard_file(batch)
        batch.status = ImportStatus.CANCELLED
        batch.finished_at = timezone.now()
        batch.save()
    return batch


ABANDONED_AFTER = datetime.timedelta(hours=48)


def imports_purge_abandoned(*, clinic_id: int, now: datetime.datetime | None = None) -> int:
    """Cancel imports left waiting (for columns or confirmation) for two days, and delete their
    files: an uploaded export must not linger in private storage. Idempotent."""
    cutoff = (now or timezone.now()) - ABANDONED_AFTER
    waiting = ImportBatch.objects.for_clinic(clinic_id).filter(
        status__in=(ImportStatus.PREVIEWED, ImportStatus.NEEDS_MAPPING), created_at__lt=cutoff
    )
    count = 0
    for batch in waiting:
        import_cancel(clinic=batch.clinic, batch=batch)
        count += 1
    return count


def import_is_large(batch: ImportBatch) -> bool:
    """Large files are checked and committed by a Celery worker, with visible progress."""
    path = _private_path(batch.stored_name) if batch.stored_name else None
    return (
        path is not None and path.is_file() and path.stat().st_size > settings.IMPORT_SYNC_MAX_BYTES
    )
