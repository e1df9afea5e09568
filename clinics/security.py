"""Who is knocking: the client address (trusting only the configured proxies) and the login
name, both used for lockouts (django-axes) and the access log.

The login name axes stores is a keyed hash of the e-mail address (`lockout_identifier`), never
the address: a dump of the axes tables names nobody, and without SECRET_KEY it cannot be checked
against a list of addresses. Rotating SECRET_KEY forgets current lockouts (they last an hour).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

_LOCKOUT_SALT = "clinics.security.lockout_identifier"


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


def lockout_identifier(email: str) -> str:
    """The user name axes records for an e-mail address: HMAC-SHA256 under a key derived from
    SECRET_KEY, of the trimmed, lower-cased address. Use it to find or reset someone's lockout
    (`AxesProxyHandler.reset_attempts(username=lockout_identifier(email))`)."""
    return salted_hmac(_LOCKOUT_SALT, email.strip().lower(), algorithm="sha256").hexdigest()


def login_identifier(request: HttpRequest, credentials: dict | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the `lockout_identifier` of the e-mail address tried, from
    allauth's credentials or the posted form."""
    credentials = credentials or {}
    value = (
        credentials.get("email")
        or credentials.get("username")
        or request.POST.get("login")
        or request.POST.get("username")
    )
    return lockout_identifier(value) if isinstance(value, str) else None


def user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]
