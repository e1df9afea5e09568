"""Celery entry points, thin: they call a service. The schedule is CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from clinics.models import PurgeOutcome
from clinics.retention import purges_run
from portal import private_files


@shared_task(acks_late=True)
def retention_purge() -> dict[str, int]:
    """Hourly: every retention purge (clinics.retention); rows purged per purge."""
    runs = purges_run()
    if failed := [run.name for run in runs if run.outcome == PurgeOutcome.FAILED]:
        raise RuntimeError(f"Retention purges failed: {', '.join(failed)}")
    return {run.name: run.rows_purged for run in runs}


@shared_task(acks_late=True)
def private_file_orphans_sweep() -> int:
    """Hourly: private files no row names (their request died before the row was committed, or
    the row went with its patient record), in every folder an app declared the owner of."""
    return private_files.orphans_delete()
