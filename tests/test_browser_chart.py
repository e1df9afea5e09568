"""End to end in headless Chromium: the measurement chart draws under the portal's CSP.

The professional is signed in by the test client (`client_for`: password and second factor
already passed) and the session cookie handed to the browser: the sign-in flow itself is covered
by test_browser.py. As there, every database row is made before Playwright starts, because Django
refuses ORM calls from a thread with a running asyncio loop.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect, sync_playwright

from patients.measurements.charts import MAX_RAW_POINTS
from patients.tests.test_charts import bulk_readings, every
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT_MS = 10_000


def test_blood_pressure_chart_draws_without_errors_or_csp_violations(
    live_server, client_for, alice, patient_a, tmp_path: Path
) -> None:
    """The aggregated blood-pressure chart draws at a real size; no console error, no CSP report."""
    # Past the raw-point threshold, so the band, legend and pulse-axis code paths all run.
    times = every(MAX_RAW_POINTS + 50, step=datetime.timedelta(hours=1))
    bulk_readings(patient_a, times, kind="blood_pressure", systolic=131, diastolic=84, pulse=66)
    session = client_for(alice).cookies[settings.SESSION_COOKIE_NAME].value
    path = reverse("patients:measurements", args=[patient_a.pk]) + "?kind=blood_pressure"
    with translation.override("nl"):  # the browser asks for Dutch, the default
        aggregated = gettext(
            "Aggregated per day: the line is the daily mean, the shaded band the lowest to "
            "highest reading."
        )

    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="nl-NL", viewport={"width": 1000, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            console.attach(page)
            try:
                response = page.goto(live_server.url + path)
                assert response is not None and response.status == 200
                # No violations means something only while a policy is actually enforced.
                assert "content-security-policy" in response.headers

                figure = page.locator("figure.measurement-chart")
                expect(figure).to_be_visible()
                expect(figure.locator("figcaption")).to_contain_text(aggregated)
                root = figure.locator(".uplot")
                expect(root).to_have_count(1)
                box = root.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 150
                canvas = root.locator("canvas").bounding_box()
                assert canvas is not None and canvas["width"] > 0 and canvas["height"] > 0

                # Narrower window, narrower chart: the module redraws on resize.
                page.set_viewport_size({"width": 480, "height": 900})
                page.wait_for_function(
                    "width => document.querySelector('figure .uplot').offsetWidth < width",
                    arg=box["width"],
                )
                page.wait_for_load_state("load")
            finally:
                # A debugging aid only: kept in pytest's tmp_path, never in the repository.
                page.screenshot(path=tmp_path / "measurement-chart.png", full_page=True)
        finally:
            browser.close()

    assert console.csp_violations == []
    assert console.errors == []
