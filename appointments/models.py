"""Appointments a professional plans for a patient record, and the patient's calendar feed.

Times are stored as UTC instants (`starts_at`); what a person typed in Europe/Amsterdam local
time is turned into one by `appointments.times`, which refuses a local time that does not
exist or happens twice. Free text (note, location, video link) is encrypted at rest: a
location can be a patient's home address and a video link a meeting's only key.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic
from clinics.tenancy import ClinicOwnedModel
from patients.models import Patient
from portal.crypto import StrictEncryptedCharField, StrictEncryptedTextField

MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 480


class Appointment(ClinicOwnedModel):
    """One planned appointment. Cancelled, never deleted: the patient sees that it was."""

    # The calendar UID's random part: stable across edits, and it tells nothing about the row's
    # id or the clinic (an .ics file travels to calendar providers).
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="appointments")
    # Who the appointment is with; kept (empty) when that account is deleted.
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        validators=[
            MinValueValidator(MIN_DURATION_MINUTES),
            MaxValueValidator(MAX_DURATION_MINUTES),
        ],
    )
    location = StrictEncryptedCharField(_("location"), max_length=200, blank=True)
    # https only, checked by full_clean() in the services too: the link becomes an href.
    video_url = StrictEncryptedCharField(
        _("video link"),
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["https"])],
    )
    # For the patient: shown on their appointments page, never in a calendar file.
    note = StrictEncryptedTextField(_("note for the patient"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The iCalendar SEQUENCE: raised by every change, so a calendar replaces its copy.
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [
            models.Index(fields=["clinic", "patient", "starts_at"], name="appointment_by_patient")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    duration_minutes__gte=MIN_DURATION_MINUTES,
                    duration_minutes__lte=MAX_DURATION_MINUTES,
                ),
                name="appointment_duration_range",
            )
        ]

    def __str__(self) -> str:
        return str(self.uid)

    @property
    def ends_at(self) -> datetime.datetime:
        return self.starts_at + datetime.timedelta(minutes=self.duration_minutes)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class CalendarFeed(ClinicOwnedModel):
    """A patient record's private calendar subscription: at most one per record. The secret
    token is in the URL only; the table keeps its SHA-256 digest, so a copy of the database
    opens no feed. Revoked by deleting the row; a new link replaces the row."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.OneToOneField(Patient, on_delete=models.CASCADE, related_name="calendar_feed")
    token_digest = models.CharField(max_length=64, unique=True)
    # The language the patient made the link in: the feed has no session to say it.
    language = models.CharField(max_length=8, default="nl")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"feed {self.pk}"
