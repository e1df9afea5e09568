"""Documents, photos and videos on a patient record (PRODUCT.md capability 3).

The file itself lives in private storage (`portal.private_files`) under a random name that
never appears in a URL: URLs carry the document's own random id. What identifies the patient
or could (the title, the client's file name) is encrypted at rest.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic
from clinics.tenancy import ClinicOwnedModel
from documents.file_types import INLINE_IMAGE_TYPES, VIDEO_TYPES, type_label
from patients.models import Patient
from portal.crypto import StrictEncryptedCharField


class RecordDocument(ClinicOwnedModel):
    """One uploaded file on a patient record, by the clinic's staff or by the patient.

    `is_staff_only` documents are the clinic's alone: the patient's pages neither show nor
    serve them, so the patient cannot tell that they exist. Only staff set it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="documents")
    title = StrictEncryptedCharField(_("title"), max_length=200)
    original_filename = StrictEncryptedCharField(_("file name"), max_length=255)
    stored_name = models.CharField(max_length=100, unique=True)
    content_type = models.CharField(max_length=100)  # decided by content, never the browser's
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_from_patient = models.BooleanField(default=False)
    is_staff_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["clinic", "patient", "-created_at"], name="document_patient_newest"
            ),
        ]
        constraints = [
            # A patient's upload is the patient's to see: it cannot be hidden from them.
            models.CheckConstraint(
                condition=~models.Q(is_from_patient=True, is_staff_only=True),
                name="document_patient_upload_not_staff_only",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def type_label(self) -> str:
        return type_label(self.content_type)

    @property
    def is_inline_image(self) -> bool:
        return self.content_type in INLINE_IMAGE_TYPES

    @property
    def is_video(self) -> bool:
        return self.content_type in VIDEO_TYPES

    def is_deletable_by(self, user: object) -> bool:
        """The patient deletes only what they uploaded themselves."""
        return self.is_from_patient and self.uploaded_by_id == getattr(user, "pk", None)
