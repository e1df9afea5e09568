"""Celery entry points for imports: ids in, the service does the work (idempotent, acks_late)."""

from collections.abc import Callable

from celery import shared_task

from clinics.models import Clinic
from patients.measurements.alerts import alerts_check_missing_readings
from patients.measurements.services import import_check, import_commit


def _each_clinic(service: Callable[..., int]) -> int:
    """Run a per-clinic service for every clinic in turn, each with its own clinic id (never
    one cross-clinic query); the total of what it did."""
    return sum(service(clinic_id=pk) for pk in Clinic.objects.values_list("pk", flat=True))


@shared_task(acks_late=True)
def import_check_task(clinic_id: int, batch_id: int) -> None:
    import_check(clinic_id=clinic_id, batch_id=batch_id)


@shared_task(acks_late=True)
def import_commit_task(clinic_id: int, batch_id: int) -> None:
    import_commit(clinic_id=clinic_id, batch_id=batch_id)


@shared_task(acks_late=True)
def alerts_check_missing_readings_task() -> int:
    """Daily: no-reading alerts, clinic by clinic."""
    return _each_clinic(alerts_check_missing_readings)
