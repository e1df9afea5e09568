"""Writes of measurements: manual entry, and file imports (upload → check → confirm → commit).

Invariants:
- Every reading, whatever its source, passes `validation.reading_problems` and gets a
  `dedup_key`; an exact duplicate (in the file or already stored) is skipped, never stored twice.
- A commit is all-or-nothing: one transaction; a failure stores nothing.
- Uploaded files live in private storage (PRIVATE_UPLOAD_ROOT, never served) until the import is
  committed or cancelled. Tasks receive ids and load the batch through `for_clinic`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from patients.imports.base import ImportFormatError, Reading, RowError
from patients.imports.detect import detect, parser_for
from patients.imports.fhir import FORMAT_CODE as FHIR_FORMAT
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
        raise ValidationError(str(exc), code="format") from exc
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
        status=ImportStatus.QUEUED,
    )


def _items(batch: ImportBatch) -> Iterator[Reading | RowError]:
    parse = parser_for(batch.format)
    tz = timezone.get_default_timezone()
    path = _private_path(batch.stored_name) if batch.stored_name else None
    if path is None or not path.is_file():
        raise ImportFormatError(_("The uploaded file is no longer available. Upload it again."))
    with open(path, "rb") as stream:
        yield from parse(stream, filename=batch.filename, tz=tz)


def _checked(batch: ImportBatch, patient: Patient) -> Iterator[Measurement | RowError | None]:
    """Each item of the file as a Measurement to store, a RowError, or None for a duplicate."""
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
        measurement = measurement_from(
            item,
            patient=patient,
            source=batch.source,
            actor=batch.uploaded_by,
            source_file=batch.filename,
            batch=batch,
        )
        if measurement.dedup_key in seen:
            yield None
            continue
        seen.add(measurement.dedup_key)
        yield measurement


def _existing_keys(patient: Patient, keys: list[str]) -> set[str]:
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
        for chunk in _chunks(_checked(batch, batch.patient), COMMIT_CHUNK):
            new = [m for m in chunk if isinstance(m, Measurement)]
            stored = _existing_keys(batch.patient, [m.dedup_key for m in new])
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
            for chunk in _chunks(_checked(batch, batch.patient), COMMIT_CHUNK):
                new = [m for m in chunk if isinstance(m, Measurement)]
                stored = _existing_keys(batch.patient, [m.dedup_key for m in new])
                rows = [m for m in new if m.dedup_key not in stored]
                Measurement.objects.bulk_create(rows, batch_size=COMMIT_CHUNK)
                imported += len(rows)
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


def import_cancel(*, clinic: Clinic, batch: ImportBatch) -> ImportBatch:
    batch = ImportBatch.objects.for_clinic(clinic).get(pk=batch.pk)
    if batch.status == ImportStatus.PREVIEWED:
        _discard_file(batch)
        batch.status = ImportStatus.CANCELLED
        batch.finished_at = timezone.now()
        batch.save()
    return batch


def import_is_large(batch: ImportBatch) -> bool:
    """Large files are checked and committed by a Celery worker, with visible progress."""
    path = _private_path(batch.stored_name) if batch.stored_name else None
    return (
        path is not None and path.is_file() and path.stat().st_size > settings.IMPORT_SYNC_MAX_BYTES
    )
