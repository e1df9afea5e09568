from django.http import HttpRequest

from clinics.mfa import is_verified, mfa_required_for
from clinics.models import Role
from clinics.tenancy import active_memberships, has_patient_records


def navigation(request: HttpRequest) -> dict:
    """What the base layout needs for the per-role navigation."""
    user = getattr(request, "user", None)
    # nav_roles is always given: the template compares nav_role with its members, and in
    # {% if %} a missing variable is None, so None == (missing) would show every role's links.
    if user is None or not user.is_authenticated:
        return {"nav_role": None, "nav_roles": Role, "nav_memberships": []}
    if not is_verified(user) and mfa_required_for(user):
        return {"nav_role": None, "nav_roles": Role, "nav_memberships": []}
    membership = getattr(request, "membership", None)
    memberships = active_memberships(request)
    return {
        "nav_role": membership.role if membership else None,
        "nav_roles": Role,
        "nav_clinic": membership.clinic if membership else None,
        "nav_memberships": memberships,
        "nav_is_patient": has_patient_records(request),
    }
