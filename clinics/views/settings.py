"""The clinic's own settings (clinic admins)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from clinics.access import clinic_roles
from clinics.forms import ClinicSettingsForm
from clinics.models import Role
from clinics.services import clinic_update_settings
from portal.http import posted_data


@clinic_roles(Role.CLINIC_ADMIN)
def clinic_settings(request: HttpRequest) -> HttpResponse:
    form = ClinicSettingsForm(
        posted_data(request),
        initial={"requires_patient_mfa": request.clinic.requires_patient_mfa},
    )
    if request.method == "POST" and form.is_valid():
        clinic_update_settings(clinic=request.clinic, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The settings have been saved."))
        return redirect("clinics:settings")
    return render(request, "clinics/clinic_settings.html", {"form": form})
