"""Invitation kinds, and the invitation a visitor is accepting, remembered in the session while
they sign up or in.

Kinds are registered, not named here: clinics registers its staff invitations below, and each
feature app registers its own in its AppConfig.ready() (patients: "patient"), so this layer
knows no feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.adapter import get_adapter
from django.http import HttpRequest

from clinics.models import InvitationBase, StaffInvitation
from clinics.services import invitation_by_token, staff_invitation_accept

SESSION_KEY = "pending_invitation"


@dataclass(frozen=True)
class InvitationKind:
    model: type[InvitationBase]
    # Links the signed-in user (raises ValidationError when they may not accept it); returns the
    # Membership for a staff invitation, so the new clinic becomes the active one.
    accept: Callable[..., object]
    # Called with the request and what `accept` returned, once it is linked: where a kind that
    # links an account to a record has the link logged (patients.record_access).
    accepted: Callable[[HttpRequest, object], None] | None = None


_KINDS: dict[str, InvitationKind] = {}


def invitation_kind_register(
    name: str,
    *,
    model: type[InvitationBase],
    accept: Callable[..., object],
    accepted: Callable[[HttpRequest, object], None] | None = None,
) -> None:
    _KINDS[name] = InvitationKind(model, accept, accepted)


def invitation_kind(name: str) -> InvitationKind | None:
    return _KINDS.get(name)


def invitation_accept(
    name: str, *, request: HttpRequest, invitation: InvitationBase, **details: str
) -> object:
    """The signed-in user accepts; the kind's `accepted` hook runs once it is linked. `details`
    are what the acceptance form asked for this kind (a staff member's name)."""
    kind = _KINDS[name]
    result = kind.accept(invitation=invitation, user=request.user, **details)
    if kind.accepted is not None:
        kind.accepted(request, result)
    return result


invitation_kind_register("staff", model=StaffInvitation, accept=staff_invitation_accept)


def invitation_for(name: str, token: str) -> InvitationBase | None:
    kind = invitation_kind(name)
    return invitation_by_token(kind.model, token) if kind is not None else None


def pending_invitation_remember(request: HttpRequest, kind: str, token: str) -> None:
    request.session[SESSION_KEY] = {"kind": kind, "token": token}
    invitation = invitation_for(kind, token)
    email = getattr(invitation, "email", "")
    if email:
        # The link arrived at this address: signing up with it needs no second confirmation.
        get_adapter(request).stash_verified_email(request, email)


def pending_invitation(request: HttpRequest) -> InvitationBase | None:
    pending = request.session.get(SESSION_KEY)
    if not isinstance(pending, dict):
        return None
    return invitation_for(str(pending.get("kind")), str(pending.get("token")))
