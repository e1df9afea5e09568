"""allauth glue: sign-up exists only to accept an invitation."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from clinics.invitations import pending_invitation


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Nobody creates an account without an invitation from a clinic.
        return pending_invitation(request) is not None
