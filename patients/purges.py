"""The retention purges of patients' data (clinics.retention runs them; the periods are the
personal-data declarations in patients.personal_data)."""

import datetime

from django.db import models

from clinics import retention
from patients.measurements.services import IN_PROGRESS, import_abandon, import_cancel
from patients.models import ImportBatch, ImportStatus, PatientInvitation
from portal.personal_data import declaration_for

# An import waits for its columns or for its confirmation; after that it runs or has ended.
WAITING = (ImportStatus.NEEDS_MAPPING, ImportStatus.PREVIEWED)


def patient_invitations_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Used, revoked or never used: an invitation goes a while after its expiry either way."""
    return PatientInvitation.objects.filter(expires_at__lt=cutoff)


def imports_abandoned(cutoff: datetime.datetime) -> models.QuerySet:
    """Waiting for the user one period after the upload, or still queued or running one more
    period later (twice the declared period: no worker is coming back for it)."""
    stuck_cutoff = cutoff - declaration_for(ImportBatch).retention
    return ImportBatch.objects.filter(
        models.Q(status__in=WAITING, created_at__lt=cutoff)
        | models.Q(status__in=IN_PROGRESS, created_at__lt=stuck_cutoff)
    )


def imports_cancel(pks: list[int]) -> int:
    """End each abandoned import through its clinic, which deletes its private files (an
    uploaded export must not linger): a waiting one is cancelled, a stuck one failed. The batch
    row stays with the record. A commit still running (its row locked) is skipped."""
    batches = list(ImportBatch.objects.filter(pk__in=pks).select_related("clinic"))
    ended = 0
    for batch in batches:
        if batch.status in IN_PROGRESS:
            batch = import_abandon(clinic=batch.clinic, batch=batch)
        else:
            batch = import_cancel(clinic=batch.clinic, batch=batch)
        ended += batch.status in (ImportStatus.CANCELLED, ImportStatus.FAILED)
    return ended


def register_all() -> None:
    retention.register(
        name="patient-invitations",
        declaration=declaration_for(PatientInvitation),
        expired=patient_invitations_expired,
    )
    retention.register(
        name="imports-abandoned",
        declaration=declaration_for(ImportBatch),
        expired=imports_abandoned,
        action=imports_cancel,
    )
