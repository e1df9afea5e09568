"""Photos and short videos of a clinic's own exercises, in private storage (portal.private_files).

- Accepted by content: JPEG, PNG and WebP photos; MP4, MOV and WebM videos; anything else is
  refused with the list of what is accepted, and nothing is stored. Capped at
  EXERCISE_MEDIA_MAX_BYTES, which the upload view also declares (`upload_limit`), so a larger
  body is refused before it is read.
- Stored under a random name in MEDIA_FOLDER; the URL names the media's own uuid. The folder's
  owner is registered (hooks.py), so the hourly sweep deletes a file whose row never came.
- Served (`media_response`) inline, as the photo or video of an exercise page, with nosniff and
  byte ranges (a phone seeks in a video), to the clinic's team and to a patient of the clinic
  whose program (any version) has the exercise. The base library has no media: a clinic adds
  them to its own copy.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinics.models import Clinic, User
from exercises.models import Exercise, ExerciseMedia, ProgramItem
from patients.models import Patient
from portal import private_files
from portal.private_files import (
    INLINE_IMAGE_TYPES,
    JPEG,
    MP4,
    PNG,
    QUICKTIME,
    VIDEO_TYPES,
    WEBM,
    WEBP,
)

MEDIA_FOLDER = "exercise-media"
ACCEPTED_TYPES = INLINE_IMAGE_TYPES | VIDEO_TYPES
ACCEPTED_DESCRIPTION = gettext_lazy("photos (JPEG, PNG, WebP) and videos (MP4, MOV, WebM)")
EXTENSIONS = {JPEG: "jpg", PNG: "png", WEBP: "webp", MP4: "mp4", QUICKTIME: "mov", WEBM: "webm"}


def media_add(
    *, clinic: Clinic, actor: User, exercise: Exercise, upload: UploadedFile
) -> ExerciseMedia:
    """Store the file and attach it to the clinic's own exercise; ValidationError (nothing
    stored) when empty, too large or of another type."""
    if exercise.clinic_id != clinic.pk:
        raise ValidationError(_("Only the clinic's own exercises take photos and videos."))
    if not upload.size:
        raise ValidationError(_("The file is empty."), code="empty")
    stored = private_files.save_upload(
        upload=upload,
        max_bytes=settings.EXERCISE_MEDIA_MAX_BYTES,
        accepted_types=ACCEPTED_TYPES,
        prefix=MEDIA_FOLDER,
        accepted_description=str(ACCEPTED_DESCRIPTION),
    )
    with private_files.deleted_on_failure(stored), transaction.atomic():
        return ExerciseMedia.objects.create(
            exercise=exercise,
            stored_name=stored.name,
            content_type=stored.content_type,
            size=stored.size,
            uploaded_by=actor,
        )


def media_delete(*, clinic: Clinic, media: ExerciseMedia) -> None:
    if media.exercise.clinic_id != clinic.pk:
        raise ValidationError(_("Only the clinic's own exercises take photos and videos."))
    name = media.stored_name
    media.delete()
    transaction.on_commit(lambda: private_files.delete(name=name))


def media_for_staff(clinic: Clinic, media_id: object) -> ExerciseMedia | None:
    return (
        ExerciseMedia.objects.filter(pk=media_id, exercise__clinic=clinic)
        .select_related("exercise")
        .first()
    )


def media_for_patient(patient: Patient, media_id: object) -> ExerciseMedia | None:
    """The media of an exercise that one of the patient's programs (any version) prescribes,
    in the record's clinic."""
    prescribed = ProgramItem.objects.filter(
        version__program__patient=patient, version__program__clinic_id=patient.clinic_id
    ).values("exercise_id")
    return (
        ExerciseMedia.objects.filter(
            pk=media_id, exercise__clinic_id=patient.clinic_id, exercise_id__in=prescribed
        )
        .select_related("exercise")
        .first()
    )


def media_response(request: HttpRequest, media: ExerciseMedia) -> HttpResponse:
    return private_files.file_response(
        request=request,
        name=media.stored_name,
        filename=f"exercise-{media.exercise_id}.{EXTENSIONS.get(media.content_type, 'bin')}",
        content_type=media.content_type,
        as_attachment=False,
    )


def media_named(names: Iterable[str]) -> set[str]:
    """Which of these stored names a row owns (the orphan sweep's question)."""
    return set(
        ExerciseMedia.objects.filter(stored_name__in=list(names)).values_list(
            "stored_name", flat=True
        )
    )
