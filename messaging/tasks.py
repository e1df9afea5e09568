"""Celery entry points, thin: they call a service. The schedule is CELERY_BEAT_SCHEDULE."""

from celery import shared_task

from messaging.notifications import notifications_send_due


@shared_task(acks_late=True)
def chat_notifications_send() -> int:
    """After a reporter's message, and every few minutes for notices held back by the quarter
    hour: e-mail the counsellors who have a message waiting."""
    return notifications_send_due()
