from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from clinics.access import authenticated
from clinics.models import Role
from clinics.tenancy import active_memberships, has_patient_records


@authenticated
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to where its work starts."""
    membership = request.membership
    if membership is not None:
        if membership.role == Role.COUNSELLOR:
            return redirect("messaging:inbox")
        if membership.role == Role.CLINIC_ADMIN:
            return redirect("clinics:staff")
        return redirect("patients:list")
    if active_memberships(request):  # none chosen in this session yet
        return redirect("clinics:switch")
    if has_patient_records(request):
        return redirect("patients:my_records")
    if request.user.is_superuser:
        return redirect("admin:index")
    return render(request, "clinics/home_no_access.html")
