"""T39 lockout isolation: one account's success clears only its own failures; the per-account and
per-address limits hold independently.

Every attempt clears the cache first, so that allauth's own rate limits (kept in the cache) never
answer in axes's place: what is tested here is the lockout recorded in the database.
"""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from clinics.checks import lockout_is_configured_as_the_handler_expects
from clinics.security import lockout_identifier
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


# --- F5: lockout identifiers are keyed hashes, never the address in clear --------------------


def axes_rows_holding(text: str) -> list[str]:
    """Every text column of every axes table, searched for `text` (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name LIKE 'axes%%'"
            " AND data_type IN ('text', 'character varying')"
        )
        columns = cursor.fetchall()
        assert {table for table, _ in columns} >= {"axes_accessattempt", "axes_accesslog"}
        found = []
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" ILIKE %s',  # noqa: S608
                [f"%{text}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


@pytest.mark.parametrize("failure_log", [False, True], ids=["default", "failure-log-on"])
def test_no_axes_table_holds_a_tried_address_in_clear(settings, alice, adam, failure_log):
    """After failures, a lockout, successes and a sign-out, axes's rows hold no e-mail address."""
    settings.AXES_ENABLE_ACCESS_FAILURE_LOG = failure_log
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(alice.email)
    attempt("Unknown.Person@Zuid.example ")
    client = Client()
    password_login(client, adam.email, REMOTE_ADDR="203.0.113.5")
    client.post(reverse("account_logout"))
    assert AccessAttempt.objects.exists()
    if failure_log:
        assert AccessFailureLog.objects.exists()

    for text in ("alice@noord.example", "unknown.person", "adam@noord", "@noord", "@zuid"):
        assert axes_rows_holding(text) == [], text


def test_axes_keeps_no_log_of_successful_sign_ins(alice):
    """AXES_DISABLE_ACCESS_LOG: lockouts need only the failures; no per-login trail in axes."""
    assert attempt(alice.email, DEFAULT_PASSWORD).signed_in_as == str(alice.pk)
    assert not AccessLog.objects.exists()


def test_the_lockout_identifier_finds_and_resets_an_accounts_record(alice):
    """An operator unlocks by e-mail (`manage.py lockout_reset`): lockout_identifier(email) is
    the stored user name."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(alice.email)
    assert is_lockout(attempt(alice.email, DEFAULT_PASSWORD, address="203.0.113.9"))
    identifier = lockout_identifier(" Alice@Noord.EXAMPLE")
    assert AccessAttempt.objects.filter(username=identifier).exists()

    out = StringIO()
    call_command("lockout_reset", "ALICE@noord.example", stdout=out)
    assert out.getvalue().startswith("ALICE@noord.example: cleared 2 lockout record(s)")
    assert not AccessAttempt.objects.filter(username=identifier).exists()
    response = attempt(alice.email, DEFAULT_PASSWORD, address="203.0.113.9")
    assert response.signed_in_as == str(alice.pk)


def test_the_lockout_identifier_is_a_keyed_hash(settings):
    """Not a plain hash a dump could be checked against a list of addresses: it needs the key."""
    email = "alice@noord.example"
    identifier = lockout_identifier(email)
    assert email not in identifier
    assert identifier not in {
        hashlib.sha256(email.encode()).hexdigest(),
        hashlib.sha1(email.encode()).hexdigest(),  # noqa: S324
        hashlib.md5(email.encode()).hexdigest(),  # noqa: S324
    }
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789abcdef"
    assert lockout_identifier(email) != identifier
