"""Clinic admin pages: the team, its roles and invitations."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.access import clinic_roles
from clinics.forms import MembershipRoleForm, StaffInviteForm
from clinics.models import Membership, Role, StaffInvitation
from clinics.services import membership_change_role, membership_remove, staff_invite
from clinics.tenancy import get_for_clinic_or_404
from portal.http import posted_data


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@clinic_roles(Role.CLINIC_ADMIN)
def staff_list(request: HttpRequest) -> HttpResponse:
    clinic = request.clinic
    memberships = (
        Membership.objects.for_clinic(clinic)
        .active()
        .select_related("user")
        .order_by("user__email")
    )
    invitations = StaffInvitation.objects.for_clinic(clinic).pending()
    return render(
        request,
        "clinics/staff_list.html",
        {
            "memberships": memberships,
            "invitations": invitations,
            "invite_form": StaffInviteForm(),
            "role_choices": Role.choices,
        },
    )


@clinic_roles(Role.CLINIC_ADMIN)
def staff_invite_view(request: HttpRequest) -> HttpResponse:
    form = StaffInviteForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            staff_invite(
                clinic=request.clinic,
                actor=request.user,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                base_url=_base_url(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The invitation has been sent."))
            return redirect("clinics:staff")
    return render(request, "clinics/staff_invite.html", {"form": form})


@require_POST
@clinic_roles(Role.CLINIC_ADMIN)
def membership_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_for_clinic_or_404(Membership, request.clinic, pk=membership_id, is_active=True)
    form = MembershipRoleForm(request.POST)
    if form.is_valid():
        try:
            membership_change_role(
                clinic=request.clinic,
                actor=request.user,
                membership=membership,
                role=Role(form.cleaned_data["role"]),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The role has been changed."))
    else:
        messages.error(request, _("Choose a valid role."))
    return redirect("clinics:staff")


@require_POST
@clinic_roles(Role.CLINIC_ADMIN)
def membership_remove_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = get_for_clinic_or_404(Membership, request.clinic, pk=membership_id, is_active=True)
    try:
        membership_remove(clinic=request.clinic, actor=request.user, membership=membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(user)s no longer works in this clinic.") % {"user": membership.user}
        )
    return redirect("clinics:staff")
