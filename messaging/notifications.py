"""E-mail that a message waits (E2EE.md check 11), for both channels: a fixed template that
names nothing but the portal, never the content, nickname, patient, organisation or clinic, and
at most one e-mail per person per quarter hour however many messages arrive.

A reporter's message marks every counsellor who could read it (a current certificate of the
clinic), a patient's message every member of the clinic's team who could, and the team's answer
the patient, as having one waiting (`ChatNotification.pending_since`); sending happens after the
commit, and a beat task sends what was held back once the quarter hour is over.
"""

from __future__ import annotations

import datetime

from celery import current_app
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinics.emails import send_templated_mail_in_every_language
from clinics.models import Membership, User
from messaging.models import PURPOSE_ROLES, Certificate, ChatKey, ChatNotification, Purpose

QUIET_PERIOD = datetime.timedelta(minutes=15)
TEMPLATE = "messaging/emails/new_message"
SEND_TASK = "messaging.tasks.chat_notifications_send"


def counsellors_notify(*, clinic_id: int) -> None:
    staff_notify(clinic_id=clinic_id, purpose=Purpose.COUNSELLOR)


def staff_notify(*, clinic_id: int, purpose: Purpose) -> None:
    """Mark a waiting message for each member of the clinic who can read the purpose's channel
    (an active member in its role, with a certified key), in one statement, then, after the
    commit, send what is due. A mark already waiting keeps its time."""
    notice = ChatNotification._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {notice} (clinic_id, user_id, pending_since)
                SELECT DISTINCT membership.clinic_id, membership.user_id, now()
                FROM {Membership._meta.db_table} membership
                JOIN {User._meta.db_table} account ON account.id = membership.user_id
                JOIN {ChatKey._meta.db_table} staff_key
                    ON staff_key.user_id = membership.user_id
                JOIN {Certificate._meta.db_table} certificate
                    ON certificate.staff_key_id = staff_key.id
                    AND certificate.clinic_id = membership.clinic_id
                WHERE membership.clinic_id = %s AND membership.role = ANY(%s)
                    AND membership.is_active AND account.is_active
                    AND certificate.purpose = %s AND certificate.revoked_at IS NULL
                {_KEEP_WAITING}""",  # noqa: S608
            [clinic_id, list(PURPOSE_ROLES[purpose]), purpose],
        )
    _send_after_commit()


def user_notify(*, clinic_id: int, user_id: int) -> None:
    """Mark a waiting message for one person (a patient: the team answered)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {ChatNotification._meta.db_table} (clinic_id, user_id, pending_since)
                VALUES (%s, %s, now()) {_KEEP_WAITING}""",  # noqa: S608
            [clinic_id, user_id],
        )
    _send_after_commit()


_KEEP_WAITING = f"""ON CONFLICT (clinic_id, user_id) DO UPDATE SET pending_since =
    COALESCE({ChatNotification._meta.db_table}.pending_since, EXCLUDED.pending_since)"""


def _send_after_commit() -> None:
    # By name: messaging.tasks imports this module.
    transaction.on_commit(lambda: current_app.send_task(SEND_TASK))


def notifications_send_due(now: datetime.datetime | None = None) -> int:
    """Send every waiting notice whose counsellor was not told in the last quarter hour; returns
    how many e-mails went out."""
    now = now or timezone.now()
    due = ChatNotification.objects.filter(pending_since__isnull=False).filter(
        Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=now - QUIET_PERIOD)
    )
    sent = 0
    for notice_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            notice = (
                ChatNotification.objects.select_for_update(skip_locked=True)
                .filter(pk=notice_id, pending_since__isnull=False)
                .select_related("user")
                .first()
            )
            if notice is None or (
                notice.last_sent_at is not None and notice.last_sent_at > now - QUIET_PERIOD
            ):
                continue
            notice.last_sent_at, notice.pending_since = now, None
            notice.save(update_fields=["last_sent_at", "pending_since"])
            if notice.user.is_active:
                send_templated_mail_in_every_language(
                    template=TEMPLATE, to=notice.user.email, context={}
                )
                sent += 1
    return sent
