"""The chat's JSON endpoints and the reporter's session, in one place.

`json_endpoint` turns a view's `Refused` (bad input: nothing stored) into a 4xx JSON answer
with a clear message, and marks the answer uncacheable. The reporter session is a signed,
HttpOnly, SameSite=Strict cookie scoped to the reporter's pages, naming the conversation and key
the browser proved it holds (docs/chat-protocol.md, "Reporter sessions").
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django_ratelimit.core import is_ratelimited

from clinics.security import client_ip
from messaging.models import Conversation
from messaging.payloads import Refused

View = Callable[..., HttpResponse]

REPORTER_COOKIE = "portal_reporter"
REPORTER_COOKIE_PATH = "/m/"
REPORTER_SESSION_AGE = datetime.timedelta(hours=12)
CHALLENGE_AGE = datetime.timedelta(minutes=2)
_SESSION_SALT = "messaging.reporter-session"
_CHALLENGE_SALT = "messaging.reporter-challenge"


def json_endpoint(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Refused as refused:
            response = JsonResponse({"error": refused.messages[0]}, status=refused.status)
        add_never_cache_headers(response)
        return response

    return wrapped


def limit(request: HttpRequest, group: str, key: str, rate: str) -> None:
    """Count this request against `rate` ("20/h") for `key` in `group`; 429 when over it."""
    if is_ratelimited(request, group=group, key=lambda _g, _r: key, rate=rate, increment=True):
        raise Refused(_("Too many requests. Wait a while and try again."), 429)


def client_key(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def origin_of(request: HttpRequest) -> str:
    """The origin the reporter's browser signs into its login (scheme and host of this site)."""
    return f"{request.scheme}://{request.get_host()}"


def challenge_new() -> dict:
    nonce = secrets.token_urlsafe(24)
    return {"nonce": signing.dumps(nonce, salt=_CHALLENGE_SALT), "expires_in": 120}


def challenge_take(signed_nonce: str) -> str:
    """The nonce text the browser signed, if the server made it in the last two minutes and it
    was not used before (one use: a replayed login is refused)."""
    try:
        signing.loads(signed_nonce, salt=_CHALLENGE_SALT, max_age=CHALLENGE_AGE)
    except signing.BadSignature as exc:
        raise Refused(_("The sign-in challenge has expired. Try again."), 403) from exc
    if not cache.add(f"messaging:nonce:{signed_nonce}", True, int(CHALLENGE_AGE.total_seconds())):
        raise Refused(_("The sign-in challenge was already used."), 403)
    return signed_nonce


def reporter_session_set(response: HttpResponse, conversation: Conversation) -> None:
    value = signing.dumps(
        {"c": str(conversation.pk), "k": conversation.reporter_key_id}, salt=_SESSION_SALT
    )
    response.set_cookie(
        REPORTER_COOKIE,
        value,
        max_age=int(REPORTER_SESSION_AGE.total_seconds()),
        path=REPORTER_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )


def reporter_session_end(response: HttpResponse) -> None:
    response.delete_cookie(REPORTER_COOKIE, path=REPORTER_COOKIE_PATH, samesite="Strict")


def reporter_conversation(request: HttpRequest) -> Conversation:
    """The live conversation this browser signed in to, or 403."""
    try:
        value = signing.loads(
            request.COOKIES.get(REPORTER_COOKIE, ""),
            salt=_SESSION_SALT,
            max_age=REPORTER_SESSION_AGE,
        )
        conversation_id = uuid.UUID(value["c"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise Refused(_("Sign in to your conversation first."), 403) from exc
    conversation = (
        Conversation.objects.live()
        .filter(pk=conversation_id, reporter_key_id=value.get("k"))
        .first()
    )
    if conversation is None:
        raise Refused(_("This conversation no longer exists."), 403)
    return conversation
