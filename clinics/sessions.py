"""Session lifetime: an idle timeout (SESSION_COOKIE_AGE, pushed on by activity) and an
absolute timeout counted from login, after which the user signs in again with both factors.

The idle timeout is the stored session's expiry date, set whenever the session is saved. Saving
it on every request (SESSION_SAVE_EVERY_REQUEST) cost each page an UPDATE in its own
transaction; a signed-in session is re-saved at most once per SESSION_REFRESH_INTERVAL instead,
which ends an idle session at most that many seconds early, never late."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

LOGIN_AT_SESSION_KEY = "login_at"
REFRESHED_AT_SESSION_KEY = "refreshed_at"


@receiver(user_logged_in)
def _stamp_login_time(sender, request: HttpRequest, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT_SESSION_KEY] = now
        request.session[REFRESHED_AT_SESSION_KEY] = now  # the login saves it with a fresh expiry


class SessionTimeoutMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            login_at = request.session.get(LOGIN_AT_SESSION_KEY)
            now = time.time()
            if login_at is None or now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT:
                logout(request)
                return redirect(settings.LOGIN_URL)
            refreshed_at = request.session.get(REFRESHED_AT_SESSION_KEY, 0)
            if now - refreshed_at >= settings.SESSION_REFRESH_INTERVAL:
                request.session[REFRESHED_AT_SESSION_KEY] = int(now)  # saved with a new expiry
        return self.get_response(request)
