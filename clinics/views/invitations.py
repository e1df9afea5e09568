"""Invitation links (e-mail or QR code): a landing page, then acceptance by a signed-in user."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from clinics.access import public
from clinics.invitations import (
    SESSION_KEY,
    invitation_accept,
    invitation_for,
    pending_invitation_remember,
)
from clinics.models import Membership
from clinics.tenancy import clinic_set_active


def _landing(request: HttpRequest, kind: str, token: str) -> HttpResponse:
    invitation = invitation_for(kind, token)
    if invitation is None:
        return render(request, "clinics/invitation_invalid.html", status=404)
    if not request.user.is_authenticated:
        pending_invitation_remember(request, kind, token)
        return render(
            request,
            "clinics/invitation_landing.html",
            {"invitation": invitation, "kind": kind, "next": request.path},
        )
    if request.method == "POST":
        try:
            accepted = invitation_accept(kind, request=request, invitation=invitation)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("home")
        request.session.pop(SESSION_KEY, None)
        if isinstance(accepted, Membership):
            clinic_set_active(request, accepted)
        messages.success(request, _("Welcome to %(clinic)s.") % {"clinic": invitation.clinic})
        return redirect("home")
    return render(
        request, "clinics/invitation_accept.html", {"invitation": invitation, "kind": kind}
    )


@never_cache
@public
def staff_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return _landing(request, "staff", token)


@never_cache
@public
def patient_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return _landing(request, "patient", token)
