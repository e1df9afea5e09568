"""The login lockout: django-axes's database handler with two rules of our own (T39).

Invariants:
- A user name (a keyed hash of the e-mail address, `clinics.security.lockout_identifier`) and a
  client address are locked independently, each at its own limit within the cool-off period:
  `AXES_FAILURE_LIMIT` failures for one account, from any addresses, and
  `LOCKOUT_ADDRESS_FAILURE_LIMIT` failures from one address, over any accounts.
- A successful sign-in clears the failures recorded for that account, and nothing else. Axes's own
  reset on success deletes every record matching any lockout parameter, so an attacker's success
  on their own account from the same address used to erase the failures they had just piled up
  against someone else's account (and the address's count with them).

Axes keeps one row per (user name, address, user agent) and counts an account's failures as the
sum over its rows, an address's as the sum over its rows; both counts come from the same rows.
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: per-account and per-address limits, and a reset of the account's own record."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """On success (AXES_RESET_ON_SUCCESS): delete the signed-in account's rows only."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """The failures as axes compares them with AXES_FAILURE_LIMIT.

        Axes checks one number against one limit. We give it that limit minus the smallest
        budget left (an account's limit minus its failures, an address's limit minus its), so
        the number reaches AXES_FAILURE_LIMIT exactly when either count reaches its own limit.
        """
        account_limit = settings.AXES_FAILURE_LIMIT
        address_limit = settings.LOCKOUT_ADDRESS_FAILURE_LIMIT
        by_account, by_address = self._attempts_by_parameter(request, credentials)
        left = min(
            account_limit - _failures(by_account),
            address_limit - _failures(by_address),
        )
        return account_limit - left

    def _attempts_by_parameter(
        self, request: HttpRequest, credentials: dict | None
    ) -> tuple[QuerySet, QuerySet]:
        # AXES_LOCKOUT_PARAMETERS is ["username", "ip_address"]: one queryset each, in order
        # (a system check holds the setting to that).
        by_account, by_address = self.get_user_attempts(request, credentials)
        return by_account, by_address


def _failures(attempts: QuerySet) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
