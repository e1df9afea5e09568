"""Writes of record documents: upload, staff-only, delete.

Invariants:
- A file is stored through `portal.private_files` only (random name in DOCUMENT_FOLDER, size
  cap DOCUMENT_MAX_BYTES, type by content from `file_types.ACCEPTED_TYPES`); a refused file
  is refused before anything is stored.
- A stored file either gets its row or is deleted again in the same request; a request that
  dies in between leaves a file no row names, which the hourly sweep of private files deletes
  (`documents.hooks` declares this folder's owner). The same sweep deletes the files of a
  deleted patient record, whose documents go with it (CASCADE).
- A deleted document's file is deleted once the deletion is committed (`on_commit`): a
  rolled-back deletion keeps its file.
- Every query starts from the clinic (`for_clinic`); the patient's uploads are never
  staff-only (a database constraint holds it too).
"""

from __future__ import annotations

import re
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from documents.file_types import ACCEPTED_DESCRIPTION, ACCEPTED_TYPES
from documents.models import RecordDocument
from patients.models import Patient
from portal import private_files

DOCUMENT_FOLDER = "documents/"
TITLE_MAX_LENGTH = RecordDocument._meta.get_field("title").max_length
FILENAME_MAX_LENGTH = RecordDocument._meta.get_field("original_filename").max_length
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def client_filename(name: str | None) -> str:
    """The last part of the client's file name, without control characters (it is shown and
    sent back in Content-Disposition), at most the column's length, keeping the extension."""
    cleaned = _CONTROL_CHARACTERS.sub("", re.split(r"[\\/]", name or "")[-1]).strip()
    if len(cleaned) > FILENAME_MAX_LENGTH:
        suffix = PurePath(cleaned).suffix[:16]
        cleaned = cleaned[: FILENAME_MAX_LENGTH - len(suffix)] + suffix
    return cleaned or "document"


def title_from_filename(filename: str) -> str:
    """The default title: the file name without its extension ("Verwijsbrief" for
    "Verwijsbrief.pdf")."""
    stem = PurePath(filename).stem.strip() or filename
    return stem[:TITLE_MAX_LENGTH]


def _store(upload: UploadedFile) -> private_files.StoredFile:
    return private_files.save_upload(
        upload=upload,
        max_bytes=settings.DOCUMENT_MAX_BYTES,
        accepted_types=ACCEPTED_TYPES,
        prefix=DOCUMENT_FOLDER,
        accepted_description=str(ACCEPTED_DESCRIPTION),
    )


def document_upload(
    *,
    clinic: Clinic,
    actor: User,
    patient: Patient,
    upload: UploadedFile,
    title: str = "",
    is_staff_only: bool = False,
    is_from_patient: bool = False,
) -> RecordDocument:
    """Store the file privately and add it to the record. ValidationError (nothing stored)
    for an empty file, one over the size cap or of a type the record does not take."""
    patient = Patient.objects.for_clinic(clinic).get(pk=patient.pk)
    if is_from_patient and is_staff_only:
        raise ValidationError(_("A patient's own upload cannot be hidden from them."))
    if not upload.size:
        raise ValidationError(_("The file is empty."), code="empty")
    stored = _store(upload)
    filename = client_filename(upload.name)
    with private_files.deleted_on_failure(stored), transaction.atomic():
        return RecordDocument.objects.create(
            clinic=clinic,
            patient=patient,
            title=(title or "").strip()[:TITLE_MAX_LENGTH] or title_from_filename(filename),
            original_filename=filename,
            stored_name=stored.name,
            content_type=stored.content_type,
            size=stored.size,
            uploaded_by=actor,
            is_from_patient=is_from_patient,
            is_staff_only=is_staff_only,
        )


@transaction.atomic
def document_set_staff_only(
    *, clinic: Clinic, document: RecordDocument, is_staff_only: bool
) -> RecordDocument:
    """Show a staff upload to the patient, or hide it from them. A patient's own upload stays
    visible to them (ValidationError)."""
    document = RecordDocument.objects.for_clinic(clinic).select_for_update().get(pk=document.pk)
    if is_staff_only and document.is_from_patient:
        raise ValidationError(_("A patient's own upload cannot be hidden from them."))
    if document.is_staff_only != is_staff_only:
        document.is_staff_only = is_staff_only
        document.save(update_fields=["is_staff_only"])
    return document


@transaction.atomic
def document_delete(*, clinic: Clinic, document: RecordDocument) -> None:
    """Delete the document; its file goes once the deletion is committed."""
    deleted = RecordDocument.objects.for_clinic(clinic).filter(pk=document.pk)
    stored_names = list(deleted.values_list("stored_name", flat=True))
    deleted.delete()
    for name in stored_names:
        transaction.on_commit(lambda name=name: private_files.delete(name=name))
