"""Access policies: who may reach which view. Deny by default.

Invariants:
- Every view declares one policy with a decorator (`public`, `authenticated`,
  `clinic_roles(...)` below; `patient_only` and the record-access door in
  patients.record_access); views of third-party apps get theirs from
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
from django.urls import reverse

from clinics.models import Membership, Role

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


Check = Callable[[HttpRequest], HttpResponse | None]


@dataclass(frozen=True)
class Policy:
    """Who may reach a view: `check` lets the request through (None) or stops it (a response
    or an exception). Feature apps add policies of their own (patients.record_access)."""

    name: str
    check_signed_in: Check | None = None
    roles: frozenset[str] = frozenset()

    def check(self, request: HttpRequest) -> HttpResponse | None:
        if self.name == "public":
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if self.check_signed_in is None:
            raise PermissionDenied  # a policy that says nothing denies
        return self.check_signed_in(request)


def _any_signed_in(request: HttpRequest) -> HttpResponse | None:
    return None


def _superuser(request: HttpRequest) -> HttpResponse | None:
    if request.user.is_superuser:
        return None
    raise PermissionDenied


def _clinic_role_check(roles: frozenset[str]) -> Check:
    def check(request: HttpRequest) -> HttpResponse | None:
        membership = request.membership
        if membership is None:
            if Membership.objects.active().filter(user=request.user).exists():
                # Several clinics and none chosen yet: let the user pick, then come back.
                return redirect(f"{reverse('clinics:switch')}?next={request.get_full_path()}")
            raise PermissionDenied
        if membership.role not in roles:
            raise PermissionDenied
        return None

    return check


PUBLIC = Policy("public")
AUTHENTICATED = Policy("authenticated", _any_signed_in)
SUPERUSER = Policy("superuser", _superuser)


def declare(policy: Policy) -> Callable[[View], View]:
    """The decorator that gives a view its policy."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: object, **kwargs: object) -> HttpResponse:
            return view(*args, **kwargs)

        wrapped.access_policy = policy
        return wrapped

    return decorator


public = declare(PUBLIC)
authenticated = declare(AUTHENTICATED)


def clinic_roles_policy(*roles: Role) -> Policy:
    if not roles:
        raise ValueError("clinic_roles() needs at least one role.")
    frozen = frozenset(roles)
    return Policy("clinic_roles", _clinic_role_check(frozen), frozen)


def clinic_roles(*roles: Role) -> Callable[[View], View]:
    return declare(clinic_roles_policy(*roles))


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
