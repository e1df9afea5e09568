"""Writes for patient records: create, update, invite, link an account."""

from __future__ import annotations

import datetime

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from clinics.emails import send_templated_mail
from clinics.models import Clinic, Membership, User
from clinics.services import absolute_url, invitation_expiry, invitation_new_token
from patients.models import Patient, PatientInvitation, PatientNameToken
from portal.crypto import blind_index_key, name_index_digests

PATIENT_FIELDS = ("given_name", "family_name", "date_of_birth", "email", "phone", "notes")


def patient_index_names(patient: Patient, *, key: bytes | None = None) -> None:
    """(Re)build the blind index of this patient's names."""
    PatientNameToken.objects.filter(patient=patient).delete()
    digests = name_index_digests(patient.given_name, patient.family_name, key=key)
    PatientNameToken.objects.bulk_create(
        [PatientNameToken(clinic_id=patient.clinic_id, patient=patient, digest=d) for d in digests]
    )


def patients_reindex_names(*, batch_size: int = 500) -> str:
    """After a key rotation: rebuild the name index of every patient whose tokens were made
    under another key, clinic by clinic, a batch a transaction. Safe to run again."""
    key = blind_index_key()
    reindexed = total = 0
    for clinic_id in Clinic.objects.order_by("pk").values_list("pk", flat=True):
        ids = Patient.objects.for_clinic(clinic_id).order_by("pk").values_list("pk", flat=True)
        for start in range(0, ids.count(), batch_size):
            chunk = list(ids[start : start + batch_size])
            with transaction.atomic():
                batch = (
                    Patient.objects.for_clinic(clinic_id)
                    .select_for_update()
                    .filter(pk__in=chunk)
                    .prefetch_related("name_tokens")
                )
                for patient in batch:
                    expected = name_index_digests(patient.given_name, patient.family_name, key=key)
                    if {t.digest for t in patient.name_tokens.all()} != expected:
                        patient_index_names(patient, key=key)
                        reindexed += 1
            total += len(chunk)
    return f"Patient name index: {reindexed} of {total} patients re-indexed."


def _validate_date_of_birth(date_of_birth: datetime.date) -> None:
    if date_of_birth > timezone.localdate():
        raise ValidationError(
            {"date_of_birth": _("The date of birth cannot be in the future.")}, code="future"
        )


@transaction.atomic
def patient_create(
    *,
    clinic: Clinic,
    actor: User,
    given_name: str,
    family_name: str,
    date_of_birth: datetime.date,
    email: str = "",
    phone: str = "",
    notes: str = "",
) -> Patient:
    _validate_date_of_birth(date_of_birth)
    patient = Patient.objects.create(
        clinic=clinic,
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        email=email.strip().lower(),
        phone=phone.strip(),
        notes=notes,
    )
    patient_index_names(patient)
    return patient


@transaction.atomic
def patient_update(*, clinic: Clinic, actor: User, patient: Patient, **changes: object) -> Patient:
    patient = Patient.objects.for_clinic(clinic).select_for_update().get(pk=patient.pk)
    unknown = set(changes) - set(PATIENT_FIELDS)
    if unknown:
        raise TypeError(f"Not patient fields: {sorted(unknown)}")
    if "date_of_birth" in changes:
        _validate_date_of_birth(changes["date_of_birth"])
    for field, value in changes.items():
        setattr(patient, field, value.strip() if isinstance(value, str) else value)
    patient.save()
    if {"given_name", "family_name"} & set(changes):
        patient_index_names(patient)
    return patient


def patient_may_have_account(patient: Patient) -> bool:
    return patient.age() >= settings.PATIENT_MINIMUM_AGE


@transaction.atomic
def patient_invite(
    *, clinic: Clinic, actor: User, patient: Patient, email: str, base_url: str
) -> tuple[PatientInvitation, str]:
    """A single-use link (e-mailed when an address is given) and the token for its QR code."""
    patient = Patient.objects.for_clinic(clinic).select_for_update().get(pk=patient.pk)
    if patient.user_id is not None:
        raise ValidationError(_("This patient already has a linked account."), code="linked")
    if not patient_may_have_account(patient):
        raise ValidationError(
            _("Patients under %(age)d cannot have an account.")
            % {"age": settings.PATIENT_MINIMUM_AGE},
            code="too_young",
        )
    PatientInvitation.objects.for_clinic(clinic).pending().filter(patient=patient).update(
        revoked_at=timezone.now()
    )
    token, digest = invitation_new_token()
    invitation = PatientInvitation.objects.create(
        clinic=clinic,
        patient=patient,
        email=email.strip().lower(),
        token_digest=digest,
        created_by=actor,
        expires_at=invitation_expiry(),
    )
    link = absolute_url(base_url, "invitations:patient", token=token)
    if invitation.email:
        language = get_language()
        transaction.on_commit(
            lambda: send_templated_mail(
                template="patients/emails/patient_invitation",
                to=invitation.email,
                context={"clinic": clinic, "link": link},
                language=language,
            )
        )
    return invitation, link


def _ensure_invited_person(invitation: PatientInvitation, user: User) -> None:
    """Only the invited person links their account (SECURITY.md T40): whoever holds the link must
    also control the address it was sent to, shown by a verified address on their account. A
    link handed over in person (a QR code, no address) needs a verified address of their own.
    Staff of the clinic never accept its patient invitations: a professional who opened a
    patient's link would otherwise read the record as that patient, outside the access log."""
    if Membership.objects.for_clinic(invitation.clinic_id).active().filter(user=user).exists():
        raise ValidationError(
            _("Staff of this clinic cannot accept a patient invitation of the clinic."),
            code="staff",
        )
    verified = EmailAddress.objects.filter(user=user, verified=True)
    if invitation.email:
        verified = verified.filter(email__iexact=invitation.email)
    if not verified.exists():
        raise ValidationError(
            _(
                "This invitation was sent to another e-mail address: sign in or sign up with "
                "the address it was sent to."
            )
            if invitation.email
            else _("Confirm your e-mail address first, then open the invitation again."),
            code="other_email" if invitation.email else "unverified",
        )


@transaction.atomic
def patient_invitation_accept(*, invitation: PatientInvitation, user: User) -> Patient:
    invitation = (
        PatientInvitation.objects.select_for_update()
        .select_related("patient")
        .get(pk=invitation.pk)
    )
    if not invitation.is_pending:
        raise ValidationError(_("This invitation is no longer valid."), code="invalid")
    patient = invitation.patient
    if patient.user_id is not None:
        raise ValidationError(_("This patient already has a linked account."), code="linked")
    if not patient_may_have_account(patient):
        raise ValidationError(
            _("Patients under %(age)d cannot have an account.")
            % {"age": settings.PATIENT_MINIMUM_AGE},
            code="too_young",
        )
    if Patient.objects.for_clinic(invitation.clinic_id).filter(user=user).exists():
        raise ValidationError(
            _("Your account is already linked to a record in this clinic."), code="duplicate"
        )
    _ensure_invited_person(invitation, user)
    patient.user = user
    patient.save(update_fields=["user", "updated_at"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return patient
