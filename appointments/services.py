"""Appointments' writes: plan, change and cancel an appointment (the clinic's professionals and
admins), issue and revoke a patient's calendar feed (the patient).

An appointment is cancelled, never deleted, so the patient sees that it was; each change raises
its `sequence`, which calendars read to replace their copy. A feed's token is returned once,
to be shown once: only its digest is stored.
"""

from __future__ import annotations

import datetime
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, CalendarFeed
from appointments.selectors import appointment_professionals
from clinics.models import Clinic, User, token_digest
from patients.models import Patient

# 32 random bytes (256 bits), URL-safe: 43 characters.
FEED_TOKEN_BYTES = 32


def _check_professional(clinic: Clinic, professional: User) -> None:
    if not appointment_professionals(clinic=clinic).filter(pk=professional.pk).exists():
        raise ValidationError(_("Choose someone who works in this clinic."))


@transaction.atomic
def appointment_plan(
    *,
    clinic: Clinic,
    actor: User,
    patient: Patient,
    starts_at: datetime.datetime,
    duration_minutes: int,
    professional: User | None = None,
    location: str = "",
    video_url: str = "",
    note: str = "",
) -> Appointment:
    """A new appointment with the patient, with `professional` (by default the planner)."""
    if patient.clinic_id != clinic.pk:
        raise ValidationError(_("This patient is not a patient of this clinic."))
    professional = professional or actor
    _check_professional(clinic, professional)
    now = timezone.now()
    appointment = Appointment(
        clinic=clinic,
        patient=patient,
        professional=professional,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        location=location,
        video_url=video_url,
        note=note,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    appointment.full_clean()
    appointment.save()
    return appointment


@transaction.atomic
def appointment_update(
    *,
    clinic: Clinic,
    actor: User,
    appointment: Appointment,
    starts_at: datetime.datetime,
    duration_minutes: int,
    professional: User | None = None,
    location: str = "",
    video_url: str = "",
    note: str = "",
) -> Appointment:
    """Reschedule or change an appointment that is not cancelled; with `professional` (by
    default the one changing it)."""
    appointment = Appointment.objects.for_clinic(clinic).select_for_update().get(pk=appointment.pk)
    if appointment.is_cancelled:
        raise ValidationError(_("This appointment was cancelled and can no longer be changed."))
    professional = professional or actor
    _check_professional(clinic, professional)
    appointment.starts_at = starts_at
    appointment.duration_minutes = duration_minutes
    appointment.professional = professional
    appointment.location = location
    appointment.video_url = video_url
    appointment.note = note
    appointment.updated_at = timezone.now()
    appointment.sequence += 1
    appointment.full_clean()
    appointment.save()
    return appointment


@transaction.atomic
def appointment_cancel(*, clinic: Clinic, actor: User, appointment: Appointment) -> Appointment:
    """Cancel an appointment; cancelling one that is cancelled already changes nothing."""
    appointment = Appointment.objects.for_clinic(clinic).select_for_update().get(pk=appointment.pk)
    if not appointment.is_cancelled:
        appointment.cancelled_at = appointment.updated_at = timezone.now()
        appointment.sequence += 1
        appointment.save(update_fields=["cancelled_at", "updated_at", "sequence"])
    return appointment


@transaction.atomic
def calendar_feed_issue(
    *, clinic: Clinic, actor: User, patient: Patient, language: str
) -> tuple[CalendarFeed, str]:
    """A new secret feed link for the patient's record, replacing (and so ending) any earlier
    one; returns the feed and its token, which is not stored and cannot be shown again."""
    if patient.clinic_id != clinic.pk or patient.user_id != actor.pk:
        raise ValidationError(_("Only the patient can make a calendar link for their record."))
    # One link per record: two clicks at once queue here, the second replacing the first.
    Patient.objects.for_clinic(clinic).select_for_update().get(pk=patient.pk)
    CalendarFeed.objects.for_clinic(clinic).filter(patient=patient).delete()
    token = secrets.token_urlsafe(FEED_TOKEN_BYTES)
    feed = CalendarFeed.objects.create(
        clinic=clinic, patient=patient, token_digest=token_digest(token), language=language
    )
    return feed, token


@transaction.atomic
def calendar_feed_revoke(*, clinic: Clinic, actor: User, patient: Patient) -> bool:
    """End the record's feed link; whether there was one."""
    deleted, _counts = CalendarFeed.objects.for_clinic(clinic).filter(patient=patient).delete()
    return deleted > 0
