"""Renew the screenshots in docs/screenshots/ from a running demo.

    make run                # in one terminal (PORT=8000 unless you set it)
    make screenshots        # in another: signs in as the demo professional and saves PNGs

Signs in with the demo professional's password and TOTP code (demo-credentials.json), then
photographs the dashboard, a patient's overview and their blood-pressure chart at desktop
(1280 px) and phone (390 px) width in Debian's Chromium, in Dutch. Nothing here runs in the
tests; it only reads pages, like a person clicking through the demo.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import struct
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def totp(secret_b32: str, at: float | None = None) -> str:
    """The current six-digit code of an RFC 6238 secret (what an authenticator app shows)."""
    key = base64.b32decode(secret_b32)
    counter = struct.pack(">Q", int((at or time.time()) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{code % 1_000_000:06d}"


def sign_in(page: Page, base: str, login: dict) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", login["email"])
    page.fill("input[name=password]", login["password"])
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/mfa/"))
    # A code is accepted once: signed in again within its 30 seconds, wait for the next one.
    for _attempt in range(2):
        page.fill("input[name=code]", totp(login["totp_secret"]))
        page.locator("main form button[type=submit]").first.click()
        try:
            page.wait_for_url(re.compile(r"/patients/"), timeout=5000)
            return
        except PlaywrightTimeout:
            time.sleep(31 - time.time() % 30)
    raise SystemExit("The second factor was not accepted: is the clock right?")


def shoot(page: Page, url: str, name: str, out: Path, element: str = "") -> None:
    """The whole page, or only `element` (a CSS selector) where the page is long."""
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        page.wait_for_load_state("networkidle")
        path = out / f"{name}-{size}.png"
        if element:
            page.locator(element).screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=True)
        print(f"  {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--credentials", type=Path, default=ROOT / "demo-credentials.json")
    parser.add_argument("--out", type=Path, default=HERE / "screenshots")
    args = parser.parse_args()
    logins = json.loads(args.credentials.read_text())
    professional = next(entry for entry in logins if entry["role"] == "professional")
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam").new_page()
        sign_in(page, args.url, professional)
        base = args.url
        shoot(page, f"{base}/patients/", "dashboard", args.out)
        # The patient the triage puts first: the one a physiotherapist opens first.
        page.goto(f"{base}/patients/")
        overview = page.locator("table tbody th a").first.get_attribute("href")
        shoot(page, base + overview, "patient-overview", args.out)
        chart = f"{base}{overview}measurements/?kind=blood_pressure&period=90d"
        shoot(page, chart, "chart", args.out, element="figure.measurement-chart")
        browser.close()


if __name__ == "__main__":
    main()
