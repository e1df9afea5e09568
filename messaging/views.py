from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinics.access import clinic_roles
from clinics.models import Role


@clinic_roles(Role.COUNSELLOR)
def inbox(request: HttpRequest) -> HttpResponse:
    """The counsellor's start page. Conversations arrive with the confidential-chat issue."""
    return render(request, "messaging/inbox.html")
