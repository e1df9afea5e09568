"""Who is knocking: the client address (trusting only the configured proxies) and the login
name, both used for lockouts (django-axes) and the access log."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the entry TRUSTED_PROXY_COUNT hops from the right of X-Forwarded-For.

    Entries further left are written by the client and could be anything, so they are never read:
    otherwise everyone could pick their own lockout bucket.
    """
    remote = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= hops:
            remote = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None


def login_identifier(request: HttpRequest, credentials: dict | None) -> str | None:
    """The e-mail address tried, lower-cased, from allauth's credentials or the posted form."""
    credentials = credentials or {}
    value = (
        credentials.get("email")
        or credentials.get("username")
        or request.POST.get("login")
        or request.POST.get("username")
    )
    return value.strip().lower() if isinstance(value, str) else None


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]
