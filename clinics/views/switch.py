from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from clinics.access import authenticated
from clinics.forms import ClinicSwitchForm
from clinics.mfa import safe_next
from clinics.models import Membership
from clinics.tenancy import clinic_set_active


@authenticated
def clinic_switch(request: HttpRequest) -> HttpResponse:
    """Pick the clinic to work in; only clinics where the user has an active membership."""
    memberships = Membership.objects.active().filter(user=request.user).select_related("clinic")
    if request.method == "POST":
        form = ClinicSwitchForm(request.POST)
        if form.is_valid():
            membership = get_object_or_404(memberships, clinic_id=form.cleaned_data["clinic"])
            clinic_set_active(request, membership)
            return redirect(safe_next(request))
    return render(
        request,
        "clinics/clinic_switch.html",
        {"memberships": memberships, "next": safe_next(request)},
    )
