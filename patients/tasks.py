"""Celery entry points for imports: ids in, the service does the work (idempotent, acks_late)."""

from celery import shared_task

from patients.measurements.services import import_check, import_commit


@shared_task(acks_late=True)
def import_check_task(clinic_id: int, batch_id: int) -> None:
    import_check(clinic_id=clinic_id, batch_id=batch_id)


@shared_task(acks_late=True)
def import_commit_task(clinic_id: int, batch_id: int) -> None:
    import_commit(clinic_id=clinic_id, batch_id=batch_id)


@shared_task(acks_late=True)
def alerts_check_missing_readings_task() -> int:
    """Daily: every clinic in turn, each with its clinic id (never a cross-clinic query)."""
    from clinics.models import Clinic
    from patients.measurements.alerts import alerts_check_missing_readings

    return sum(
        alerts_check_missing_readings(clinic_id=clinic_id)
        for clinic_id in Clinic.objects.values_list("pk", flat=True)
    )


@shared_task(acks_late=True)
def imports_purge_abandoned_task() -> int:
    """Hourly: cancel imports nobody confirmed within two days and delete their files."""
    from clinics.models import Clinic
    from patients.measurements.services import imports_purge_abandoned

    return sum(
        imports_purge_abandoned(clinic_id=clinic_id)
        for clinic_id in Clinic.objects.values_list("pk", flat=True)
    )
