"""allauth's account pages look and read like the portal's own forms (issue 9)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from clinics.tests.factories import TOTPDeviceFactory
from clinics.tests.flows import password_login

ACCOUNT_PAGES = ["account_email", "account_change_password", "account_reset_password"]
# Each language's word for the address, and the spellings the portal does not use.
WORDING = {
    "en": ("E-mail address", re.compile(r"\b[Ee]mail\b")),
    "nl": ("E-mailadres", re.compile(r"\bEmailadres|\bemailadres|\bE-mail adres")),
}


def _get(client, name: str, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.get(reverse(name))


@pytest.mark.parametrize("name", ACCOUNT_PAGES)
def test_account_page_renders_inside_the_portal_layout_with_portal_buttons(client_for, alice, name):
    """The page has the site header, a card with the form component, and only portal buttons."""
    html = _get(client_for(alice), name, "nl").content.decode()
    assert 'class="site-header"' in html
    assert 'class="narrow card account-page"' in html
    assert 'class="field' in html
    buttons = re.findall(r"<button\b[^>]*>", html)
    main = html[html.index("<main") :]
    assert re.findall(r"<button\b[^>]*>", main), "the page has a submit button"
    unstyled = [b for b in buttons if 'class="button' not in b and 'class="link-button' not in b]
    assert unstyled == []


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("name", ACCOUNT_PAGES)
def test_account_page_says_e_mail_address_the_portal_way(client_for, alice, name, language):
    """The pages write "E-mail address" / "E-mailadres", never "Email" or "Email address"."""
    html = _get(client_for(alice), name, language).content.decode()
    # The visible text only: attributes (name="email", type="email") are not wording.
    main = re.sub(r"<[^>]*>", " ", html[html.index("<main") : html.index("</main>")])
    word, wrong = WORDING[language]
    if name != "account_change_password":
        assert word.lower() in main.lower()
    assert wrong.findall(main) == []


def test_second_factor_page_does_not_greet_before_verification(db, client, alice):
    """After the password only, the code page does not say "You are signed in as ..."."""
    TOTPDeviceFactory(user=alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = password_login(client, alice.email, follow=True)
    assert response.request["PATH_INFO"] == reverse("mfa:verify")
    html = response.content.decode()
    assert "signed in as" not in html.lower()
    assert alice.email not in html
