"""E-mail reminders of the day's exercises, on the days the patient chose (ExerciseReminder).

The e-mail says only that today's exercises are ready, in every language of the site (the
patient's is not known outside a request): never an exercise, a diagnosis or the clinic's name,
since an e-mail may be read by anyone at the patient's screen. The daily beat task
`exercise-reminders` sends them in the morning; `last_sent_on` keeps it at one a day when the
task runs twice. Only a record linked to an active account with an address, and only on a day
one of its programs prescribes something.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from clinics.emails import send_templated_mail_in_every_language
from exercises import selectors
from exercises.models import ExerciseReminder
from patients.models import Patient

TEMPLATE = "exercises/emails/reminder"


def reminder_days_set(patient: Patient, weekdays: list[int]) -> ExerciseReminder:
    reminder, _created = ExerciseReminder.objects.update_or_create(
        patient=patient,
        defaults={"clinic_id": patient.clinic_id, "weekdays": sorted(set(weekdays))},
    )
    return reminder


def reminders_send_due(today: datetime.date | None = None) -> int:
    """Send today's reminders; returns how many e-mails went out."""
    today = today or timezone.localdate()
    due = ExerciseReminder.objects.filter(weekdays__contains=[today.isoweekday()]).exclude(
        last_sent_on=today
    )
    sent = 0
    for reminder_id in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            # Locks the reminder row only (the account may be null: no outer join is locked).
            reminder = (
                ExerciseReminder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=reminder_id)
                .exclude(last_sent_on=today)
                .select_related("patient__user")
                .first()
            )
            if reminder is None:
                continue
            user = reminder.patient.user
            if user is None or not user.is_active or not user.email:
                continue
            if not _exercises_today(reminder.patient, today):
                continue
            reminder.last_sent_on = today
            reminder.save(update_fields=["last_sent_on"])
            send_templated_mail_in_every_language(template=TEMPLATE, to=user.email, context={})
            sent += 1
    return sent


def _exercises_today(patient: Patient, today: datetime.date) -> bool:
    return any(
        entry.due is not False
        for program_day in selectors.patient_days(patient, today)
        for entry in program_day.items
    )
