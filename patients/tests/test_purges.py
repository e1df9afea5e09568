"""The purges of patients' data through the retention service (T35): abandoned imports at their
48-hour boundary, with their private files; imports that ended are left alone."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from clinics import retention
from clinics.models import PurgeOutcome
from patients.measurements.services import import_commit, import_upload
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource
from patients.tests.test_import_mapping import COMMA_FILE
from patients.tests.test_imports_commit import checked, files_of
from portal.personal_data import declaration_for

pytestmark = pytest.mark.django_db


def purge_imports() -> list:
    return retention.purges_run(only=["imports-abandoned"])


def test_an_import_waiting_47_hours_is_kept_and_at_49_hours_cancelled_with_its_files(
    alice, patient_a
):
    """Time travel: the preview waits 47 h untouched, then at 49 h it is cancelled and both its
    files are gone; a rerun purges nothing."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    uploaded_at = batch.created_at

    with time_machine.travel(uploaded_at + datetime.timedelta(hours=47), tick=False):
        (run,) = purge_imports()
    assert (run.outcome, run.rows_purged) == (PurgeOutcome.DONE, 0)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.PREVIEWED and upload.exists() and checked_file.exists()

    with time_machine.travel(uploaded_at + datetime.timedelta(hours=49), tick=False):
        (run,) = purge_imports()
        (rerun,) = purge_imports()
    assert (run.rows_purged, run.batches, rerun.rows_purged) == (1, 1, 0)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED and batch.stored_name == ""
    assert not upload.exists() and not checked_file.exists()
    assert not Measurement.objects.exists()


def test_an_import_waiting_for_its_columns_is_cancelled_too(alice, patient_a):
    """A generic CSV left at the choice of columns for two days goes like a preview."""
    batch = import_upload(
        clinic=patient_a.clinic,
        actor=alice,
        patient=patient_a,
        upload=SimpleUploadedFile("metingen.csv", COMMA_FILE),
        source=MeasurementSource.FILE_IMPORT,
    )
    assert batch.status == ImportStatus.NEEDS_MAPPING
    upload, _checked = files_of(batch)

    with time_machine.travel(batch.created_at + datetime.timedelta(hours=49), tick=False):
        (run,) = purge_imports()
    assert run.rows_purged == 1
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED and not upload.exists()


def test_a_committed_import_is_not_touched_however_old(alice, patient_a):
    """Only waiting imports are due: a done import and its readings stay."""
    batch = checked(alice, patient_a)
    batch = import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)
    assert batch.status == ImportStatus.DONE
    (run,) = retention.purges_run(
        only=["imports-abandoned"], now=timezone.now() + datetime.timedelta(days=400)
    )
    assert run.rows_expired == 0
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and Measurement.objects.count() == 3


@pytest.mark.parametrize("status", [ImportStatus.QUEUED, ImportStatus.RUNNING])
def test_an_import_stuck_queued_or_running_is_failed_with_its_files_after_twice_the_period(
    alice, patient_a, status
):
    """A worker that never came (T44): kept at 95 hours, at 97 hours FAILED with both files
    deleted; a rerun purges nothing."""
    batch = checked(alice, patient_a)
    upload, checked_file = files_of(batch)
    type(batch).objects.filter(pk=batch.pk).update(status=status)

    with time_machine.travel(batch.created_at + datetime.timedelta(hours=95), tick=False):
        (run,) = purge_imports()
    assert run.rows_purged == 0
    batch.refresh_from_db()
    assert batch.status == status and upload.exists()

    with time_machine.travel(batch.created_at + datetime.timedelta(hours=97), tick=False):
        (run,) = purge_imports()
        (rerun,) = purge_imports()
    assert (run.rows_purged, rerun.rows_purged) == (1, 0)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED and batch.failure and batch.stored_name == ""
    assert not upload.exists() and not checked_file.exists()


def test_the_declaration_of_imports_states_that_uploaded_files_are_not_encrypted():
    """T43's listed exception (F5): uploaded exports lie in clear on disk, for at most 96 hours;
    the registry says so, in the words the clinic reads."""
    declaration = declaration_for(ImportBatch)
    with translation.override("en"):
        assert "unencrypted" in str(declaration.in_clear)
        assert "96 hours" in str(declaration.in_clear)
        assert "96 hours" in str(declaration.retention_note)
    assert declaration.retention == datetime.timedelta(hours=48)
