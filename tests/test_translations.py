"""The Dutch catalogue is complete and compiled, pages speak Dutch unless English is chosen, and
allauth's pages and e-mails address the user as "u" like the rest of the portal."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import allauth
import polib
import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from clinics.models import User

ROOT = Path(settings.BASE_DIR)
PO_PATH = ROOT / "locale" / "nl" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# The same flags as the Makefile's `messages` target, so the test sees what a developer sees.
MAKEMESSAGES = [
    "makemessages",
    "-l",
    "nl",
    "--no-obsolete",
    "--ignore=.venv",
    "--ignore=staticfiles",
    "--ignore=tests",
]

# Not source: the virtualenv, generated files, runtime data and the demo's secrets.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".env",
    "var",
    "staticfiles",
    "media",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.pyc",
)


def _is_translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def _translations(catalogue: polib._BaseFile) -> dict[tuple[str | None, str], tuple[str, ...]]:
    """What a catalogue translates, keyed like gettext keys it (context, msgid)."""
    result = {}
    for entry in catalogue:
        if entry.obsolete or not entry.msgid or "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural:
            forms = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            forms = (entry.msgstr,)
        if all(forms):
            result[(entry.msgctxt, entry.msgid)] = forms
    return result


@pytest.fixture(scope="module")
def fresh_catalogue(tmp_path_factory: pytest.TempPathFactory) -> polib.POFile:
    """The nl catalogue as makemessages makes it from today's source, merged with the committed
    translations (made in a copy, so the working tree's catalogue is left alone)."""
    copy = tmp_path_factory.mktemp("source") / "portal"
    shutil.copytree(ROOT, copy, ignore=NOT_SOURCE)
    subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return polib.pofile(str(copy / "locale" / "nl" / "LC_MESSAGES" / "django.po"))


def test_dutch_catalogue_translates_every_string_in_the_source(
    fresh_catalogue: polib.POFile,
) -> None:
    """Every translatable string in code and templates has a checked (non-fuzzy) Dutch text."""
    problems = [
        f"{'fuzzy' if 'fuzzy' in entry.flags else 'untranslated'}: {entry.msgid!r}"
        f" ({', '.join(f'{path}:{line}' for path, line in entry.occurrences[:2])})"
        for entry in fresh_catalogue
        if not entry.obsolete and ("fuzzy" in entry.flags or not _is_translated(entry))
    ]
    assert not problems, "Run `make messages` and translate:\n" + "\n".join(problems)


def test_dutch_catalogue_has_no_fuzzy_header_and_two_plural_forms() -> None:
    """The committed catalogue is marked checked and declares Dutch's two plural forms."""
    catalogue = polib.pofile(str(PO_PATH))
    assert not catalogue.metadata_is_fuzzy
    assert catalogue.metadata["Plural-Forms"].startswith("nplurals=2; plural=(n != 1);")
    for entry in (e for e in catalogue if e.msgid_plural):
        assert sorted(entry.msgstr_plural) == [0, 1], entry.msgid


def test_compiled_dutch_catalogue_matches_the_po_file(tmp_path: Path) -> None:
    """The committed .mo holds exactly the .po's translations, so `make run` needs no gettext."""
    po = polib.pofile(str(PO_PATH))
    fresh_mo = tmp_path / "django.mo"
    po.save_as_mofile(str(fresh_mo))
    committed = polib.mofile(str(MO_PATH))
    expected = polib.mofile(str(fresh_mo))
    assert _translations(committed) == _translations(expected), (
        "locale/nl/LC_MESSAGES/django.mo is stale: run `make messages`"
    )
    assert committed.metadata.get("Plural-Forms") == po.metadata["Plural-Forms"]


def _login_heading(client: Client) -> str:
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_login_page_is_dutch_by_default() -> None:
    """Without a language choice the login page is in Dutch."""
    page = _login_heading(Client())
    assert "<h1>Inloggen</h1>" in page
    assert 'lang="nl"' in page


@pytest.mark.django_db
def test_browser_language_does_not_switch_the_portal_to_english() -> None:
    """An English-language browser still gets Dutch: Accept-Language is deliberately ignored."""
    page = _login_heading(Client(headers={"accept-language": "en-GB,en;q=0.9"}))
    assert "<h1>Inloggen</h1>" in page
    assert "<h1>Sign in</h1>" not in page


@pytest.mark.django_db
def test_choosing_english_switches_pages_to_english_and_back() -> None:
    """After choosing English via set_language pages are English; choosing Dutch returns."""
    client = Client()
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = _login_heading(client)
    assert "<h1>Sign in</h1>" in page
    assert 'lang="en"' in page

    client.post(reverse("set_language"), {"language": "nl", "next": "/"})
    assert "<h1>Inloggen</h1>" in _login_heading(client)


@pytest.mark.django_db
def test_unsupported_language_cookie_falls_back_to_dutch() -> None:
    """A language cookie naming a language the portal does not offer gives Dutch."""
    client = Client(headers={"accept-language": "en"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    assert "<h1>Inloggen</h1>" in _login_heading(client)


@pytest.mark.django_db
def test_allauth_pages_we_do_not_override_use_allauths_dutch() -> None:
    """allauth's own templates (password reset sent) show allauth's Dutch translation."""
    response = Client().get(reverse("account_reset_password_done"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nieuw wachtwoord" in page
    assert "Password Reset" not in page


# allauth's own Dutch says "je"; the portal says "u" (clinics/allauth_strings.py).
INFORMAL_PRONOUN = re.compile(r"\b(je|jij|jou|jouw)\b", re.IGNORECASE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _listed_allauth_strings() -> tuple[str, ...]:
    from clinics import allauth_strings

    return (
        *allauth_strings.FORM_ERRORS,
        *allauth_strings.PAGES,
        *allauth_strings.MESSAGES,
        *allauth_strings.EMAILS,
    )


def test_listed_allauth_strings_have_formal_dutch_translations_that_override_allauths() -> None:
    """Each listed msgid is still allauth's (same text) and our catalogue gives it in the u-form."""
    allauth_po = Path(allauth.__file__).parent / "locale" / "nl" / "LC_MESSAGES" / "django.po"
    allauth_ids = {e.msgid for e in polib.pofile(str(allauth_po)) if not e.obsolete}
    ours = _translations(polib.pofile(str(PO_PATH)))
    problems = []
    for msgid in _listed_allauth_strings():
        translated = ours.get((None, msgid), ("",))[0]
        if msgid not in allauth_ids:
            problems.append(f"not an allauth msgid (any more): {msgid!r}")
        if not translated or INFORMAL_PRONOUN.search(translated):
            problems.append(f"missing or informal: {msgid!r} -> {translated!r}")
        if sorted(PLACEHOLDER.findall(translated)) != sorted(PLACEHOLDER.findall(msgid)):
            problems.append(f"placeholders differ: {msgid!r} -> {translated!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url_name", "dutch"),
    [
        ("account_reset_password", "Wachtwoord vergeten? Vul uw e-mailadres in"),
        ("account_signup", "registreren is op dit moment niet mogelijk"),
    ],
)
def test_allauth_pages_address_the_user_formally_in_dutch(url_name: str, dutch: str) -> None:
    """The password reset and sign-up-closed pages speak Dutch with "u", never "je/jij/jouw"."""
    response = Client().get(reverse(url_name))
    assert response.status_code == 200
    page = response.content.decode()
    assert dutch in page
    assert not INFORMAL_PRONOUN.findall(page)


@pytest.mark.django_db
def test_allauth_password_reset_email_addresses_the_user_formally_in_dutch(alice: User) -> None:
    """The password reset e-mail (subject and body) is Dutch with "u", never "je/jij/jouw"."""
    Client().post(reverse("account_reset_password"), {"email": alice.email})
    [message] = mail.outbox
    assert "U ontvangt deze e-mail" in message.body
    assert not INFORMAL_PRONOUN.findall(message.subject + "\n" + message.body)


@pytest.mark.django_db
def test_allauth_signed_out_message_addresses_the_user_formally_in_dutch(
    client_for: Callable[[User], Client], alice: User
) -> None:
    """After logging out the page says "U bent uitgelogd.", not allauth's "Je bent afgemeld."."""
    response = client_for(alice).post(reverse("account_logout"), follow=True)
    page = response.content.decode()
    assert "U bent uitgelogd." in page
    assert not INFORMAL_PRONOUN.findall(page)
