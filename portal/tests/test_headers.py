"""T29: security headers on every kind of response, cookie flags, and templates fit the CSP."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone

ONE_YEAR = 365 * 24 * 60 * 60
OUR_APPS = ("clinics", "patients", "messaging")


def _get(client: Client, path: str, **params: object) -> HttpResponseBase:
    # secure=True: HSTS is only ever sent over HTTPS, as the load balancer forwards it.
    return client.get(path, params, secure=True)


def html_page(client_for, alice, adam, patient_a):
    return _get(client_for(alice), reverse("patients:list"))


def anonymous_redirect(client_for, alice, adam, patient_a):
    return _get(Client(), reverse("patients:list"))


def signed_in_redirect(client_for, alice, adam, patient_a):
    return _get(client_for(alice), reverse("home"))


def not_found(client_for, alice, adam, patient_a):
    return _get(client_for(alice), reverse("patients:detail", args=[patient_a.pk + 1000]))


def anonymous_not_found(client_for, alice, adam, patient_a):
    return _get(Client(), "/no-such-page/")


def forbidden(client_for, alice, adam, patient_a):
    return _get(client_for(alice), reverse("patients:my_access_log"))


def json_health(client_for, alice, adam, patient_a):
    return _get(Client(), reverse("healthz"))


def csv_download(client_for, alice, adam, patient_a):
    response = _get(client_for(adam), reverse("clinics:access_log_export"))
    b"".join(response.streaming_content)
    return response


def static_file(client_for, alice, adam, patient_a):
    return _get(Client(), settings.STATIC_URL + "css/portal.css")


KINDS: dict[str, tuple[Callable, int, bool]] = {
    # name: (request, expected status, seen by a signed-in user)
    "html": (html_page, 200, True),
    "redirect": (anonymous_redirect, 302, False),
    "signed-in-redirect": (signed_in_redirect, 302, True),
    "404": (not_found, 404, True),
    "anonymous-404": (anonymous_not_found, 404, False),
    "403": (forbidden, 403, True),
    "json": (json_health, 200, False),
    "csv": (csv_download, 200, True),
    "static": (static_file, 200, False),
}


def _response(name: str, client_for, alice, adam, patient_a) -> HttpResponseBase:
    make, status, _signed_in = KINDS[name]
    response = make(client_for, alice, adam, patient_a)
    assert response.status_code == status
    return response


@pytest.fixture(params=list(KINDS))
def kind(request, client_for, alice, adam, patient_a):
    return _response(request.param, client_for, alice, adam, patient_a)


@pytest.fixture(params=[name for name, (_m, _s, signed_in) in KINDS.items() if signed_in])
def signed_in_kind(request, client_for, alice, adam, patient_a):
    return _response(request.param, client_for, alice, adam, patient_a)


def csp_directives(response: HttpResponseBase) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def test_every_response_sends_hsts_for_at_least_a_year(kind):
    """HSTS with max-age of one year or more and includeSubDomains."""
    response = kind
    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= ONE_YEAR
    assert "includeSubDomains" in hsts


def test_every_response_has_a_strict_content_security_policy(kind):
    """CSP without unsafe-*, locking objects, base URI and framing, with no third-party origin."""
    response = kind
    header = response.headers["Content-Security-Policy"]
    assert "unsafe-" not in header
    directives = csp_directives(response)
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    allowed = {"'self'", "'none'", "data:"}
    # blob: for images only: a decrypted attachment's preview, made in the page itself.
    extra = {"img-src": {"blob:"}}
    for name, sources in directives.items():
        assert set(sources) <= allowed | extra.get(name, set()), f"{name} allows {sources}"


def test_every_response_forbids_sniffing_framing_and_leaky_referrers(kind):
    """nosniff, X-Frame-Options DENY and a same-origin Referrer-Policy everywhere."""
    response = kind
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}


def test_every_response_to_a_signed_in_user_is_not_stored(signed_in_kind):
    """Pages of a signed-in user may hold patient data: Cache-Control no-store."""
    response = signed_in_kind
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]


def test_session_and_csrf_cookies_are_secure_httponly_and_samesite(client_for, alice):
    """The cookies a signed-in page sets never travel in clear, to scripts or cross-site posts."""
    client = client_for(alice)
    # A page sets the session cookie when it saves the session: once per refresh interval.
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_REFRESH_INTERVAL)):
        response = _get(client, reverse("patients:list"))
    for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
        cookie = response.cookies[name]
        assert cookie["secure"] is True, name
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] in ("Lax", "Strict"), name


def test_language_cookie_is_secure_httponly_and_samesite(db):
    """Choosing a language sets a cookie with the same protections."""
    client = Client(enforce_csrf_checks=False)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"}, secure=True)
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] in ("Lax", "Strict")


def template_files() -> list[Path]:
    """Our templates: the project's templates/ and the templates/ of our own apps."""
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    roots += [Path(apps.get_app_config(a).path) / "templates" for a in OUR_APPS]
    roots.append(Path(settings.BASE_DIR) / "portal" / "templates")
    files = [f for root in roots if root.is_dir() for f in root.rglob("*") if f.is_file()]
    return sorted(f for f in files if f.suffix in {".html", ".svg", ".xml"})


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def test_templates_use_no_inline_script_or_style():
    """The CSP forbids inline code, so no template of ours may contain any (it would break)."""
    files = template_files()
    assert any(f.name == "base.html" for f in files)
    offenders = [
        f"{path}: {match.group(0)}"
        for path in files
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER)
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_template_scan_catches_inline_code():
    """The patterns above do flag what they are meant to flag (and leave external files alone)."""
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert INLINE_SCRIPT.search('<script type="module">import "x";</script>')
    assert not INLINE_SCRIPT.search('<script type="module" src="/static/js/a.js"></script>')
    assert INLINE_STYLE.search('<p style="color: red">')
    assert INLINE_STYLE.search("<style>p {}</style>")
    assert not INLINE_STYLE.search('<link rel="stylesheet" href="/static/css/portal.css">')
    assert INLINE_HANDLER.search('<a href="#" onclick="go()">')
