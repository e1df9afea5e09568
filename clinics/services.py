"""Writes for clinics: staff invitations, memberships, accounts."""

from __future__ import annotations

import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from clinics.emails import send_templated_mail
from clinics.models import (
    Clinic,
    InvitationBase,
    Membership,
    Role,
    StaffInvitation,
    User,
    token_digest,
)
from clinics.selectors import user_keeps_name


def invitation_new_token() -> tuple[str, str]:
    """A raw token for the link and the digest that is stored."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def invitation_expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS)


def absolute_url(base_url: str, name: str, **kwargs: object) -> str:
    return base_url.rstrip("/") + reverse(name, kwargs=kwargs)


@transaction.atomic
def staff_invite(
    *, clinic: Clinic, actor: User, email: str, role: Role, base_url: str
) -> StaffInvitation:
    email = email.strip().lower()
    if Membership.objects.for_clinic(clinic).active().filter(user__email__iexact=email).exists():
        raise ValidationError(_("This person already works in this clinic."), code="member")
    # A new invitation replaces any earlier pending one for the same address.
    StaffInvitation.objects.for_clinic(clinic).pending().filter(email__iexact=email).update(
        revoked_at=timezone.now()
    )
    token, digest = invitation_new_token()
    invitation = StaffInvitation.objects.create(
        clinic=clinic,
        email=email,
        role=role,
        token_digest=digest,
        created_by=actor,
        expires_at=invitation_expiry(),
    )
    link = absolute_url(base_url, "invitations:staff", token=token)
    language = get_language()
    transaction.on_commit(
        lambda: send_templated_mail(
            template="clinics/emails/staff_invitation",
            to=email,
            context={"clinic": clinic, "role": invitation.get_role_display(), "link": link},
            language=language,
        )
    )
    return invitation


def invitation_by_token(model: type[InvitationBase], token: str) -> InvitationBase | None:
    """The pending invitation for a raw token, or None (unknown, used, revoked or expired)."""
    return (
        model.objects.pending().select_related("clinic").filter(token_digest=token_digest(token))
    ).first()


@transaction.atomic
def staff_invitation_accept(
    *, invitation: StaffInvitation, user: User, display_name: str = ""
) -> Membership:
    """Join the clinic in the invited role; a name given on the way (optional) becomes the name
    colleagues see. An empty one leaves the account's name as it was."""
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise ValidationError(_("This invitation is no longer valid."), code="invalid")
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            _("This invitation was sent to another e-mail address."), code="other_email"
        )
    membership, _created = Membership.objects.update_or_create(
        clinic=invitation.clinic,
        user=user,
        defaults={"role": invitation.role, "is_active": True, "ended_at": None},
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    if display_name:
        user_set_display_name(user=user, display_name=display_name)
    return membership


@transaction.atomic
def user_set_display_name(*, user: User, display_name: str) -> User:
    """The name colleagues see on the team page and in the access log ("" for none), as the
    form cleaned it. Refused for an account that is only a patient's: its name stays on the
    patient record, encrypted, never on the account in clear (`user_keeps_name`)."""
    if not user_keeps_name(user=user):
        raise ValidationError(
            _("Your name is kept with your record at your clinic."), code="patient_account"
        )
    user.display_name = display_name
    user.save(update_fields=["display_name"])
    return user


@transaction.atomic
def clinic_update_settings(*, clinic: Clinic, actor: User, requires_patient_mfa: bool) -> Clinic:
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    clinic.requires_patient_mfa = requires_patient_mfa
    clinic.save(update_fields=["requires_patient_mfa"])
    return clinic


def _ensure_another_admin_remains(clinic: Clinic, membership: Membership) -> None:
    others = (
        Membership.objects.for_clinic(clinic)
        .active()
        .filter(role=Role.CLINIC_ADMIN)
        .exclude(pk=membership.pk)
    )
    if membership.role == Role.CLINIC_ADMIN and not others.exists():
        raise ValidationError(_("A clinic needs at least one clinic admin."), code="last_admin")


@transaction.atomic
def membership_change_role(
    *, clinic: Clinic, actor: User, membership: Membership, role: Role
) -> Membership:
    membership = Membership.objects.for_clinic(clinic).select_for_update().get(pk=membership.pk)
    if role != Role.CLINIC_ADMIN:
        _ensure_another_admin_remains(clinic, membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, clinic: Clinic, actor: User, membership: Membership) -> None:
    membership = Membership.objects.for_clinic(clinic).select_for_update().get(pk=membership.pk)
    _ensure_another_admin_remains(clinic, membership)
    membership.is_active = False
    membership.ended_at = timezone.now()
    membership.save(update_fields=["is_active", "ended_at"])
