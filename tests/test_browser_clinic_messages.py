"""Clinic messages' pages (static/js/chat/thread.js, team-inbox.js, key.js) in headless Chromium:
a patient and a professional in browser contexts of their own exchange messages and a photo.

Issue 11's proof: the canary (E2EE.md check 1) with an attachment — no trace of the body, the
file's name or its bytes in a dump of the whole database, the application log (every SQL
statement with its parameters), Redis or the upload storage; the photo is previewed from its
decrypted bytes; a key of another clinic slipped into the directory is never wrapped to.

As in tests/test_browser_chat.py, the world is made and committed once for the module before
Playwright starts and flushed at the end, and a live server thread of our own serves it.
"""

from __future__ import annotations

import json
import re
import secrets
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from clinics.models import Role
from clinics.tests.factories import ClinicFactory, TOTPDeviceFactory, UserFactory
from conftest import login
from messaging import crypto
from messaging.models import ClinicMessage, ClinicWrap, Purpose
from messaging.tests.chat_world import PASSPHRASE, ChatWorld
from messaging.tests.clinic_world import certify, key_set_up
from patients.tests.factories import PatientFactory
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium
from tests.canary import ApplicationLog, found, in_thread, redis_dump
from tests.test_browser_chat import _staff
from tests.test_dump_canary import database_dump

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT_MS = 15_000
ARRIVAL_MS = 5_000
RUN = secrets.token_hex(4)
CANARY_BODY = f"Kanarieknie-{RUN}: mijn knie is dik sinds de oefeningen"
CANARY_FILE_NAME = f"knie-foto-{RUN}.png"
CANARY_IN_FILE = f"Kanariepixels-{RUN}"
ANSWER = f"Dank voor de foto ({RUN}); koel de knie en kom morgen langs."
PAUL_PASSPHRASE = f"groene fiets {RUN} in de regen"


def png_with(text: str, size: int = 24) -> bytes:
    """A real PNG (a red square) carrying `text` in a tEXt chunk: its bytes are the canary."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\xff\x00\x00" * size for _ in range(size))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\0" + text.encode())
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class Site:
    url: str
    browser: Browser
    sessions: dict[str, str]
    patient_id: int
    alice_key_id: str
    alice_name: str
    stranger: dict  # a team key certified by another clinic's clinic key, as a directory lists it
    upload_root: Path
    log: ApplicationLog
    console: ConsoleWatcher = field(default_factory=ConsoleWatcher)
    requests: list[str] = field(default_factory=list)
    contexts: dict[str, BrowserContext] = field(default_factory=dict)

    def page(self, name: str) -> Page:
        if name not in self.contexts:
            context = self.browser.new_context(locale="nl-NL")
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", self._record)
            cookie = {"name": settings.SESSION_COOKIE_NAME, "value": self.sessions[name]}
            context.add_cookies([{**cookie, "url": self.url}])
            page = context.new_page()
            self.console.attach(page)
            self.contexts[name] = context
        return self.contexts[name].pages[0]

    def _record(self, request) -> None:
        body = request.post_data_buffer or b""
        self.requests.append(f"{request.method} {request.url}\n{body!r}")


@pytest.fixture(scope="module")
def site(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker, tmp_path_factory
) -> Iterator[Site]:
    if not connections["default"].settings_dict["NAME"].startswith("test_"):
        pytest.fail("No test database.")
    log = ApplicationLog()
    upload_root = tmp_path_factory.mktemp("private")
    storages = {
        **settings.STORAGES,
        "private": {
            **settings.STORAGES["private"],
            "OPTIONS": {**settings.STORAGES["private"]["OPTIONS"], "location": upload_root},
        },
    }
    with django_db_blocker.unblock():
        server = None
        try:
            clinic = ClinicFactory(name="Fysio Knie")
            adam = _staff(clinic, Role.CLINIC_ADMIN, "adam@knie.example")
            alice = _staff(clinic, Role.PROFESSIONAL, "alice@knie.example")
            world = ChatWorld.make(clinic, adam)
            alice_keys = key_set_up(alice, 0)  # sealed under PASSPHRASE, not kept in a browser
            certify(clinic, adam, world.clinic_key, alice)
            paul = UserFactory(email="paul@knie.example")
            TOTPDeviceFactory(user=paul)
            patient = PatientFactory(
                clinic=clinic, user=paul, given_name="Paul", family_name="Knie"
            )
            # Another clinic's professional, certified there for clinic messages.
            other = ClinicFactory(name="Fysio Elders")
            otto = _staff(other, Role.PROFESSIONAL, "otto@elders.example")
            other_world = ChatWorld.make(
                other, _staff(other, Role.CLINIC_ADMIN, "o@elders.example")
            )
            otto_keys = key_set_up(otto, 1)
            otto_cert = certify(other, other_world.admin, other_world.clinic_key, otto)
            stranger = {
                "key_id": otto_keys.key_id,
                "kem_public": crypto.b64(otto_keys.kem_public),
                "sig_public": crypto.b64(otto_keys.sig_public),
                "purpose": Purpose.TEAM,
                "certificate": crypto.b64(bytes(otto_cert.signature)),
            }
            sessions = {
                name: login(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
                for name, user in (("alice", alice), ("paul", paul))
            }
            log.start()
            with override_settings(DEBUG=True, STORAGES=storages), sync_playwright() as pw:
                server = LiveServer("localhost")
                browser = launch_chromium(pw)
                try:
                    yield Site(
                        url=server.url,
                        browser=browser,
                        sessions=sessions,
                        patient_id=patient.pk,
                        alice_key_id=alice_keys.key_id,
                        alice_name=str(alice),
                        stranger=stranger,
                        upload_root=upload_root,
                        log=log,
                    )
                finally:
                    browser.close()
        finally:
            log.stop()
            if server is not None:
                server.stop()
            call_command("flush", interactive=False, verbosity=0)


def _ready(page: Page, root: str) -> None:
    page.locator(f"{root}[data-ready]").wait_for(state="attached")


def _message(page: Page, text: str):
    return page.locator("[data-log] .chat-message__body", has_text=text)


def _send(page: Page, text: str, *, file: dict | None = None) -> None:
    _ready(page, "#chat-thread")
    page.locator("#chat-body").fill(text)
    if file:
        page.locator("#chat-file").set_input_files(file)
    with page.expect_response(lambda r: r.request.method == "POST" and "messages" in r.url) as sent:
        page.locator("[data-composer] button[type=submit]").click()
    assert sent.value.status == 201, sent.value.text()
    expect(_message(page, text)).to_be_visible()


@pytest.fixture(scope="module")
def exchanged(site: Site) -> dict:
    """The patient sets up messages in the browser and writes with a photo; the professional,
    in her own browser, finds the thread in the team inbox, unlocks her key, sees the message
    and the photo previewed, and answers; the patient sees the answer without reloading."""
    paul = site.page("paul")
    paul.goto(site.url + reverse("clinic_messages:my_thread", args=[site.patient_id]))
    expect(paul).to_have_url(re.compile(re.escape(reverse("clinic_messages:my_key"))))
    _ready(paul, "#chat-key")
    paul.locator("#new-passphrase").fill(PAUL_PASSPHRASE)
    paul.locator("#new-passphrase-again").fill(PAUL_PASSPHRASE)
    paul.locator("[data-setup-form] button[type=submit]").click()
    code = paul.locator("[data-recovery-code]")
    expect(code).to_have_text(re.compile(r"^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$"))
    recovery = code.inner_text()
    paul.locator("#recovery-saved").check()
    paul.locator("[data-finish]").click()
    thread_url = site.url + reverse("clinic_messages:my_thread", args=[site.patient_id])
    expect(paul).to_have_url(thread_url)
    expect(paul.locator("main")).to_contain_text("730")

    photo = png_with(CANARY_IN_FILE)
    _send(paul, CANARY_BODY, file={"name": CANARY_FILE_NAME, "mimeType": "image/png",
                                   "buffer": photo})  # fmt: skip

    alice = site.page("alice")
    alice.goto(site.url + reverse("clinic_messages:team_inbox"))
    row = alice.locator("tbody a", has_text="Paul Knie")
    expect(row).to_be_visible()
    row.click()
    alice.locator("#page-passphrase").fill(PASSPHRASE)
    alice.locator("[data-page-unlock] button[type=submit]").click()
    expect(_message(alice, CANARY_BODY)).to_be_visible(timeout=ARRIVAL_MS)
    image = alice.locator(".chat-attachment__image")
    expect(image).to_be_visible()
    assert image.get_attribute("src").startswith("blob:")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 24
    expect(alice.locator(".chat-attachment a")).to_contain_text(CANARY_FILE_NAME)

    _send(alice, ANSWER)
    expect(_message(paul, ANSWER)).to_be_visible(timeout=ARRIVAL_MS)
    # The patient sees who answered: the team member's name, as the directory lists it.
    answer = paul.locator("[data-log] .chat-message", has_text=ANSWER)
    expect(answer.locator(".chat-message__meta")).to_contain_text(site.alice_name)
    # The patient's own photo is shown to them too (opened with their own wrap).
    expect(paul.locator(".chat-attachment__image")).to_be_visible()
    return {"photo": photo, "recovery": recovery}


# pytest-django creates the test database only when a collected test asks for it, and `site`
# reaches it through django_db_blocker, which it cannot see: this test asks, so the module also
# runs on its own.
@pytest.mark.django_db
def test_the_composer_sends_nothing_without_its_script(client_for, clinic_a, patient_a, paul):
    """The message field and the file field have no `name`: a browser without the script
    submits no text and no file in the clear."""
    key_set_up(paul, 3)
    page = client_for(paul).get(reverse("clinic_messages:my_thread", args=[patient_a.pk]))
    assert page.status_code == 200
    fields = re.findall(r"<(?:textarea|input)\b[^>]*>", page.content.decode(), re.S)
    composer = [f for f in fields if 'id="chat-body"' in f or 'id="chat-file"' in f]
    assert len(composer) == 2
    assert not [f for f in composer if " name=" in f]


@pytest.fixture
def clean_console(site: Site) -> Iterator[Site]:
    before = len(site.console.errors)
    yield site
    assert site.console.errors[before:] == []


def test_patient_and_professional_exchange_messages_and_a_photo_leaving_no_trace(
    clean_console: Site, exchanged: dict
) -> None:
    """Check 1 with an attachment: after the exchange, neither the body, the file's name nor
    the file's bytes are found in any form in the database dump, the application log, Redis or
    the upload storage; no request carried the patient's passphrase or recovery key."""
    site = clean_console
    stored = b"".join(p.read_bytes() for p in site.upload_root.rglob("*") if p.is_file())
    assert stored, "the attachment's ciphertext is in the upload storage"
    haystacks = {
        "the database dump": database_dump(),
        "the application log": site.log.text.encode(),
        "Redis": redis_dump(),
        "the upload storage": stored,
    }
    assert b"messaging_clinicmessage" in haystacks["the database dump"]
    assert 'INSERT INTO "messaging_clinicmessage"' in site.log.text
    needles = {
        "the body": CANARY_BODY,
        "the answer": ANSWER,
        "the file name": CANARY_FILE_NAME,
        "the text inside the file": CANARY_IN_FILE,
    }
    assert found(needles, haystacks) == []
    photo = exchanged["photo"]
    for where, haystack in haystacks.items():
        assert photo[8:40] not in haystack, f"the photo's bytes are in {where}"
    sent = "\n".join(site.requests)
    for secret in (PAUL_PASSPHRASE, exchanged["recovery"], exchanged["recovery"].replace(" ", "")):
        assert secret not in sent


def test_a_key_of_another_clinic_in_the_directory_is_never_wrapped_to(
    clean_console: Site, exchanged: dict
) -> None:
    """The patient's browser is handed a directory with another clinic's certified team key
    added: its certificate is not the patient's clinic's, so the next message is wrapped to the
    patient and Alice only."""
    site = clean_console
    paul = site.page("paul")
    directory_url = reverse("clinic_messages:my_api_directory", args=[site.patient_id])

    def add_stranger(route: Route) -> None:
        response = route.fetch()
        data = response.json()
        data["staff"].append(site.stranger)
        route.fulfill(response=response, body=json.dumps(data))

    paul.route(f"**{directory_url}", add_stranger)
    try:
        paul.reload()
        text = f"Met een vreemde sleutel erbij {RUN}"
        _send(paul, text)
    finally:
        paul.unroute(f"**{directory_url}")

    def wrapped_to() -> set[str]:
        newest = ClinicMessage.objects.order_by("-created_at").first()
        return set(
            ClinicWrap.objects.filter(message=newest).values_list("recipient_key_id", flat=True)
        )

    recipients = in_thread(wrapped_to)
    assert site.stranger["key_id"] not in recipients
    assert site.alice_key_id in recipients and len(recipients) == 2


def test_a_patient_who_starts_over_sees_older_messages_as_sent_before_the_new_key(
    clean_console: Site, exchanged: dict
) -> None:
    """The patient lost passphrase and recovery key and makes a new key on the key page: the
    older messages show "sent before your new key" (no error), the next answer reaches the new
    key, and the professional's page still verifies the patient's older messages (signed by the
    replaced key, whose public half the server keeps)."""
    site = clean_console
    paul = site.page("paul")
    paul.goto(site.url + reverse("clinic_messages:my_key") + f"?record={site.patient_id}")
    _ready(paul, "#chat-key")
    paul.locator("details summary").click()
    new_passphrase = f"nieuwe start {RUN} met een andere zin"
    paul.locator("#new-passphrase").fill(new_passphrase)
    paul.locator("#new-passphrase-again").fill(new_passphrase)
    paul.locator("[data-setup-form] button[type=submit]").click()
    paul.locator("#recovery-saved").check()
    paul.locator("[data-finish]").click()
    thread_url = site.url + reverse("clinic_messages:my_thread", args=[site.patient_id])
    expect(paul).to_have_url(thread_url)
    before = paul.get_attribute("#chat-strings", "data-before-new-key")
    expect(paul.locator(".chat-message__body", has_text=before).first).to_be_visible()
    expect(_message(paul, CANARY_BODY)).to_have_count(0)

    alice = site.page("alice")
    alice.goto(site.url + reverse("clinic_messages:team_thread", args=[site.patient_id]))
    # Her key is not kept on the device (unlocked for the page only): the page asks again.
    alice.locator("#page-passphrase").fill(PASSPHRASE)
    alice.locator("[data-page-unlock] button[type=submit]").click()
    expect(_message(alice, CANARY_BODY)).to_be_visible()
    after = f"Antwoord na uw nieuwe sleutel {RUN}"
    _send(alice, after)
    expect(_message(paul, after)).to_be_visible(timeout=ARRIVAL_MS)
