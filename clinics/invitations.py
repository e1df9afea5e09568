"""The invitation a visitor is accepting, remembered in the session while they sign up or in."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.http import HttpRequest

from clinics.models import InvitationBase, StaffInvitation
from clinics.services import invitation_by_token

SESSION_KEY = "pending_invitation"


def invitation_models() -> dict[str, type[InvitationBase]]:
    from patients.models import PatientInvitation

    return {"staff": StaffInvitation, "patient": PatientInvitation}


def pending_invitation_remember(request: HttpRequest, kind: str, token: str) -> None:
    request.session[SESSION_KEY] = {"kind": kind, "token": token}
    invitation = invitation_by_token(invitation_models()[kind], token)
    email = getattr(invitation, "email", "")
    if email:
        # The link arrived at this address: signing up with it needs no second confirmation.
        get_adapter(request).stash_verified_email(request, email)


def pending_invitation(request: HttpRequest) -> InvitationBase | None:
    pending = request.session.get(SESSION_KEY)
    if not isinstance(pending, dict) or pending.get("kind") not in ("staff", "patient"):
        return None
    return invitation_by_token(invitation_models()[pending["kind"]], str(pending.get("token")))
