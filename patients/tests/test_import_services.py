"""The services that own the import flow: a small file is checked and committed at once, a large
one by a worker (enqueued once the transaction commits), and the file type is decided by content."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from patients import tasks
from patients.measurements.services import import_confirm, import_start, import_upload
from patients.measurements.services import imports as import_services
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource
from patients.tests.test_imports import FILENAME, omron_csv
from portal import private_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, list[int]]]:
    """The tasks the services send to the broker, by name, with their arguments."""
    messages: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(
        import_services.current_app,
        "send_task",
        lambda name, args: messages.append((name, args)),
    )
    return messages


def start(alice, patient, content: bytes | None = None, name: str = FILENAME) -> ImportBatch:
    return import_start(
        clinic=patient.clinic, actor=alice, patient=patient,
        upload=SimpleUploadedFile(name, content or omron_csv()),
        source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip


def test_the_services_enqueue_the_tasks_by_their_registered_names():
    """The names the services send are the names the worker knows the tasks by."""
    assert tasks.import_check_task.name == import_services.CHECK_TASK
    assert tasks.import_commit_task.name == import_services.COMMIT_TASK


def test_a_small_file_is_checked_at_once(alice, patient_a, sent):
    """The preview is ready when the upload returns; no task."""
    batch = start(alice, patient_a)
    assert batch.status == ImportStatus.PREVIEWED and batch.rows_valid == 3
    assert sent == []


def test_a_large_file_is_checked_by_a_worker_once_committed(
    alice, patient_a, sent, settings, django_capture_on_commit_callbacks
):
    """Queued, and the check task sent only when the transaction commits."""
    settings.IMPORT_SYNC_MAX_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        batch = start(alice, patient_a)
        assert sent == []
    assert callbacks and batch.status == ImportStatus.QUEUED
    assert sent == [(import_services.CHECK_TASK, [batch.clinic_id, batch.pk])]


def test_confirming_a_small_file_commits_it_at_once(alice, patient_a, sent):
    """Done when the service returns."""
    batch = import_confirm(clinic=patient_a.clinic, actor=alice, batch=start(alice, patient_a))
    assert batch.status == ImportStatus.DONE and Measurement.objects.count() == 3
    assert sent == []


def test_confirming_a_large_file_queues_its_commit(
    alice, patient_a, sent, settings, django_capture_on_commit_callbacks
):
    """QUEUED in the database, the commit task sent once committed, nothing stored yet."""
    batch = start(alice, patient_a)
    settings.IMPORT_SYNC_MAX_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True):
        batch = import_confirm(clinic=patient_a.clinic, actor=alice, batch=batch)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.QUEUED and not Measurement.objects.exists()
    assert sent == [(import_services.COMMIT_TASK, [batch.clinic_id, batch.pk])]


def test_confirming_what_has_nothing_to_import_is_refused(alice, patient_a, sent):
    """Not previewed, or no valid reading: the existing message, nothing changes."""
    waiting = import_upload(
        clinic=patient_a.clinic, actor=alice, patient=patient_a,
        upload=SimpleUploadedFile(FILENAME, omron_csv()), source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        import_confirm(clinic=patient_a.clinic, actor=alice, batch=waiting)
    assert refused.value.messages == ["There is nothing to import in this file."]
    waiting.refresh_from_db()
    assert waiting.status == ImportStatus.QUEUED and sent == []


def test_confirming_another_clinics_import_finds_nothing(alice, patient_a, clinic_b, sent):
    """The batch is looked up within the clinic given."""
    batch = start(alice, patient_a)
    with pytest.raises(ImportBatch.DoesNotExist):
        import_confirm(clinic=clinic_b, actor=alice, batch=batch)
    assert not Measurement.objects.exists()


def test_a_binary_file_named_like_an_export_is_refused_by_its_content(alice, patient_a):
    """export.xml would pass on its name alone; its content is a picture: refused, not stored."""
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
    with pytest.raises(ValidationError) as refused:
        start(alice, patient_a, png, name="export.xml")
    assert refused.value.code == "type"
    assert not ImportBatch.objects.exists()


def test_uploads_are_stored_in_the_imports_folder_of_private_storage(alice, patient_a):
    """A random name under imports/, in private storage, gone once committed."""
    batch = start(alice, patient_a)
    folder, name = batch.stored_name.split("/")
    assert folder == "imports" and len(name) == 32
    assert private_files.exists(name=batch.stored_name)
    import_confirm(clinic=patient_a.clinic, actor=alice, batch=batch)
    assert not private_files.exists(name=batch.stored_name)
