"""Login paths, enumeration, lockout and session/CSRF rotation, through real HTTP flows.

SECURITY.md T03 (every login path ends unverified until the second factor), T08 (no account
enumeration), T09 (lockout per user name and per address, admin included, trusted proxies) and
T11 (session key and CSRF token rotate at login and again after the second factor).
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from clinics.mfa_devices import AuthenticatorDevice
from clinics.security import client_ip
from clinics.tests.factories import DEFAULT_PASSWORD, UserFactory
from clinics.tests.flows import current_code, password_login, submit_code

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a fresh and long passphrase 2024"


def totp_code(user) -> str:
    """The code the user's authenticator app shows right now."""
    return current_code(AuthenticatorDevice.objects.get(user=user, confirmed=True))


def assert_unverified(client: Client, user) -> None:
    """Signed in with the password, but every page still sends to the second factor."""
    assert client.session[SESSION_KEY] == str(user.pk)
    assert DEVICE_ID_SESSION_KEY not in client.session
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa:verify"))


def assert_anonymous(client: Client) -> None:
    assert SESSION_KEY not in client.session
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- T03: every login path ends unverified until the second factor --------------------------


def test_allauth_password_login_ends_unverified_until_a_real_totp_code(client, alice, patient_a):
    """A correct password signs in but reaches nothing until the authenticator code is given."""
    response = password_login(client, alice.email)
    assert response.status_code == 302
    assert_unverified(client, alice)

    response = submit_code(client, totp_code(alice), next_url=reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:list")
    assert DEVICE_ID_SESSION_KEY in client.session
    response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert "Paul de Vries" in response.content.decode()


def test_wrong_totp_code_leaves_the_session_unverified(client, alice):
    """A made-up code is refused and the session stays behind the second factor."""
    password_login(client, alice.email)
    wrong = f"{(int(totp_code(alice)) + 1) % 1_000_000:06d}"
    response = submit_code(client, wrong)
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert_unverified(client, alice)


def test_admin_login_page_only_sends_to_the_portal_login(client):
    """/admin/login/ never shows Django's own login form; it forwards to the portal login."""
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=%2Fadmin%2F"


def test_posting_credentials_to_the_admin_login_authenticates_nobody(client, oscar):
    """Correct superuser credentials posted to /admin/login/ do not sign anyone in."""
    response = client.post("/admin/login/", {"username": oscar.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302


def test_anonymous_visitor_cannot_reach_the_admin(client):
    """The admin index sends an anonymous visitor towards the login."""
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert response.resolver_match.url_name == "account_login"


@pytest.mark.parametrize("person", ["paul", "alice"])
def test_verified_non_staff_user_is_refused_by_the_admin(request, client_for, person):
    """A patient or clinic professional with both factors (no is_staff) gets 403, not the admin."""
    client = client_for(request.getfixturevalue(person))
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"Site administration" not in response.content


def test_password_only_staff_is_sent_to_the_second_factor_before_the_admin(client, oscar):
    """A superuser who only gave the password lands on the code step, then reaches the admin."""
    password_login(client, oscar.email)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa:verify"))
    # Following the admin's own login link ends at the same code step.
    response = client.get("/admin/login/?next=/admin/", follow=True)
    assert response.resolver_match.view_name == "mfa:verify"

    submit_code(client, totp_code(oscar))
    assert client.get("/admin/").status_code == 200


def test_the_admin_site_itself_demands_a_verified_session(oscar):
    """Behind the MFA gate, the admin site also refuses a password-only superuser by itself."""
    request = RequestFactory().get("/admin/")
    request.user = oscar
    oscar.is_verified = lambda: False
    assert admin.site.has_permission(request) is False
    oscar.is_verified = lambda: True
    assert admin.site.has_permission(request) is True


def _reset_link_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def test_password_reset_does_not_log_in_and_the_next_login_still_needs_the_code(
    client, alice, patient_a
):
    """Setting a new password via the e-mailed link signs nobody in; signing in needs the code."""
    client.post(reverse("account_reset_password"), {"email": alice.email})
    assert [m.to for m in mail.outbox] == [[alice.email]]

    response = client.get(_reset_link_path(mail.outbox[0]))
    assert response.status_code == 302  # allauth moves the key out of the URL into the session
    response = client.post(
        response["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert_anonymous(client)

    assert password_login(client, alice.email, DEFAULT_PASSWORD).status_code == 200
    assert SESSION_KEY not in client.session
    password_login(client, alice.email, NEW_PASSWORD)
    assert_unverified(client, alice)
    submit_code(client, totp_code(alice))
    assert client.get(reverse("patients:list")).status_code == 200


# --- T08: no account enumeration --------------------------------------------------------------


def _login_outcome(email: str, password: str) -> tuple[int, list[str]]:
    response = password_login(Client(), email, password)
    return response.status_code, response.context["form"].non_field_errors()


def test_login_answers_alike_for_an_unknown_address_and_a_wrong_password(alice):
    """Unknown e-mail and known e-mail with a wrong password: same status, same message."""
    unknown = _login_outcome("nobody@noord.example", "wrong password entirely")
    wrong_password = _login_outcome(alice.email, "wrong password entirely")
    assert unknown == wrong_password
    assert unknown[0] == 200
    assert len(unknown[1]) == 1


def test_password_reset_answers_alike_and_mails_only_a_known_address(alice):
    """The reset form redirects to the same page for both; only the real account gets mail."""
    known = Client().post(reverse("account_reset_password"), {"email": alice.email}, follow=True)
    unknown = Client().post(
        reverse("account_reset_password"), {"email": "nobody@noord.example"}, follow=True
    )
    assert known.redirect_chain == unknown.redirect_chain
    assert known.redirect_chain == [(reverse("account_reset_password_done"), 302)]
    assert known.status_code == unknown.status_code == 200
    assert [m.to for m in mail.outbox] == [[alice.email]]


@pytest.mark.parametrize("email", ["alice@noord.example", "new.person@noord.example"])
def test_sign_up_is_closed_without_an_invitation(client, alice, email):
    """Without an invitation the sign-up page is closed, whether the address exists or not."""
    response = client.get(reverse("account_signup"))
    assert response.status_code == 200
    assert "signup_closed" in response.templates[0].name
    user_count = type(alice).objects.count()
    response = client.post(
        reverse("account_signup"),
        {
            "email": email,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "date_of_birth": "1980-01-01",
        },
    )
    assert "signup_closed" in response.templates[0].name
    assert type(alice).objects.count() == user_count
    assert mail.outbox == []


# --- T09: lockout ---------------------------------------------------------------------------


def _fail(email: str, **extra) -> HttpResponse:
    return password_login(Client(), email, "not the password at all", **extra)


def test_too_many_wrong_passwords_lock_the_account_even_for_the_right_password(alice):
    """After AXES_FAILURE_LIMIT failures the right password gets the lockout page."""
    limit = settings.AXES_FAILURE_LIMIT
    responses = [_fail(alice.email, REMOTE_ADDR=f"198.51.100.{n}") for n in range(1, limit + 1)]
    assert [r.status_code for r in responses[:-1]] == [200] * (limit - 1)
    assert responses[-1].status_code == settings.AXES_HTTP_RESPONSE_CODE == 429

    # allauth's own per-address limit must not be what stops the next attempt: clear it.
    cache.clear()
    client = Client()
    response = password_login(client, alice.email, REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 429
    assert "account/lockout.html" in [t.name for t in response.templates]
    assert SESSION_KEY not in client.session


def test_too_many_failures_from_one_address_lock_that_address_for_every_account(alice, adam):
    """Failures spread over different user names still lock the address, at its own limit."""
    for n in range(settings.LOCKOUT_ADDRESS_FAILURE_LIMIT):
        cache.clear()  # allauth's own per-address limit would stop the spray before axes does
        _fail(f"guess{n}@noord.example", REMOTE_ADDR="198.51.100.7")
    cache.clear()

    locked = Client()
    assert password_login(locked, alice.email, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert SESSION_KEY not in locked.session
    # Another address is not affected.
    other = Client()
    assert password_login(other, adam.email, REMOTE_ADDR="198.51.100.8").status_code == 302
    assert other.session[SESSION_KEY] == str(adam.pk)


def test_locked_out_operator_cannot_sign_in_via_the_admin_path_either(oscar):
    """The admin login forwards to the same allauth login, where the lockout applies."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail(oscar.email, REMOTE_ADDR=f"198.51.100.{n + 20}")
    cache.clear()

    client = Client()
    response = client.post(
        "/admin/login/", {"username": oscar.email, "password": DEFAULT_PASSWORD}, follow=True
    )
    assert response.resolver_match.url_name == "account_login"
    response = password_login(client, oscar.email, REMOTE_ADDR="203.0.113.60")
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_a_successful_login_before_the_limit_resets_the_failure_count(alice):
    """AXES_RESET_ON_SUCCESS: the owner signing in clears their own earlier typos (see also
    test_lockout.py: nobody else's)."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _fail(alice.email, REMOTE_ADDR="198.51.100.30")
    assert password_login(Client(), alice.email, REMOTE_ADDR="198.51.100.30").status_code == 302
    cache.clear()
    assert _fail(alice.email, REMOTE_ADDR="198.51.100.30").status_code == 200


def test_client_ip_ignores_forwarded_header_without_trusted_proxies(settings):
    """TRUSTED_PROXY_COUNT=0: a client-written X-Forwarded-For is ignored."""
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert client_ip(request) == "192.0.2.10"


def test_client_ip_uses_the_rightmost_entry_behind_one_proxy(settings):
    """TRUSTED_PROXY_COUNT=1: the entry our proxy appended, never the client's own entries."""
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get(
        "/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7",
    )
    assert client_ip(request) == "203.0.113.7"


def test_client_ip_refuses_garbage_instead_of_trusting_it(settings):
    """A non-address in the trusted position yields no address rather than a fake bucket."""
    settings.TRUSTED_PROXY_COUNT = 1
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="evil")
    assert client_ip(request) is None


def test_spoofed_forwarded_for_does_not_escape_the_address_lockout(settings, alice):
    """Without trusted proxies, a new X-Forwarded-For per attempt still counts on REMOTE_ADDR."""
    settings.TRUSTED_PROXY_COUNT = 0
    settings.LOCKOUT_ADDRESS_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail(f"spray{n}@noord.example", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    cache.clear()
    response = password_login(Client(), alice.email, HTTP_X_FORWARDED_FOR="203.0.113.200")
    assert response.status_code == 429


def test_behind_a_proxy_each_client_address_has_its_own_lockout(settings, alice, adam):
    """TRUSTED_PROXY_COUNT=1: one client's failures do not lock out others behind the proxy."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOCKOUT_ADDRESS_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail(f"spray{n}@noord.example", HTTP_X_FORWARDED_FOR="203.0.113.1")
    # No cache.clear(): allauth's per-address limits must key on the same client address.
    for n in range(6):
        _fail(f"more{n}@noord.example", HTTP_X_FORWARDED_FOR="203.0.113.1")

    other = Client()
    response = password_login(other, adam.email, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.2")
    assert response.status_code == 302
    assert other.session[SESSION_KEY] == str(adam.pk)
    cache.clear()
    response = password_login(Client(), alice.email, HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert response.status_code == 429


# --- T11: session key and CSRF token rotate twice ------------------------------------------


def test_session_key_and_csrf_token_change_at_login_and_after_the_second_factor(alice):
    """Both the session key and the CSRF token are new after the password and after the code."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("account_login"))
    session_before = client.session.session_key  # creates and stores an anonymous session
    csrf_before = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(
        reverse("account_login"),
        {"login": alice.email, "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": csrf_before},
    )
    assert response.status_code == 302
    session_after_password = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf_after_password = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert session_after_password != session_before
    assert csrf_after_password != csrf_before
    assert not Session.objects.filter(session_key=session_before).exists()

    response = client.post(
        reverse("mfa:verify"),
        {"code": totp_code(alice), "csrfmiddlewaretoken": csrf_after_password},
    )
    assert response.status_code == 302
    session_after_code = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf_after_code = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert session_after_code != session_after_password
    assert csrf_after_code != csrf_after_password
    assert not Session.objects.filter(session_key=session_after_password).exists()
    assert DEVICE_ID_SESSION_KEY in client.session

    # The token from before the second factor no longer passes the CSRF check.
    response = client.post(reverse("account_logout"), {"csrfmiddlewaretoken": csrf_after_password})
    assert response.status_code == 403


def test_an_inactive_user_with_the_right_password_is_not_signed_in(client):
    """A deactivated account cannot sign in, even with its own password."""
    user = UserFactory(email="gone@noord.example", is_active=False)
    password_login(client, user.email)
    assert_anonymous(client)
