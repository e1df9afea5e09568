"""Session endings: logout, deactivation, password change, idle and absolute timeouts.

SECURITY.md T12-T15. Sessions are made through the real allauth login and the real code step,
so the timestamps and hashes stored at login are the ones production stores.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from clinics.mfa_devices import AuthenticatorDevice
from clinics.tests.factories import DEFAULT_PASSWORD
from clinics.tests.flows import current_code, password_login, submit_code

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another long passphrase for alice"


def sign_in(user, password: str = DEFAULT_PASSWORD) -> Client:
    """A client through the real login: password, then the authenticator code."""
    client = Client()
    assert password_login(client, user.email, password).status_code == 302
    response = submit_code(
        client, current_code(AuthenticatorDevice.objects.get(user=user, confirmed=True))
    )
    assert response.status_code == 302
    assert DEVICE_ID_SESSION_KEY in client.session
    return client


def reaches_patient_list(client: Client) -> bool:
    response = client.get(reverse("patients:list"))
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    return False


def client_with_cookie_of(client: Client) -> Client:
    """A second browser that replays the first one's session cookie."""
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return thief


def test_logout_ends_the_session_and_the_old_cookie_no_longer_works(alice, patient_a):
    """After logout, replaying the previous session cookie gives an anonymous visitor."""
    client = sign_in(alice)
    replay = client_with_cookie_of(client)
    assert reaches_patient_list(replay)

    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert not reaches_patient_list(client)
    assert not reaches_patient_list(replay)


def test_logout_by_get_does_not_end_the_session(alice, patient_a):
    """Logging out needs a POST (CSRF-protected); a GET link cannot sign someone out or in."""
    client = sign_in(alice)
    client.get(reverse("account_logout"))
    assert reaches_patient_list(client)


def test_deactivating_a_user_ends_their_open_sessions(client_for, alice, patient_a):
    """An account switched off (the operator's admin unticks "active"): the next request of
    every open session is anonymous."""
    # A TOTP code works once, so the second browser signs in without the login form.
    first, second = sign_in(alice), client_for(alice)
    assert reaches_patient_list(first)

    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert not reaches_patient_list(first)
    assert not reaches_patient_list(second)
    # Nor can they sign in again.
    client = Client()
    client.post(reverse("account_login"), {"login": alice.email, "password": DEFAULT_PASSWORD})
    assert SESSION_KEY not in client.session


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(client_for, alice, patient_a):
    """The session that changed the password stays; every other session of the user ends."""
    # A TOTP code works once, so the second browser signs in without the login form.
    here, elsewhere = sign_in(alice), client_for(alice)
    assert reaches_patient_list(elsewhere)

    response = here.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)

    assert reaches_patient_list(here)
    assert DEVICE_ID_SESSION_KEY in here.session  # still past the second factor
    assert not reaches_patient_list(elsewhere)


def test_changing_the_password_needs_the_current_one(client_for, alice):
    """Without the right current password nothing changes."""
    client = client_for(alice)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not my password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(DEFAULT_PASSWORD)


def test_an_idle_session_expires_after_session_cookie_age(alice, patient_a):
    """Activity keeps a session alive; SESSION_COOKIE_AGE seconds without a request end it."""
    idle = settings.SESSION_COOKIE_AGE
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = sign_in(alice)
        traveller.shift(idle - 60)
        assert reaches_patient_list(client)  # pushes the expiry on (clinics.sessions)
        traveller.shift(idle - 60)
        assert reaches_patient_list(client)
        traveller.shift(idle + 1)
        assert not reaches_patient_list(client)


def test_activity_pushes_the_expiry_on_at_most_once_per_refresh_interval(alice, patient_a):
    """Requests in quick succession do not each write the session; the stored expiry always
    lies at most SESSION_COOKIE_AGE after the last request (never later)."""
    idle, interval = settings.SESSION_COOKIE_AGE, settings.SESSION_REFRESH_INTERVAL
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = sign_in(alice)
        traveller.shift(interval)
        assert reaches_patient_list(client)
        refreshed = Session.objects.get(session_key=client.session.session_key).expire_date
        assert refreshed == timezone.now() + datetime.timedelta(seconds=idle)
        traveller.shift(interval - 1)
        with CaptureQueriesContext(connection) as ctx:
            assert reaches_patient_list(client)
        assert not [
            q for q in ctx.captured_queries if "UPDATE" in q["sql"] and "session" in q["sql"]
        ]
        expiry = Session.objects.get(session_key=client.session.session_key).expire_date
        assert expiry == refreshed < timezone.now() + datetime.timedelta(seconds=idle)
        traveller.shift(1)
        assert reaches_patient_list(client)
        expiry = Session.objects.get(session_key=client.session.session_key).expire_date
        assert expiry == timezone.now() + datetime.timedelta(seconds=idle)


def test_a_busy_session_still_ends_at_the_absolute_timeout(alice, patient_a):
    """Even with a request every few minutes, SESSION_ABSOLUTE_TIMEOUT after login it ends."""
    absolute = settings.SESSION_ABSOLUTE_TIMEOUT
    step = settings.SESSION_COOKIE_AGE - 60
    assert step > 0 and absolute > step
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = sign_in(alice)
        elapsed = 0
        while elapsed + step < absolute:
            traveller.shift(step)
            elapsed += step
            assert client.get(reverse("home")).status_code == 302
            assert SESSION_KEY in client.session, f"ended early, after {elapsed} s"
        traveller.shift(absolute - elapsed + 1)
        assert not reaches_patient_list(client)
        assert SESSION_KEY not in client.session


def test_a_session_without_a_login_time_is_ended(client_for, alice, patient_a):
    """A session lacking the login stamp (e.g. from before the timeout existed) is not trusted."""
    client = client_for(alice)
    session = client.session
    session.pop("login_at", None)
    session.save()
    assert not reaches_patient_list(client)


def test_session_cookie_ends_with_the_browser(alice):
    """No "remember me": the session cookie has no Max-Age/Expires set."""
    client = Client()
    response = client.post(
        reverse("account_login"),
        {"login": alice.email, "password": DEFAULT_PASSWORD, "remember": "on"},
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == ""
    assert cookie["expires"] == ""
    assert cookie["httponly"]
    assert client.session.get_expire_at_browser_close()
