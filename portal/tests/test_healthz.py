"""The load balancer's health check answers for the real database and the real broker."""

from __future__ import annotations

import json
import socket
import time

import pytest
from django.test import Client
from django.urls import reverse

from portal.celery import app as celery_app


def healthz(client: Client | None = None, **extra: object) -> tuple[int, dict[str, str]]:
    response = (client or Client()).get(reverse("healthz"), **extra)
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    return response.status_code, json.loads(response.content)


def closed_port() -> int:
    """A local port nobody listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(settings, monkeypatch):
    """Point settings and the live Celery app at a closed port; restore both afterwards."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    previous = celery_app.conf.broker_url
    settings.CELERY_BROKER_URL = url
    # Celery's conf.broker_url prefers the CELERY_BROKER_URL environment variable (set for the
    # tests) over an assigned value, so both are switched.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    celery_app.conf.broker_url = url
    assert celery_app.conf.broker_write_url == url
    yield monkeypatch
    monkeypatch.undo()
    celery_app.conf.broker_url = previous


def test_healthz_is_ok_with_postgresql_and_redis_up(db):
    """With the test database and Redis running, every check says ok."""
    assert celery_app.conf.broker_url.startswith("redis://")
    status, body = healthz()
    assert status == 200
    assert body == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_reports_a_broker_that_is_down_quickly_and_recovers(db, broker_down):
    """A refusing broker gives 503 with broker 'down' in under 5 s; once back, 200 again."""
    started = time.monotonic()
    status, body = healthz()
    elapsed = time.monotonic() - started
    assert status == 503
    assert body == {"status": "unavailable", "database": "ok", "broker": "down"}
    assert elapsed < 5, f"health check took {elapsed:.1f} s"
    # Each check opens a fresh connection: no stale failure is remembered.
    broker_down.undo()
    assert healthz()[0] == 200


def test_healthz_answers_over_plain_http_behind_the_load_balancer(db, settings):
    """The HTTPS redirect exempts /healthz, so a plain-HTTP probe gets the answer, not a 301."""
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get(reverse("patients:list")).status_code == 301
    status, body = healthz()
    assert status == 200 and body["status"] == "ok"


def test_healthz_needs_no_login_and_reveals_nothing_else(client_for, alice):
    """Anonymous and signed-in callers get the same three keys, nothing about users or data."""
    anonymous = healthz()
    signed_in = healthz(client_for(alice))
    assert anonymous == signed_in
    assert set(anonymous[1]) == {"status", "database", "broker"}
