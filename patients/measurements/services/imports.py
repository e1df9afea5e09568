"""File imports: upload → (column mapping) → check (preview) → confirm → commit, and cancel.

Invariants:
- Every reading, whatever its source, passes `validation.reading_problems` and gets a
  `dedup_key`; an exact duplicate (in the file or already stored) is skipped, never stored twice.
- A commit is all-or-nothing: one transaction; a failure stores nothing. A reading stored after
  the preview (by another import, by hand) is skipped and counted as a duplicate.
- Uploaded files, and what their check wrote for the commit (`import_store`), live in private
  storage (`portal.private_files`, never served) until the import is committed, cancelled or
  failed; nothing here reaches a file but through that module.
- Every query filters on the clinic (`for_clinic`, or `clinic_id = %s` in SQL), row locks and
  updates included. Tasks receive ids and load the batch through `for_clinic`.
- The view validates a form and calls one service (`import_start`, `import_set_mapping`,
  `import_confirm`, `import_cancel`): whether a file is checked or committed now or by a worker
  is decided here, by its size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from patients.imports import generic_csv
from patients.imports.base import ImportFormatError, Reading, RowError
from patients.imports.detect import HEAD_BYTES, detect, parser_for
from patients.imports.fhir import FORMAT_CODE as FHIR_FORMAT
from patients.imports.generic_csv import ColumnMapping, CsvHeader, read_header
from patients.measurements import import_store
from patients.measurements.alerts import alerts_evaluate
from patients.measurements.validation import dedup_key, reading_problems
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource, Patient
from portal import private_files

logger = logging.getLogger(__name__)

MAX_STORED_ERRORS = 100
# A file whose rows mostly fail is not the export it looked like (or is hostile): refused whole
# once, after at least REFUSAL_MIN_ROWS rows, more than REFUSAL_SHARE of all rows so far failed.
# Only the first MAX_STORED_ERRORS row errors are kept (shown), the rest counted: a check's memory
# must not grow with the rows a file holds (SECURITY.md T41).
REFUSAL_MIN_ROWS = 1000
REFUSAL_SHARE = 0.9
COMMIT_CHUNK = 5000
UPLOAD_FOLDER = "imports/"
# Device exports are text (CSV, XML, JSON) or ZIP. Which export a file is, is decided by
# `patients.imports.detect`; this only refuses at once what is neither (a photo, a PDF...).
UPLOAD_TYPES = frozenset({private_files.TEXT, private_files.ZIP})
# patients/tasks.py imports these services (tasks are thin wrappers around them), so the services
# enqueue the tasks by their registered names instead of importing them: the message is the one
# `.delay()` sends, with no import cycle and no import inside a function, and the web process
# needs no task module loaded. test_import_services pins the names to the tasks.
CHECK_TASK = "patients.tasks.import_check_task"
COMMIT_TASK = "patients.tasks.import_commit_task"


def _delete_files(stored_name: str) -> None:
    """The upload and what its check wrote for the commit (import_store)."""
    if stored_name:
        private_files.delete(name=stored_name)
        import_store.discard(stored_name)


def _discard_file(batch: ImportBatch) -> None:
    _delete_files(batch.stored_name)
    batch.stored_name = ""


def _format(filename: str, head: bytes) -> str:
    try:
        return detect(filename, head)
    except ImportFormatError as exc:
        # No known export, but a readable CSV: imported once the user has chosen its columns.
        if not generic_csv.sniff(head):
            raise ValidationError(str(exc), code="format") from exc
        return generic_csv.FORMAT_CODE


def import_upload(
    *, clinic: Clinic, actor: User | None, patient: Patient, upload: UploadedFile, source: str
) -> ImportBatch:
    """Store the file privately and recognise its format; nothing is imported yet."""
    patient = Patient.objects.for_clinic(clinic).get(pk=patient.pk)
    upload.seek(0)
    head = upload.read(HEAD_BYTES)  # before storing: the storage may move the upload's file
    try:
        stored = private_files.save_upload(
            upload=upload,
            max_bytes=settings.IMPORT_MAX_BYTES,
            accepted_types=UPLOAD_TYPES,
            prefix=UPLOAD_FOLDER,
        )
    except ValidationError as exc:
        if exc.code == "type":
            _format(upload.name, head)  # no export at all: the message naming the exports
        raise
    # A refused file does not stay behind.
    with private_files.deleted_on_failure(stored):
        file_format = _format(upload.name, head)
        return ImportBatch.objects.create(
            clinic=clinic,
            patient=patient,
            uploaded_by=actor,
            source=MeasurementSource.FHIR if file_format == FHIR_FORMAT else source,
            filename=PurePath(upload.name).name[:255],
            stored_name=stored.name,
            format=file_format,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            status=ImportStatus.NEEDS_MAPPING
            if file_format == generic_csv.FORMAT_CODE
            else ImportStatus.QUEUED,
        )


def import_start(
    *, clinic: Clinic, actor: User, patient: Patient, upload: UploadedFile, source: str
) -> ImportBatch:
    """The upload form's one service: store and recognise the file, then check it (the preview)
    unless it is a CSV waiting for its columns (NEEDS_MAPPING).

    Not one transaction: stored files are no part of it, and every stored upload must keep the
    batch row that names it (the retention purge finds abandoned files through their batches).
    """
    batch = import_upload(clinic=clinic, actor=actor, patient=patient, upload=upload, source=source)
    if batch.status == ImportStatus.NEEDS_MAPPING:
        return batch
    return _start_check(batch)


def _start_check(batch: ImportBatch) -> ImportBatch:
    """The preview: right away for a small file, by a worker (with progress) for a large one."""
    if import_is_large(batch):
        _enqueue(CHECK_TASK, batch)
        return batch
    return import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)


def _enqueue(task_name: str, batch: ImportBatch) -> None:
    # Once committed, so the worker finds the batch as this transaction leaves it.
    ids = [batch.clinic_id, batch.pk]
    transaction.on_commit(lambda: current_app.send_task(task_name, args=ids))


def _gone() -> ImportFormatError:
    return ImportFormatError(_("The uploaded file is no longer available. Upload it again."))


def _require_upload(batch: ImportBatch) -> None:
    if not private_files.exists(name=batch.stored_name):
        raise _gone()


def _open_upload(batch: ImportBatch) -> File:
    _require_upload(batch)
    try:
        return private_files.open_file(name=batch.stored_name)
    except FileNotFoundError:  # deleted since (a cancel, the purge)
        raise _gone() from None


def _items(batch: ImportBatch) -> Iterator[Reading | RowError]:
    parse = parser_for(batch.format)
    tz = timezone.get_default_timezone()
    options: dict[str, ColumnMapping] = {}
    if batch.format == generic_csv.FORMAT_CODE:
        if not batch.mapping:  # e.g. the import command, which cannot ask for the columns
            raise ImportFormatError(_("This CSV file is not a known export: choose its columns."))
        options["mapping"] = ColumnMapping.from_dict(batch.mapping)
    with _open_upload(batch) as stream:
        yield from parse(stream, filename=batch.filename, tz=tz, **options)


def import_header(*, batch: ImportBatch) -> CsvHeader:
    """The columns and first rows of a generic CSV waiting for its mapping (ImportFormatError
    when the file is gone or unreadable)."""
    with _open_upload(batch) as stream:
        return read_header(stream, filename=batch.filename)


def import_set_mapping(
    *, clinic: Clinic, actor: User, batch: ImportBatch, mapping: ColumnMapping
) -> ImportBatch:
    """Store the columns chosen for a generic CSV, then check the file with them (the preview,
    now or by a worker, as `import_start`).

    Allowed until the import is confirmed: a preview with wrong dates can be mapped again.
    """
    # The check runs after the row lock is released: a small file's check takes a moment.
    return _start_check(_map(clinic=clinic, batch=batch, mapping=mapping))


@transaction.atomic
def _map(*, clinic: Clinic, batch: ImportBatch, mapping: ColumnMapping) -> ImportBatch:
    batch = ImportBatch.objects.for_clinic(clinic).select_for_update().get(pk=batch.pk)
    if not import_accepts_mapping(batch):
        raise ValidationError(_("The columns of this file can no longer be changed."))
    batch.mapping = mapping.to_dict()
    import_store.discard(batch.stored_name)  # checked under the old columns
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
    if not keys:
        return set()
    # The keys as one parameter, each probed in measurement_unique: an IN list of 5,000
    # placeholders cost ~10 µs a key to build, send and plan, a third of a file's check. One
    # comma-joined string rather than a text[]: the keys are hex digests, and psycopg quoting
    # each element of an array cost 3.5 µs a key.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.dedup_key FROM unnest(string_to_array(%s, ',')) AS k(key) "
            "JOIN patients_measurement m "
            "ON m.clinic_id = %s AND m.patient_id = %s AND m.dedup_key = k.key",
            [",".join(keys), patient.clinic_id, patient.pk],
        )
        return {key for (key,) in cursor.fetchall()}


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class _Checked:
    """One chunk of a file, checked: the readings to store, and what is not stored and why."""

    new: list[Checked]
    duplicates: int  # in the file already, or stored already
    errors: list[RowError]


def _checked_chunks(batch: ImportBatch) -> Iterator[_Checked]:
    for chunk in _chunks(_checked(batch), COMMIT_CHUNK):
        candidates = [c for c in chunk if isinstance(c, tuple)]
        stored = _existing_keys(batch.patient, [key for _reading, key in candidates])
        yield _Checked(
            new=[c for c in candidates if c[1] not in stored] if stored else candidates,
            duplicates=sum(1 for c in chunk if c is None) + len(stored),
            errors=[e for e in chunk if isinstance(e, RowError)],
        )


def import_check(*, clinic_id: int, batch_id: int) -> ImportBatch:
    """The preview: count what would be imported, what is a duplicate and what is refused."""
    batch = ImportBatch.objects.for_clinic(clinic_id).select_related("patient").get(pk=batch_id)
    with translation.override(batch.language):
        return _import_check(batch)


def _import_check(batch: ImportBatch) -> ImportBatch:
    """Counts for the preview, and the readings to store written for the commit (import_store):
    the commit then neither parses nor validates again. The database is not written."""
    valid = duplicate = rejected = 0
    errors: list[RowError] = []  # the first MAX_STORED_ERRORS only; `rejected` counts them all
    try:
        _require_upload(batch)
        with import_store.CheckedWriter(batch) as checked:
            for chunk in _checked_chunks(batch):
                checked.write(chunk.new)
                valid += len(chunk.new)
                duplicate += chunk.duplicates
                rejected += len(chunk.errors)
                errors += chunk.errors[: MAX_STORED_ERRORS - len(errors)]
                _refuse_mostly_failing(rows=valid + duplicate + rejected, rejected=rejected)
    except ImportFormatError as exc:
        return _fail(batch, str(exc))
    except Exception:
        # A bug or a file no parser foresaw: the import ends FAILED, its files deleted, never
        # left QUEUED for a retry that would fail the same way (SECURITY.md T44).
        logger.exception("Import %s: the check failed unexpectedly", batch.pk)
        return _fail(batch, _unexpected())
    batch.rows_valid, batch.rows_duplicate, batch.rows_rejected = valid, duplicate, rejected
    batch.errors = [{"line": e.line, "message": e.message} for e in errors]
    batch.status = ImportStatus.PREVIEWED
    batch.save()
    return batch


def _refuse_mostly_failing(*, rows: int, rejected: int) -> None:
    if rows >= REFUSAL_MIN_ROWS and rejected > REFUSAL_SHARE * rows:
        raise ImportFormatError(
            _(
                "This file is refused: %(rejected)s of its first %(rows)s rows cannot be read "
                "or are not plausible, so it is not an export of the kind it appears to be. "
                "Check that you chose the right file."
            )
            % {"rejected": rejected, "rows": rows}
        )


def _unexpected() -> str:
    return _("The file could not be imported because of an unexpected error. Nothing was stored.")


def _fail(batch: ImportBatch, message: str) -> ImportBatch:
    _discard_file(batch)
    batch.status = ImportStatus.FAILED
    batch.failure = message
    batch.finished_at = timezone.now()
    batch.save()
    return batch


def progress_key(batch_id: int) -> str:
    return f"import-progress:{batch_id}"


_FINISHED = (ImportStatus.DONE, ImportStatus.CANCELLED, ImportStatus.FAILED)


def import_commit(*, clinic_id: int, batch_id: int) -> ImportBatch:
    """Store every valid, new reading of the file in one transaction (idempotent)."""
    batch = ImportBatch.objects.for_clinic(clinic_id).select_related("patient").get(pk=batch_id)
    if batch.status in _FINISHED:
        return batch
    with translation.override(batch.language):
        return _import_commit(batch)


def _import_commit(batch: ImportBatch) -> ImportBatch:
    # Outside the transaction, so the page shows it; a retried task (acks_late) finds RUNNING.
    ImportBatch.objects.for_clinic(batch.clinic_id).filter(pk=batch.pk).exclude(
        status__in=_FINISHED
    ).update(status=ImportStatus.RUNNING)
    try:
        with transaction.atomic():
            # A second commit of the same batch (a double confirmation) waits here for the
            # first, then finds it done: readings stored meanwhile are skipped silently, so
            # without the lock it would record an import of nothing.
            batch = (
                ImportBatch.objects.for_clinic(batch.clinic_id)
                .select_for_update(of=("self",))
                .select_related("patient")
                .get(pk=batch.pk)
            )
            if batch.status != ImportStatus.RUNNING:
                return batch
            stored_name = batch.stored_name
            imported = _store(batch)
            alerts_evaluate(
                patient=batch.patient,
                measurements=Measurement.objects.for_clinic(batch.clinic_id).filter(
                    patient=batch.patient, batch=batch
                ),
            )
            batch.rows_processed = batch.rows_valid + batch.rows_duplicate + batch.rows_rejected
            # The preview's new readings that were not stored had been stored in the meantime.
            batch.rows_duplicate += max(0, batch.rows_valid - imported)
            batch.rows_imported = imported
            batch.status = ImportStatus.DONE
            batch.finished_at = timezone.now()
            batch.stored_name = ""
            batch.save()
    except ImportFormatError as exc:
        return _fail(batch, str(exc))
    except Exception:
        # Rolled back: nothing stored. FAILED with its files deleted, as a refused file.
        logger.exception("Import %s: the commit failed unexpectedly", batch.pk)
        return _fail(batch, _unexpected())
    _delete_files(stored_name)  # only once the readings are committed
    return batch


def _store(batch: ImportBatch) -> int:
    """Insert the batch's new readings in the caller's transaction; the number inserted.

    From the check's file when there is one for this upload; otherwise (checked before it
    existed, or the upload changed since) the upload is checked again, row errors ignored as
    in the preview. A reading stored meanwhile is skipped, not a failure.
    """

    def progress(rows: int) -> None:
        # Outside the transaction's visibility: the progress page reads the cache.
        cache.set(progress_key(batch.pk), rows, timeout=3600)

    _require_upload(batch)
    lines = import_store.checked_lines(batch)
    if lines is None:
        lines = (
            import_store.copy_line(reading, key)
            for chunk in _checked_chunks(batch)
            for reading, key in chunk.new
        )
    return import_store.copy_into_measurements(batch, lines, progress)


def import_cancel(*, clinic: Clinic, batch: ImportBatch) -> ImportBatch:
    batch = ImportBatch.objects.for_clinic(clinic).get(pk=batch.pk)
    if batch.status in (ImportStatus.PREVIEWED, ImportStatus.NEEDS_MAPPING):
        _discard_file(batch)
        batch.status = ImportStatus.CANCELLED
        batch.finished_at = timezone.now()
        batch.save()
    return batch


# Waiting for a worker, or in its hands: a state that only a worker ends.
IN_PROGRESS = (ImportStatus.QUEUED, ImportStatus.RUNNING)


def import_abandon(*, clinic: Clinic, batch: ImportBatch) -> ImportBatch:
    """End an import that a worker never took or never finished (a lost message, a killed
    worker): FAILED, its files deleted. Called by the retention purge long after any worker
    would have finished. A commit still running holds the row's lock: it is left to finish."""
    with transaction.atomic():
        locked = (
            ImportBatch.objects.for_clinic(clinic)
            .select_for_update(skip_locked=True)
            .filter(pk=batch.pk, status__in=IN_PROGRESS)
            .first()
        )
        if locked is None:
            return batch
        return _fail(locked, _("The import did not finish and was stopped. Nothing was stored."))


def import_confirm(*, clinic: Clinic, actor: User, batch: ImportBatch) -> ImportBatch:
    """The confirm button's one service: commit a previewed import, now for a small file, by a
    worker (QUEUED, with progress) for a large one. A ValidationError when there is nothing to
    commit (not previewed, or no valid new reading).

    No outer transaction: `import_commit` is its own, and deletes the files only once it has
    committed.
    """
    batch = ImportBatch.objects.for_clinic(clinic).get(pk=batch.pk)
    if batch.status != ImportStatus.PREVIEWED or batch.rows_valid == 0:
        raise ValidationError(_("There is nothing to import in this file."), code="nothing")
    if import_is_large(batch):
        return _queue_commit(clinic=clinic, batch=batch)
    return import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)


@transaction.atomic
def _queue_commit(*, clinic: Clinic, batch: ImportBatch) -> ImportBatch:
    ImportBatch.objects.for_clinic(clinic).filter(pk=batch.pk).update(status=ImportStatus.QUEUED)
    _enqueue(COMMIT_TASK, batch)
    batch.status = ImportStatus.QUEUED
    return batch


def import_is_large(batch: ImportBatch) -> bool:
    """Large files are checked and committed by a Celery worker, with visible progress."""
    return (
        private_files.exists(name=batch.stored_name)
        and private_files.size(name=batch.stored_name) > settings.IMPORT_SYNC_MAX_BYTES
    )
