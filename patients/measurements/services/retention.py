"""Retention of imports: uploads nobody went on with are cancelled and their files deleted."""

from __future__ import annotations

import datetime

from django.utils import timezone

from patients.measurements.services.imports import import_cancel
from patients.models import ImportBatch, ImportStatus

ABANDONED_AFTER = datetime.timedelta(hours=48)


def imports_purge_abandoned(*, clinic_id: int, now: datetime.datetime | None = None) -> int:
    """Cancel imports left waiting (for columns or confirmation) for two days, and delete their
    files: an uploaded export must not linger in private storage. Idempotent."""
    cutoff = (now or timezone.now()) - ABANDONED_AFTER
    waiting = ImportBatch.objects.for_clinic(clinic_id).filter(
        status__in=(ImportStatus.PREVIEWED, ImportStatus.NEEDS_MAPPING), created_at__lt=cutoff
    )
    count = 0
    for batch in waiting:
        import_cancel(clinic=batch.clinic, batch=batch)
        count += 1
    return count
