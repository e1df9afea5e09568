"""T28: production settings pass `check --deploy`, DEBUG is off by default, secrets are required,
and error pages are generic."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client
from django.urls import path

import portal.urls
from clinics.access import public

SOURCE_DIRS = (
    *("portal", "clinics", "patients", "messaging", "exercises", "appointments", "documents"),
    *("templates", "static", "locale"),
)


@pytest.fixture(scope="session")
def release_tree(tmp_path_factory) -> Path:
    """The code as it is deployed: without the developer's .env, which would fill in secrets."""
    tree = tmp_path_factory.mktemp("release")
    base = Path(settings.BASE_DIR)
    ignore = shutil.ignore_patterns("__pycache__", "tests", "*.pyc")
    for name in SOURCE_DIRS:
        if (base / name).is_dir():
            shutil.copytree(base / name, tree / name, ignore=ignore)
    shutil.copy2(base / "manage.py", tree / "manage.py")
    assert not (tree / ".env").exists()
    return tree


def production_env(**overrides: str | None) -> dict[str, str]:
    """A production-like environment with made-up secrets; None removes a variable."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "ALLOWED_HOSTS": "portal.example",
        "DATABASE_URL": "sqlite://:memory:",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(tree: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_passes_with_production_settings(release_tree):
    """`manage.py check --deploy --fail-level WARNING` finds nothing to warn about."""
    result = run(
        release_tree,
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


SHOW_SETTINGS = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
)


def test_debug_defaults_to_off_with_production_security(release_tree):
    """Without DEBUG in the environment: DEBUG off, HTTPS redirect, secure cookies, HSTS."""
    result = run(release_tree, ["-c", SHOW_SETTINGS], production_env(DEBUG=None))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "31536000"]


@pytest.mark.parametrize(
    "variable", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL", "CELERY_BROKER_URL"]
)
def test_missing_secret_fails_at_start_up_with_debug_off(release_tree, variable):
    """No production defaults for secrets: a missing one stops `manage.py check` with its name."""
    result = run(release_tree, ["manage.py", "check"], production_env(**{variable: None}))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


# --- generic error pages -------------------------------------------------------------------

SENTINEL = "Zebravink"


@public
def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(f"{SENTINEL} internal detail")


urlpatterns = [path(f"fail-{SENTINEL}/", failing_view), *portal.urls.urlpatterns]


def assert_generic(content: str, *secrets_: str) -> None:
    for text in ("Traceback", "RuntimeError", "Exception", 'File "', *secrets_):
        assert text not in content, text


@pytest.mark.urls(__name__)
def test_server_error_page_is_generic(db):
    """A crash answers 500 with the portal's own page: no stack trace, no message, no path."""
    client = Client(raise_request_exception=False)
    response = client.get(f"/fail-{SENTINEL}/?q={SENTINEL}")
    assert response.status_code == 500
    content = response.content.decode()
    assert "Er is iets misgegaan" in content  # Dutch by default, like every page
    assert "portal.css" in content
    assert_generic(content, SENTINEL)


def test_server_error_page_renders_without_a_request():
    """Django renders 500.html with no request context: it must not need one."""
    content = loader.get_template("500.html").render()
    assert "<html" in content
    assert "Something went wrong" in content or "misgegaan" in content


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_not_found_page_is_generic_and_does_not_echo_the_path(client_for, alice, signed_in):
    """404: the portal's page, without the requested path or query anywhere in it."""
    client = client_for(alice) if signed_in else Client()
    response = client.get(f"/no-such-page-{SENTINEL}/", {"q": f"<b>{SENTINEL}</b>"})
    assert response.status_code == 404
    content = response.content.decode()
    assert 'class="site-header"' in content  # our layout, not Django's bare page
    assert_generic(content, SENTINEL)


def test_forbidden_page_is_generic(client_for, alice):
    """403: the portal's page, no reason given and no path echoed."""
    response = client_for(alice).get("/patients/me/access-log/", {"x": SENTINEL})
    assert response.status_code == 403
    content = response.content.decode()
    assert 'class="site-header"' in content
    assert_generic(content, SENTINEL, "access-log")


def test_bad_request_page_is_generic(db):
    """400 (an unknown Host header): the portal's page, without the offending host."""
    response = Client().get("/", HTTP_HOST=f"{SENTINEL.lower()}.evil.example")
    assert response.status_code == 400
    content = response.content.decode()
    assert 'class="site-header"' in content
    assert_generic(content, SENTINEL.lower())


def test_error_pages_are_translated(client_for, alice):
    """The error pages speak the user's language: Dutch by default, English when chosen."""
    client = client_for(alice)
    dutch = client.get(f"/no-such-page-{SENTINEL}/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(f"/no-such-page-{SENTINEL}/").content.decode()
    assert "Pagina niet gevonden" in dutch
    assert "Page not found" in english
    assert 'lang="nl"' in dutch and 'lang="en"' in english


# --- the demo -----------------------------------------------------------------------------

SHOW_NOT_FOUND = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
response = Client(HTTP_HOST="127.0.0.1:8000").get("/no-such-page-Zebravink/")
print(json.dumps({
    "debug": settings.DEBUG,
    "status": response.status_code,
    "csp": response.get("Content-Security-Policy", ""),
    "content": response.content.decode(),
}))
"""


def test_the_demo_shows_the_portals_own_not_found_page(release_tree, tmp_path):
    """`make run`'s generated .env: an unknown URL gets the portal's 404 under the CSP, not
    Django's technical page listing every URL pattern."""
    makefile = Path(settings.BASE_DIR) / "Makefile"
    subprocess.run(["make", "-s", "-f", str(makefile), ".env"], cwd=tmp_path, check=True)
    demo = dict(
        line.split("=", 1) for line in (tmp_path / ".env").read_text().splitlines() if "=" in line
    )
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "portal.settings", **demo}

    result = run(release_tree, ["-c", SHOW_NOT_FOUND], env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout.splitlines()[-1])
    assert shown["debug"] is False
    assert shown["status"] == 404
    assert "default-src 'none'" in shown["csp"]
    assert 'class="site-header"' in shown["content"]
    assert "URLconf" not in shown["content"]
    assert "accounts/" not in shown["content"]
    assert_generic(shown["content"], SENTINEL)
