"""allauth glue: sign-up exists only to accept an invitation."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from clinics.invitations import pending_invitation
from clinics.mfa import mfa_required_for
from clinics.security import client_ip


class PortalAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Nobody creates an account without an invitation from a clinic.
        return pending_invitation(request) is not None

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's per-IP rate limits must key on the same client address as the lockouts and
        # the access log (TRUSTED_PROXY_COUNT); allauth on its own trusts only REMOTE_ADDR, so
        # behind a proxy everyone would share one limit.
        return client_ip(request) or super().get_client_ip(request)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        # "You are signed in as ..." would greet a user on the second-factor page, before the
        # factor is given: the sign-in is not complete until then, so say nothing.
        if message_template == "account/messages/logged_in.txt" and mfa_required_for(request.user):
            return
        super().add_message(
            request,
            level,
            message_template=message_template,
            message_context=message_context,
            extra_tags=extra_tags,
            message=message,
        )
