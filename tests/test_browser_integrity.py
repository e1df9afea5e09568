"""End to end in headless Chromium: the pages' modules run with their integrity checked, and a
module whose bytes differ from its integrity, the page's own or one it imports, does not run
(E2EE.md check 13, portal/static_integrity.py).

Tampering: the live server runs in this process, so the test makes `served_bytes` answer other
bytes for one file while the page is rendered; the server still sends the real file, exactly as
if the file had been changed after the page named its hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, expect, sync_playwright

from patients.tests.factories import add_measurement
from portal import static_integrity
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT_MS = 10_000
CHART = "js/measurement-chart.js"
UPLOT = "vendor/uplot-1.6.32/uPlot.esm.js"


@contextmanager
def page_of(live_server, session: str, path: str) -> Iterator[tuple[Page, ConsoleWatcher]]:
    """The page at `path`, loaded in a fresh Chromium, and its console."""
    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="nl-NL")
            context.set_default_timeout(TIMEOUT_MS)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            console.attach(page)
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200
            assert "content-security-policy" in response.headers
            page.wait_for_load_state("load")
            yield page, console
        finally:
            browser.close()


def tamper(monkeypatch, name: str) -> None:
    """Pages name a hash of other bytes for static `name` than the server sends."""
    real = static_integrity.served_bytes

    def served_bytes(stored: str) -> bytes:
        content = real(stored)
        return content + b"\n// tampered\n" if stored == name else content

    monkeypatch.setattr(static_integrity, "served_bytes", served_bytes)


@pytest.fixture
def chart_page(client_for, alice, patient_a) -> tuple[str, str]:
    """alice's session and the path of patient A's weight chart, with readings to draw."""
    for days in (1, 2, 3):
        add_measurement(patient_a, days, kind="weight", value=Decimal("80") + days)
    session = client_for(alice).cookies[settings.SESSION_COOKIE_NAME].value
    return session, reverse("patients:measurements", args=[patient_a.pk]) + "?kind=weight"


def test_chart_and_sparklines_run_with_integrity_and_no_console_error(
    live_server, chart_page, client_for, alice
) -> None:
    """Every script of the pages has an integrity, the modules run: no error, no CSP report."""
    session, path = chart_page
    with page_of(live_server, session, path) as (page, console):
        page.wait_for_function("document.querySelector('figure').measurementChart")
        expect(page.locator("figure.measurement-chart .uplot")).to_have_count(1)
        missing = page.evaluate(
            "[...document.querySelectorAll('script, link[rel=modulepreload]')]"
            ".filter((e) => !e.integrity.startsWith('sha384-')).length"
        )
        assert missing == 0
    assert console.errors == []

    with page_of(live_server, session, reverse("patients:list")) as (page, console):
        expect(page.locator(".sparkline .uplot").first).to_be_attached()
    assert console.errors == []


@pytest.mark.parametrize("name", [CHART, UPLOT], ids=["page-module", "imported-module"])
def test_chromium_refuses_a_module_whose_bytes_differ_from_its_integrity(
    live_server, chart_page, monkeypatch, name
) -> None:
    """Changed bytes, the page's module or uPlot it imports: the chart never runs, and Chromium
    says why (the imported one through its modulepreload)."""
    tamper(monkeypatch, name)
    session, path = chart_page
    with page_of(live_server, session, path) as (page, console):
        page.wait_for_timeout(500)  # time for the modules to run, had they been allowed to
        assert page.evaluate("document.querySelector('figure').measurementChart") is None
        expect(page.locator("figure.measurement-chart")).to_be_hidden()
    assert any("integrity" in e and name in e for e in console.errors), console.errors
