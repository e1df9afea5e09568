"""Changing documents: staff-only on and off, deleting (the file goes once the deletion is
committed; the patient deletes only their own uploads), and no file without its row: the sweep
of private files deletes what a dead request or a deleted record left behind."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from documents.models import RecordDocument
from documents.services import DOCUMENT_FOLDER, document_delete
from documents.tests import samples
from documents.tests.conftest import own_url, staff_url, stored_files
from portal import private_files

pytestmark = pytest.mark.django_db


def test_staff_hide_a_document_from_the_patient_and_show_it_again(
    client_for, alice, paul, patient_a, add_document
):
    """The box hides it from the patient's list; unticked it is theirs to see again."""
    document = add_document(patient_a, by=alice)
    staff, patient = client_for(alice), client_for(paul)
    response = staff.post(staff_url("staff_only", document), {"staff_only": "on"})
    assert response["Location"] == staff_url("detail", document)
    assert RecordDocument.objects.get().is_staff_only
    assert patient.get(own_url("detail", document)).status_code == 404
    staff.post(staff_url("staff_only", document), {})
    assert not RecordDocument.objects.get().is_staff_only
    assert patient.get(own_url("detail", document)).status_code == 200


def test_a_patients_own_upload_cannot_be_hidden_from_them(
    client_for, alice, paul, patient_a, add_document
):
    """Staff cannot make the patient's upload staff-only: a clear message, nothing changed."""
    document = add_document(patient_a, by=paul, is_from_patient=True)
    response = client_for(alice).post(staff_url("staff_only", document), {"staff_only": "on"},
                                      follow=True)  # fmt: skip
    assert list(response.context["messages"])
    assert not RecordDocument.objects.get().is_staff_only


def test_staff_delete_a_document_and_its_file_once_committed(
    client_for, alice, patient_a, add_document, private_root, django_capture_on_commit_callbacks
):
    """The row goes at once, the file when the deletion is committed."""
    document = add_document(patient_a, by=alice)
    assert len(stored_files(private_root)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(staff_url("delete", document))
    assert response["Location"] == staff_url("list", patient=patient_a)
    assert not RecordDocument.objects.exists()
    assert stored_files(private_root) == []


def test_a_rolled_back_deletion_keeps_the_file(alice, patient_a, add_document, private_root):
    """The file is deleted only on commit: a deletion undone keeps row and file together."""
    document = add_document(patient_a, by=alice)
    with transaction.atomic():
        document_delete(clinic=patient_a.clinic, document=document)
        transaction.set_rollback(True)
    assert RecordDocument.objects.filter(pk=document.pk).exists()
    assert private_files.exists(name=document.stored_name)


def test_the_patient_deletes_their_own_upload(
    client_for, paul, patient_a, add_document, private_root, django_capture_on_commit_callbacks
):
    """What the patient uploaded, they may delete, file and all."""
    document = add_document(patient_a, by=paul, is_from_patient=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(paul).post(own_url("delete", document))
    assert response["Location"] == own_url("list", patient=patient_a)
    assert not RecordDocument.objects.exists() and stored_files(private_root) == []


def test_the_patient_cannot_delete_what_the_clinic_uploaded(
    client_for, alice, paul, patient_a, add_document, private_root
):
    """A visible staff upload: 404 to the patient's delete, no delete button on its page."""
    document = add_document(patient_a, by=alice)
    client = client_for(paul)
    assert client.post(own_url("delete", document)).status_code == 404
    page = client.get(own_url("detail", document))
    assert page.context["may_delete"] is False
    assert own_url("delete", document) not in page.content.decode()
    assert RecordDocument.objects.exists() and len(stored_files(private_root)) == 1


def test_a_file_no_document_names_is_swept_once_it_is_an_hour_old(
    alice, patient_a, add_document, private_root
):
    """A request that died between storing its file and committing its row leaves an orphan:
    the hourly sweep deletes it once no request can still be on its way, never a document's."""
    kept = add_document(patient_a, by=alice)
    orphan = private_files.save_upload(
        upload=ContentFile(samples.PDF, name="a.pdf"),
        max_bytes=10_000,
        accepted_types={"application/pdf"},
        prefix=DOCUMENT_FOLDER,
    )
    assert private_files.orphans_delete() == 0  # too young: its request may still be running
    later = timezone.now() + private_files.ORPHAN_AGE + datetime.timedelta(minutes=1)
    assert private_files.orphans_delete(now=later) == 1
    assert not private_files.exists(name=orphan.name)
    assert private_files.exists(name=kept.stored_name)
    assert private_files.orphans_delete(now=later) == 0


def test_a_deleted_record_takes_its_documents_and_the_sweep_their_files(
    alice, patient_a, add_document, private_root
):
    """Documents belong to the record: deleted with it (CASCADE), their files by the sweep."""
    add_document(patient_a, by=alice)
    add_document(patient_a, by=alice, content=samples.MP4, name="a.mp4")
    patient_a.delete()
    assert not RecordDocument.objects.exists()
    later = timezone.now() + private_files.ORPHAN_AGE + datetime.timedelta(minutes=1)
    assert private_files.orphans_delete(now=later) == 2
    assert stored_files(private_root) == []


def test_a_folder_has_one_owner(alice):
    """Two apps cannot both claim a folder: the second is refused."""
    with pytest.raises(ValueError, match="already has an owner"):
        private_files.folder_owner_register(folder=DOCUMENT_FOLDER, named=lambda names: set())
