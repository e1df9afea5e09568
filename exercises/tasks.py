"""Celery entry points of the exercises app."""

from celery import shared_task

from exercises.reminders import reminders_send_due


@shared_task(acks_late=True)
def exercise_reminders_send() -> int:
    """Daily, in the morning: the day's exercise reminders."""
    return reminders_send_due()
