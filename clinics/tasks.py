"""Celery entry points, thin: they call a service. The schedule is CELERY_BEAT_SCHEDULE."""

from celery import shared_task
from django.core import management

from clinics.services import invitations_purge_expired as purge


@shared_task(acks_late=True)
def invitations_purge_expired() -> int:
    return purge()


@shared_task(acks_late=True)
def sessions_clear_expired() -> None:
    management.call_command("clearsessions")
