"""T39 lockout isolation: one account's success clears only its own failures; the per-account and
per-address limits hold independently.

Every attempt clears the cache first, so that allauth's own rate limits (kept in the cache) never
answer in axes's place: what is tested here is the lockout recorded in the database.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db.models import Sum
from django.http import HttpResponse
from django.test import Client

from clinics.checks import lockout_is_configured_as_the_handler_expects
from clinics.tests.factories import DEFAULT_PASSWORD
from clinics.tests.flows import password_login

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.66"
WRONG = "not the password at all"


def attempt(email: str, password: str = WRONG, *, address: str = ATTACKER) -> HttpResponse:
    """One sign-in from a fresh browser at `address`, past allauth's cache-held rate limits."""
    cache.clear()
    client = Client()
    response = password_login(client, email, password, REMOTE_ADDR=address)
    response.signed_in_as = client.session.get(SESSION_KEY)
    return response


def is_lockout(response: HttpResponse) -> bool:
    return response.status_code == 429 and "account/lockout.html" in [
        t.name for t in response.templates
    ]


def recorded_failures() -> int:
    return AccessAttempt.objects.aggregate(n=Sum("failures_since_start"))["n"] or 0


def test_another_accounts_success_does_not_reset_the_victims_failures(alice, adam):
    """4 wrong for V, a success for the attacker's own A, then V's 5th failure locks V."""
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert attempt(alice.email).status_code == 200
    assert attempt(adam.email, DEFAULT_PASSWORD).signed_in_as == str(adam.pk)

    assert is_lockout(attempt(alice.email))
    # Locked: even the right password is refused, from the attacker's address or any other.
    for address in (ATTACKER, "203.0.113.9"):
        response = attempt(alice.email, DEFAULT_PASSWORD, address=address)
        assert is_lockout(response)
        assert response.signed_in_as is None


def test_repeating_the_reset_trick_gives_no_more_guesses_than_the_limit(alice, adam):
    """The reported attack: guesses for V and an own success, over and over, from one address."""
    guesses_answered = 0
    for _round in range(3):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            if attempt(alice.email).status_code == 200:
                guesses_answered += 1
        attempt(adam.email, DEFAULT_PASSWORD)
    assert guesses_answered == settings.AXES_FAILURE_LIMIT - 1


def test_a_success_from_the_same_address_clears_nothing_of_other_accounts(alice, adam):
    """Another account's success from the same address leaves every recorded failure in place."""
    attempt(alice.email)
    attempt(alice.email)
    attempt("nobody@noord.example")
    assert recorded_failures() == 3

    assert attempt(adam.email, DEFAULT_PASSWORD).signed_in_as == str(adam.pk)
    assert recorded_failures() == 3


def test_an_accounts_own_success_clears_its_own_record_only(alice, adam):
    """V's own success clears V's failures (from any address), not another account's."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        attempt(alice.email)
    attempt(alice.email, address="203.0.113.9")
    attempt(adam.email)
    assert recorded_failures() == settings.AXES_FAILURE_LIMIT

    assert attempt(alice.email, DEFAULT_PASSWORD).signed_in_as == str(alice.pk)
    assert recorded_failures() == 1  # adam's
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(alice.email).status_code == 200


def test_the_address_limit_holds_across_many_accounts_and_own_successes(settings, alice, adam):
    """Spraying one guess per account, with own successes between, still locks the address."""
    settings.LOCKOUT_ADDRESS_FAILURE_LIMIT = 8
    for n in range(settings.LOCKOUT_ADDRESS_FAILURE_LIMIT - 1):
        assert attempt(f"guess{n}@noord.example").status_code == 200
        assert attempt(adam.email, DEFAULT_PASSWORD).signed_in_as == str(adam.pk)
    assert is_lockout(attempt("one.more@noord.example"))

    response = attempt(alice.email, DEFAULT_PASSWORD)
    assert is_lockout(response)
    assert response.signed_in_as is None
    # The address is locked, not the accounts: from elsewhere alice signs in.
    assert attempt(alice.email, DEFAULT_PASSWORD, address="203.0.113.9").signed_in_as == str(
        alice.pk
    )


def test_the_account_and_address_limits_are_separate_settings(settings, alice):
    """The address has its own, larger budget: failures over several accounts below it pass."""
    settings.LOCKOUT_ADDRESS_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT + 3
    for n in range(settings.LOCKOUT_ADDRESS_FAILURE_LIMIT - 1):
        assert attempt(f"guess{n}@noord.example").status_code == 200
    assert attempt(alice.email, DEFAULT_PASSWORD).signed_in_as == str(alice.pk)


def test_the_account_limit_holds_across_many_addresses(alice):
    """One account guessed from a new address each time is locked at the account limit."""
    limit = settings.AXES_FAILURE_LIMIT
    responses = [attempt(alice.email, address=f"203.0.113.{n}") for n in range(1, limit + 1)]
    assert [r.status_code for r in responses[:-1]] == [200] * (limit - 1)
    assert is_lockout(responses[-1])
    assert is_lockout(attempt(alice.email, DEFAULT_PASSWORD, address="203.0.113.200"))


def test_a_system_check_refuses_lockout_settings_the_handler_does_not_expect(settings):
    """Axes's stock handler (whose reset clears the address's failures) fails `check`."""
    settings.AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
    errors = lockout_is_configured_as_the_handler_expects(None)
    assert [e.id for e in errors] == ["clinics.E003"]
    assert "AXES_HANDLER" in errors[0].msg
