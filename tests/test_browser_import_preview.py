"""In headless Chromium at phone width: the import preview's tables fit a 390 px screen.

Signed in through the test client, as in test_browser_chart.py; every database row is made before
Playwright starts (Django refuses ORM calls from a thread with a running asyncio loop).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import sync_playwright

from patients.tests.test_imports import upload
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

FILES = Path(__file__).resolve().parent.parent / "patients" / "tests" / "files"
PHONE = {"width": 390, "height": 844}


def test_import_preview_fits_a_phone_without_horizontal_scrolling(
    live_server, client_for, alice, patient_a, tmp_path: Path
) -> None:
    """New readings with a device name of one long word, and refused rows, stack into labelled
    cells that wrap: the page is no wider than the phone."""
    header, *rows = (FILES / "omron_nl.csv").read_text().splitlines()
    device = "M7IntelliIT" * 10 + "HEM7361TEBK"  # one word, as some exports write model codes
    refused = [f"{d} mrt 2025,08:00,400,85,68,-,-,-, , , , , ,-, ,M7,-" for d in range(1, 20)]
    content = "\n".join([header, *(r.replace("M7 Intelli IT", device) for r in rows), *refused])
    client = client_for(alice)
    response = upload(client, patient_a, content.encode(), name="omron.csv")
    assert response.status_code == 302
    session = client.cookies[settings.SESSION_COOKIE_NAME].value

    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="nl-NL", viewport=PHONE)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            console.attach(page)
            try:
                page.goto(live_server.url + response.url)
                assert page.locator("table.table").count() == 2  # new readings, refused rows
                assert page.get_by_text(device[:20]).count() == 2
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= PHONE["width"], f"the page is {width} px wide"
            finally:
                # A debugging aid only: kept in pytest's tmp_path, never in the repository.
                page.screenshot(path=tmp_path / "import-preview-phone.png", full_page=True)
        finally:
            browser.close()
    assert console.errors == []
