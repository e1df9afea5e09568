"""Celery entry points, thin: they call a service. The schedule is CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from clinics.models import PurgeOutcome
from clinics.retention import purges_run


@shared_task(acks_late=True)
def retention_purge() -> dict[str, int]:
    """Hourly: every retention purge (clinics.retention); rows purged per purge."""
    runs = purges_run()
    if failed := [run.name for run in runs if run.outcome == PurgeOutcome.FAILED]:
        raise RuntimeError(f"Retention purges failed: {', '.join(failed)}")
    return {run.name: run.rows_purged for run in runs}
