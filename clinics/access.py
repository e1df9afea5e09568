"""Access policies: who may reach which view. Deny by default.

Invariants:
- Every view declares one policy with a decorator below (`public`, `authenticated`,
  `clinic_roles(...)`, `patient_only`); views of third-party apps get theirs from
  `THIRD_PARTY_POLICIES`, keyed by URL name or namespace. `AccessPolicyMiddleware` answers 404
  for a view without a policy, so a forgotten declaration locks a page instead of opening it.
- The MFA gate is separate and runs first (clinics.mfa): a policy never has to think about it.
- Roles are checked against the active membership (clinics.tenancy); views that receive an
  object id look it up through `get_for_clinic_or_404`, so another clinic's object is a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from clinics.models import Membership, Role

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Policy:
    name: str
    roles: frozenset[str] = frozenset()

    def check(self, request: HttpRequest) -> HttpResponse | None:
        """None lets the request through; a response (or an exception) stops it."""
        if self.name == "public":
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if self.name == "authenticated":
            return None
        if self.name == "clinic_roles":
            return _check_clinic_role(request, self.roles)
        if self.name == "patient_only":
            if user.patient_records.exists():
                return None
            raise PermissionDenied
        if self.name == "superuser":
            if user.is_superuser:
                return None
            raise PermissionDenied
        raise PermissionDenied  # an unknown policy name denies


def _check_clinic_role(request: HttpRequest, roles: frozenset[str]) -> HttpResponse | None:
    membership = request.membership
    if membership is None:
        if Membership.objects.active().filter(user=request.user).exists():
            # Several clinics and none chosen yet: let the user pick, then come back.
            return redirect(f"{_url('clinics:switch')}?next={request.get_full_path()}")
        raise PermissionDenied
    if membership.role not in roles:
        raise PermissionDenied
    return None


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


PUBLIC = Policy("public")
AUTHENTICATED = Policy("authenticated")
PATIENT_ONLY = Policy("patient_only")
SUPERUSER = Policy("superuser")


def _declare(policy: Policy) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: object, **kwargs: object) -> HttpResponse:
            return view(*args, **kwargs)

        wrapped.access_policy = policy
        return wrapped

    return decorator


public = _declare(PUBLIC)
authenticated = _declare(AUTHENTICATED)
patient_only = _declare(PATIENT_ONLY)


def clinic_roles(*roles: Role) -> Callable[[View], View]:
    if not roles:
        raise ValueError("clinic_roles() needs at least one role.")
    return _declare(Policy("clinic_roles", frozenset(roles)))


STAFF_ROLES = (Role.CLINIC_ADMIN, Role.PROFESSIONAL, Role.COUNSELLOR)

# Views we do not write ourselves. allauth's pages are reachable by anyone (they check the login
# state themselves); the admin site checks is_staff plus a verified second factor
# (portal.admin.PortalAdminSite).
THIRD_PARTY_POLICIES: dict[str, Policy] = {
    "account_login": PUBLIC,
    "account_logout": PUBLIC,
    "account_signup": PUBLIC,
    "account_inactive": PUBLIC,
    "account_email_verification_sent": PUBLIC,
    "account_confirm_email": PUBLIC,
    "account_reset_password": PUBLIC,
    "account_reset_password_done": PUBLIC,
    "account_reset_password_from_key": PUBLIC,
    "account_reset_password_from_key_done": PUBLIC,
    "account_reauthenticate": AUTHENTICATED,
    "account_email": AUTHENTICATED,
    "account_change_password": AUTHENTICATED,
    "set_language": PUBLIC,
    "admin:*": PUBLIC,
}


def policy_for(view_func: View, namespace: str, url_name: str | None) -> Policy | None:
    policy = getattr(view_func, "access_policy", None)
    if policy is not None:
        return policy
    if namespace and f"{namespace}:*" in THIRD_PARTY_POLICIES:
        return THIRD_PARTY_POLICIES[f"{namespace}:*"]
    return THIRD_PARTY_POLICIES.get(url_name or "")


class AccessPolicyMiddleware:
    def __init__(self, get_response: View) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: View, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        match = request.resolver_match
        policy = policy_for(view_func, match.namespace, match.url_name)
        if policy is None:
            logger.error("View %s declares no access policy: denied.", match.view_name)
            raise Http404
        return policy.check(request)
