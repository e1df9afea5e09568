"""The retention purges of patients' data (clinics.retention runs them; the periods are the
personal-data declarations in patients.personal_data)."""

import datetime

from django.db import models

from clinics import retention
from patients.measurements.services import import_cancel
from patients.models import ImportBatch, ImportStatus, PatientInvitation
from portal.personal_data import declaration_for

# An import waits for its columns or for its confirmation; after that it runs or has ended.
WAITING = (ImportStatus.NEEDS_MAPPING, ImportStatus.PREVIEWED)


def patient_invitations_expired(cutoff: datetime.datetime) -> models.QuerySet:
    """Used, revoked or never used: an invitation goes a while after its expiry either way."""
    return PatientInvitation.objects.filter(expires_at__lt=cutoff)


def imports_abandoned(cutoff: datetime.datetime) -> models.QuerySet:
    return ImportBatch.objects.filter(status__in=WAITING, created_at__lt=cutoff)


def imports_cancel(pks: list[int]) -> int:
    """Cancel each abandoned import through its clinic, which deletes its private files (an
    uploaded export must not linger); the batch row stays, cancelled, with the record."""
    batches = list(ImportBatch.objects.filter(pk__in=pks).select_related("clinic"))
    for batch in batches:
        import_cancel(clinic=batch.clinic, batch=batch)
    return len(batches)


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
