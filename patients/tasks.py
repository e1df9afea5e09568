"""Celery entry points for imports: ids in, the service does the work (idempotent, acks_late)."""

from celery import shared_task

from patients.measurements.services import import_check, import_commit


@shared_task(acks_late=True)
def import_check_task(clinic_id: int, batch_id: int) -> None:
    import_check(clinic_id=clinic_id, batch_id=batch_id)


@shared_task(acks_late=True)
def import_commit_task(clinic_id: int, batch_id: int) -> None:
    import_commit(clinic_id=clinic_id, batch_id=batch_id)
