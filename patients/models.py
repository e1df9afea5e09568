from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, InvitationBase
from clinics.tenancy import ClinicOwnedModel
from portal.crypto import (
    StrictEncryptedCharField,
    StrictEncryptedDateField,
    StrictEncryptedEmailField,
    StrictEncryptedTextField,
)


def age_on(date_of_birth: datetime.date, day: datetime.date) -> int:
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


class Patient(ClinicOwnedModel):
    """A clinic's patient record. Identifying fields are encrypted at rest.

    `user` links the record to the patient's own account once they accepted an invitation; a
    record of someone under 16 exists without a login.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    given_name = StrictEncryptedCharField(_("given name"), max_length=100)
    family_name = StrictEncryptedCharField(_("family name"), max_length=100)
    date_of_birth = StrictEncryptedDateField(_("date of birth"))
    email = StrictEncryptedEmailField(_("e-mail address"), max_length=254, blank=True)
    phone = StrictEncryptedCharField(_("phone number"), max_length=40, blank=True)
    notes = StrictEncryptedTextField(_("notes"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_records",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "user"],
                condition=models.Q(user__isnull=False),
                name="patient_one_record_per_user_per_clinic",
            )
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age(self, today: datetime.date | None = None) -> int:
        return age_on(self.date_of_birth, today or timezone.localdate())


class PatientNameToken(ClinicOwnedModel):
    """Blind index: keyed hashes of name prefixes, to search names that SQL cannot read."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="name_tokens")
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "digest"], name="name_token_unique")
        ]
        indexes = [models.Index(fields=["clinic", "digest"], name="name_token_lookup")]


class PatientInvitation(InvitationBase):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patient_invitations")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    email = StrictEncryptedEmailField(_("e-mail address"), max_length=254, blank=True)

    class Meta:
        ordering = ["-created_at"]
