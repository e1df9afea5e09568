"""End to end in headless Chromium: a professional signs in with password and TOTP.

Two things about the environment, checked rather than assumed:
- The test settings keep the production cookie flags (`SESSION_COOKIE_SECURE`,
  `CSRF_COOKIE_SECURE`) although the live server speaks plain http. Chromium treats
  http://localhost as a secure context and stores and sends Secure cookies to it (checked with
  Chromium 156), so no settings override is needed: the test runs with the real flags.
- Playwright's sync API runs an asyncio loop in this thread while a browser is open, and Django
  refuses ORM calls from a thread with a running loop. All database rows are therefore created
  before Playwright starts; inside the browser block only in-memory values are used (the TOTP
  code is computed from the device key already loaded).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.account.forms import LoginForm
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect, sync_playwright

from clinics.models import Role
from clinics.tests.factories import (
    DEFAULT_PASSWORD,
    ClinicFactory,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from clinics.tests.flows import current_code
from patients.tests.factories import PatientFactory
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

# The interface is Dutch by default; the browser asks for Dutch so the default path is tested.
BROWSER_LOCALE = "nl-NL"
LANGUAGE = "nl"
TIMEOUT_MS = 10_000


def _texts(clinic_name: str) -> dict[str, str]:
    """The labels and headings the browser should see, in the language it asks for."""
    with translation.override(LANGUAGE):
        login_form = LoginForm(request=RequestFactory().get("/"))
        return {
            "email": str(login_form.fields["login"].label),
            "password": str(login_form.fields["password"].label),
            "sign_in": gettext("Sign in"),
            "mfa_heading": gettext("Two-factor authentication"),
            "code": gettext("Code"),
            "verify": gettext("Verify"),
            "patients_heading": gettext("Patients of %(clinic)s") % {"clinic": clinic_name},
        }


def test_professional_signs_in_with_password_and_totp_and_sees_patient_list(
    live_server, tmp_path: Path
) -> None:
    """In a real browser, password then TOTP lead a professional to their clinic's patients."""
    clinic = ClinicFactory(name="Fysio Browserdorp")
    user = UserFactory(email="bram@browserdorp.example")
    MembershipFactory(clinic=clinic, user=user, role=Role.PROFESSIONAL)
    device = TOTPDeviceFactory(user=user)
    PatientFactory(clinic=clinic, given_name="Petra", family_name="van Dijk")
    texts = _texts(clinic.name)
    login_path = reverse("account_login")
    verify_path = reverse("mfa:verify")
    list_path = reverse("patients:list")

    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale=BROWSER_LOCALE)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            console.attach(page)
            try:
                page.goto(live_server.url + "/")
                expect(page).to_have_url(re.compile(re.escape(login_path) + r"\?next=/$"))
                main = page.locator("main")
                expect(main.get_by_role("heading", level=1)).to_have_text(texts["sign_in"])

                main.get_by_label(texts["email"]).fill(user.email)
                main.get_by_label(texts["password"]).fill(DEFAULT_PASSWORD)
                main.get_by_role("button", name=texts["sign_in"]).click()

                expect(page).to_have_url(re.compile(re.escape(verify_path)))
                expect(main.get_by_role("heading", level=1)).to_have_text(texts["mfa_heading"])
                # Before the second factor the header offers no role's pages.
                expect(page.locator(f'header a[href="{list_path}"]')).to_have_count(0)
                main.get_by_label(texts["code"]).fill(current_code(device))
                with page.expect_response(
                    lambda response: response.url == live_server.url + list_path
                ) as dashboard:
                    main.get_by_role("button", name=texts["verify"]).click()

                expect(page).to_have_url(live_server.url + list_path)
                expect(main.get_by_role("heading", level=1)).to_have_text(texts["patients_heading"])
                expect(main.get_by_role("link", name="Petra van Dijk")).to_be_visible()
                # No violations means something only while a policy is actually enforced.
                assert "content-security-policy" in dashboard.value.headers
                page.wait_for_load_state("load")
            finally:
                # A debugging aid only: kept in pytest's tmp_path, never in the repository.
                page.screenshot(path=tmp_path / "patient-list.png", full_page=True)
        finally:
            browser.close()

    assert console.csp_violations == []
    assert console.errors == []
