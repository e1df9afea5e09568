"""Invitation links (e-mail or QR code): a landing page, then acceptance by a signed-in user."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from clinics.access import public
from clinics.forms import DisplayNameForm
from clinics.invitations import (
    SESSION_KEY,
    invitation_accept,
    invitation_for,
    pending_invitation_remember,
)
from clinics.models import Membership
from clinics.tenancy import clinic_set_active
from portal.http import posted_data


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
    # A colleague is asked for the name the team will see; a patient's name is on the record.
    form = (
        DisplayNameForm(posted_data(request), initial={"display_name": request.user.display_name})
        if kind == "staff"
        else None
    )
    if request.method == "POST" and (form is None or form.is_valid()):
        details = form.cleaned_data if form is not None else {}
        try:
            accepted = invitation_accept(kind, request=request, invitation=invitation, **details)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("home")
        request.session.pop(SESSION_KEY, None)
        if isinstance(accepted, Membership):
            clinic_set_active(request, accepted)
        messages.success(request, _("Welcome to %(clinic)s.") % {"clinic": invitation.clinic})
        return redirect("home")
    return render(
        request,
        "clinics/invitation_accept.html",
        {"invitation": invitation, "kind": kind, "form": form},
    )


@never_cache
@public
def staff_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return _landing(request, "staff", token)


@never_cache
@public
def patient_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return _landing(request, "patient", token)
