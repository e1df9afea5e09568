"""The counsellor chat's pages (static/js/chat/) in headless Chromium: a reporter and counsellors
in browser contexts of their own, each test naming the E2EE.md check it proves.

The world (clinic key, a certified counsellor, an organisation and its code, two conversations
written in Python) is made and committed once for the module before Playwright starts, as
tests/test_accessibility.py does, and flushed at the end; a live server thread of our own
serves it. What a test changes in the database meanwhile runs in a worker thread (`in_thread`):
Django refuses ORM calls from the thread where Playwright's sync API runs its loop.
The flows several tests build on (the canary conversation, a counsellor's browser-made key
certified in the admin's browser, a clinic key made in the browser) are module fixtures, made
when a test first needs them, so the tests pass in any order and on any xdist worker.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client, override_settings
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from clinics.models import Role, User
from clinics.tests.factories import (
    ClinicFactory,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from conftest import login
from messaging import crypto, selectors
from messaging.models import ClinicChatKey, Conversation, Message
from messaging.tests.chat_world import PASSPHRASE, ChatWorld, Reporter, post_json
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium
from tests.canary import ApplicationLog, found, in_thread, redis_dump
from tests.test_dump_canary import database_dump

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT_MS = 10_000
# New messages must reach the other side within 5 seconds, without a reload (issue 10).
ARRIVAL_MS = 5_000
RUN = secrets.token_hex(4)
CANARY_BODY = f"Kanariebericht-{RUN}: mijn chef zegt dingen die niet kunnen"
CANARY_NICKNAME = f"Kanarievogel{RUN}"
CANARY_SECOND = f"Tweede kanarie-{RUN}"
ANSWER = f"Dank voor uw bericht ({RUN}), ik lees mee."
MOVED_BODY = f"Verplaatst-{RUN}"
DIRK_PASSPHRASE = f"paars konijn springt {RUN} hoog"
TO_DIRK = f"Voor de nieuwe vertrouwenspersoon {RUN}"
NOTE = f"Notitie {RUN}"
FROM_PHONE = f"Vanaf mijn telefoon {RUN}"


@dataclass
class Seen:
    """What the browsers sent (check 7) and what they printed."""

    requests: list[str] = field(default_factory=list)
    console: ConsoleWatcher = field(default_factory=ConsoleWatcher)
    responses: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> headers

    def record(self, request: Request) -> None:
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        body = request.post_data_buffer or b""
        self.requests.append(
            f"{request.method} {request.url}\n{headers}\n{body.decode('utf-8', 'replace')}"
        )


@dataclass
class Site:
    url: str
    browser: Browser
    world: ChatWorld
    sessions: dict[str, str]  # name -> session cookie value
    reporters: dict[str, Reporter]
    conversations: dict[str, str]  # name -> conversation id
    moved_message_id: str
    log: ApplicationLog
    other_clinic_id: int
    cora_key_id: str
    finn_key_id: str
    seen: Seen = field(default_factory=Seen)
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)  # what no request may carry

    def page(self, name: str) -> Page:
        """The one tab of `name` (a staff member signed in with both factors, or "reporter")."""
        if name not in self.contexts:
            context = self.browser.new_context(locale="nl-NL")
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", self.seen.record)
            context.on("response", self._keep_headers)
            if name in self.sessions:
                cookie = {"name": settings.SESSION_COOKIE_NAME, "value": self.sessions[name]}
                context.add_cookies([{**cookie, "url": self.url}])
            page = context.new_page()
            self.seen.console.attach(page)
            self.contexts[name] = context
        return self.contexts[name].pages[0]

    def _keep_headers(self, response) -> None:
        if response.request.resource_type == "document":
            self.seen.responses[urllib.parse.urlsplit(response.url).path] = response.headers


def _staff(clinic, role: Role, email: str):
    user = UserFactory(email=email)
    MembershipFactory(clinic=clinic, user=user, role=role)
    TOTPDeviceFactory(user=user)
    return user


def _python_message(world: ChatWorld, reporter: Reporter, text: str) -> str:
    sealed = world.reporter_message(reporter, text, nickname="Python")
    response = post_json(reporter.client, reverse("reporter:api_messages"), sealed)
    assert response.status_code == 201, response.content
    return sealed["id"]


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Site]:
    if not connections["default"].settings_dict["NAME"].startswith("test_"):
        pytest.fail("No test database: select test_secret_fields_have_no_name... too.")
    # The application log from the moment the world is made (the factories log the test
    # users' login passwords, which are no application's).
    log = ApplicationLog()
    # Unblocked for the module: the live server's thread reads the database for every request.
    with django_db_blocker.unblock():
        server = None
        try:
            clinic = ClinicFactory(name="Fysio Vertrouwen")
            people = {
                "adam": _staff(clinic, Role.CLINIC_ADMIN, "adam@vertrouwen.example"),
                "cora": _staff(clinic, Role.COUNSELLOR, "cora@vertrouwen.example"),
                "dirk": _staff(clinic, Role.COUNSELLOR, "dirk@vertrouwen.example"),
                "erik": _staff(clinic, Role.COUNSELLOR, "erik@vertrouwen.example"),
                "finn": _staff(clinic, Role.COUNSELLOR, "finn@vertrouwen.example"),
            }
            other = ClinicFactory(name="Fysio Nieuw")
            people["bea"] = _staff(other, Role.CLINIC_ADMIN, "bea@nieuw.example")
            world = ChatWorld.make(clinic, people["adam"])
            cora_keys = world.counsellor(people["cora"])
            finn_keys = world.counsellor(people["finn"])  # revoked by a test
            # Two conversations written in Python: the second message of the first is moved
            # into the second by the check 3 test.
            first, second = world.reporter_joins(), world.reporter_joins()
            _python_message(world, first, f"Eerste gesprek {RUN}")
            moved = _python_message(world, first, MOVED_BODY)
            _python_message(world, second, f"Tweede gesprek {RUN}")
            sessions = {
                name: login(Client(), user).cookies[settings.SESSION_COOKIE_NAME].value
                for name, user in people.items()
            }
            log.start()
            server = LiveServer("localhost")
            # DEBUG: Django then logs every SQL statement with its parameters
            # (django.db.backends), so the log the canary is looked for in holds all that was
            # written.
            with override_settings(DEBUG=True), sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    yield Site(
                        url=server.url,
                        browser=browser,
                        world=world,
                        sessions=sessions,
                        reporters={"first": first, "second": second},
                        conversations={
                            "first": first.conversation_id,
                            "second": second.conversation_id,
                        },
                        moved_message_id=moved,
                        log=log,
                        secrets={"cora's passphrase": PASSPHRASE},
                        other_clinic_id=other.pk,
                        cora_key_id=cora_keys.key_id,
                        finn_key_id=finn_keys.key_id,
                    )
                finally:
                    browser.close()
        finally:
            log.stop()
            if server is not None:
                server.stop()
            call_command("flush", interactive=False, verbosity=0)


def _string(page: Page, name: str) -> str:
    """A translated interface string as the page carries it (templates/messaging/_strings.html)."""
    return page.get_attribute("#chat-strings", f"data-{name}")


def _ready(page: Page, root: str) -> None:
    """Wait until the page's script has set up its forms (static/js/chat/common.js, ready)."""
    page.locator(f"{root}[data-ready]").wait_for(state="attached")


def _message(page: Page, text: str):
    return page.locator("[data-log] .chat-message__body", has_text=text)


def _cora(site: Site, *, unlocked: bool = True) -> Page:
    """Cora's tab with her key kept on the device (unlocked) or not (locked), whatever an
    earlier test left."""
    cora = site.page("cora")
    cora.goto(site.url + reverse("messaging:key"))
    _ready(cora, "#chat-key")
    is_unlocked = cora.locator("[data-lock-form]").is_visible()
    if unlocked and not is_unlocked:
        cora.locator("#chat-passphrase").fill(PASSPHRASE)
        cora.locator("[data-unlock-form] button[type=submit]").click()
        expect(cora).to_have_url(re.compile(re.escape(reverse("messaging:inbox")) + "$"))
    elif not unlocked and is_unlocked:
        cora.locator("[data-lock-form] button[type=submit]").click()
        expect(cora.locator("[data-unlock-form]")).to_be_visible()
    return cora


def _conversation_url(site: Site, name: str) -> str:
    return site.url + reverse("messaging:conversation", args=[site.conversations[name]])


def _reporter_joins(site: Site) -> str:
    """The reporter follows the QR link (code and the clinic key's fingerprint), picks a
    nickname, saves the recovery code and lands in the chat. Answers the recovery code."""
    reporter = site.page("reporter")
    link = f"{reverse('reporter:join')}?code={site.world.code}#k={site.world.clinic_key.key_id}"
    reporter.goto(site.url + link)
    reporter.locator("#join-nickname").fill(CANARY_NICKNAME)
    reporter.locator("#join-gender").select_option("female")
    reporter.locator("#join-age").select_option("25-34")
    # Came by the QR link: the fingerprint was checked, no safety code to compare.
    expect(reporter.locator("[data-safety]")).to_be_hidden()
    reporter.locator("[data-profile-form] button[type=submit]").click()
    code_text = reporter.locator("[data-recovery-code]")
    expect(code_text).to_have_text(RECOVERY_CODE)
    code = code_text.inner_text()
    reporter.locator("#reporter-recovery-saved").check()
    reporter.locator("[data-finish]").click()
    expect(reporter).to_have_url(site.url + reverse("reporter:chat"))
    return code


def _send(page: Page, text: str, *, note: bool = False) -> None:
    _ready(page, "#chat-conversation")
    page.locator("#chat-body").fill(text)
    if note:
        page.locator("#chat-note").check()
    with page.expect_response(lambda r: r.request.method == "POST" and "messages" in r.url) as sent:
        page.locator("[data-composer] button[type=submit]").click()
    assert sent.value.status == 201, sent.value.text()
    expect(_message(page, text)).to_be_visible()


# --- the flows that several tests build on (made once per module, when first needed) ----------

RECOVERY_CODE = re.compile(r"^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$")


@pytest.fixture
def chat(site: Site) -> Iterator[Site]:
    """The module's site, for one test: the browsers' console stays free of errors meanwhile
    (CSP violations, uncaught exceptions, failed requests)."""
    before = len(site.seen.console.errors)
    yield site
    assert site.seen.console.errors[before:] == []


@pytest.fixture(scope="module")
def canary(site: Site) -> str:
    """The canary conversation (E2EE.md check 1): a reporter joins through the QR link and
    writes; Cora, in her own browser, sees the new conversation with its nickname and then each
    message within 5 seconds without reloading, answers (seen by the reporter within 5 seconds)
    and adds a note, which the reporter never gets. Answers the reporter's recovery code."""
    cora = _cora(site)
    cora.goto(site.url + reverse("messaging:inbox"))
    _ready(cora, "#chat-inbox")
    code = _reporter_joins(site)
    site.secrets |= {"the reporter's recovery code": code, "the same, bare": code.replace(" ", "")}
    reporter = site.page("reporter")
    _send(reporter, CANARY_BODY)

    row = cora.locator("[data-rows] a", has_text=CANARY_NICKNAME)
    expect(row).to_be_visible(timeout=ARRIVAL_MS)
    row.click()
    expect(cora.locator("[data-nickname]")).to_have_text(CANARY_NICKNAME)
    expect(_message(cora, CANARY_BODY)).to_be_visible()
    expect(cora.locator("[data-profile]")).not_to_be_empty()
    site.conversations["canary"] = cora.url.rstrip("/").rsplit("/", 1)[-1]

    _send(reporter, CANARY_SECOND)
    expect(_message(cora, CANARY_SECOND)).to_be_visible(timeout=ARRIVAL_MS)
    _send(cora, ANSWER)
    expect(_message(reporter, ANSWER)).to_be_visible(timeout=ARRIVAL_MS)
    _send(cora, NOTE, note=True)
    reporter.wait_for_timeout(3_500)  # a poll later: still not there
    expect(_message(reporter, NOTE)).to_have_count(0)
    return code


@pytest.fixture(scope="module")
def dirk_certified(site: Site) -> None:
    """Dirk sets up his key in the browser (key.js: passphrase, recovery key shown once, saved
    on the device) and Adam certifies it in his (admin.js: the clinic key opened with its
    passphrase for one signature)."""
    dirk = site.page("dirk")
    dirk.goto(site.url + reverse("messaging:key"))
    _ready(dirk, "#chat-key")
    dirk.locator("#new-passphrase").fill(DIRK_PASSPHRASE)
    dirk.locator("#new-passphrase-again").fill(DIRK_PASSPHRASE)
    dirk.locator("[data-setup-form] button[type=submit]").click()
    code_text = dirk.locator("[data-recovery-code]")
    expect(code_text).to_have_text(RECOVERY_CODE)
    code = code_text.inner_text()
    site.secrets |= {"dirk's passphrase": DIRK_PASSPHRASE, "dirk's recovery key": code}
    dirk.locator("#recovery-saved").check()
    dirk.locator("[data-finish]").click()
    expect(dirk).to_have_url(re.compile(re.escape(reverse("messaging:inbox")) + r"$"))

    adam = site.page("adam")
    adam.goto(site.url + reverse("messaging:chat_admin"))
    _ready(adam, "#chat-admin")
    certified = adam.locator(".tag--ok")
    before = certified.count()
    dirk_row = adam.locator("tr", has_text="dirk@vertrouwen.example")
    dirk_row.locator("[data-certify]").click()
    adam.locator("#clinic-unlock").fill(PASSPHRASE)
    with adam.expect_navigation():
        adam.locator("[data-unlock-form] button[type=submit]").click()
    expect(certified).to_have_count(before + 1)
    expect(dirk_row.locator(".tag--ok")).to_have_count(1)


@pytest.fixture(scope="module")
def bea_clinic_key(site: Site) -> tuple[str, str, str]:
    """Bea, admin of a clinic without a chat key, makes it in the browser (admin.js). Answers
    the passphrase, the recovery key shown and the key id the page then shows."""
    passphrase = f"klinieksleutel {RUN} van bea"
    bea = site.page("bea")
    bea.goto(site.url + reverse("messaging:chat_admin"))
    _ready(bea, "#chat-admin")
    bea.locator("#clinic-passphrase").fill(passphrase)
    bea.locator("#clinic-passphrase-again").fill(passphrase)
    bea.locator("[data-setup-form] button[type=submit]").click()
    code_text = bea.locator("[data-recovery-code]")
    expect(code_text).to_have_text(RECOVERY_CODE)
    code = code_text.inner_text()
    site.secrets |= {"bea's clinic key passphrase": passphrase, "bea's recovery key": code}
    bea.locator("#recovery-saved").check()
    with bea.expect_navigation():
        bea.locator("[data-finish]").click()
    safety = bea.locator("[data-safety-code]")
    expect(safety).to_be_visible()
    return passphrase, code, safety.get_attribute("data-safety-code")


def _rewrap_by_cora(site: Site) -> None:
    """Cora opens her inbox, whose script re-wraps for colleagues certified since; waits for
    that run to end."""
    cora = _cora(site)
    cora.goto(site.url + reverse("messaging:inbox"))
    cora.locator("#chat-inbox[data-rewrapped]").wait_for(state="attached")


# --- the tests ----------------------------------------------------------------------------------


SECRET_FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*>", re.S)


@pytest.mark.django_db
def test_secret_fields_have_no_name_so_a_form_without_script_sends_nothing(client_for) -> None:
    """Check 7, the pages' part: the passphrase, recovery and nickname fields of every chat page
    have no `name`, so even a form submitted before its script runs puts none of them in a
    request. (Also makes the test database for the browser tests below: pytest-django sets one
    up only for a selected test that asks for it, and runs such tests first.)"""
    clinic = ClinicFactory()
    pages = {
        reverse("reporter:join"): Client(),
        reverse("messaging:key"): client_for(_staff(clinic, Role.COUNSELLOR, "c@x.example")),
        reverse("messaging:chat_admin"): client_for(
            _staff(clinic, Role.CLINIC_ADMIN, "a@x.example")
        ),
    }
    secret_ids = {
        *("join-nickname", "join-gender", "join-age", "recover-code"),
        *("new-passphrase", "new-passphrase-again", "clinic-passphrase", "clinic-passphrase-again"),
    }
    checked = 0
    for path, client in pages.items():
        html = client.get(path).content.decode()
        for tag in SECRET_FIELD.findall(html):
            found = re.search(r'id="([^"]+)"', tag)
            if found and found.group(1) in secret_ids:
                assert not re.search(r"\sname=", tag), (path, tag)
                checked += 1
    assert checked >= 8


def test_a_browser_conversation_leaves_no_canary_in_database_log_or_broker(
    chat: Site, canary: str
) -> None:
    """Check 1: after the canary conversation in two browsers (the `canary` fixture: each side
    sees the other's messages within 5 seconds without reloading), a dump of the whole database,
    the application log (every SQL statement with its parameters included) and the broker's
    Redis hold the canary body and nickname in no form (raw, hex, base32, base64)."""
    needles = {"canary body": CANARY_BODY, "canary nickname": CANARY_NICKNAME}
    haystacks = {
        "the database dump": database_dump(),
        "the application log": chat.log.text.encode(),
        "Redis": redis_dump(),
    }
    # The places looked in hold what they should: the conversation's rows, the SQL that wrote
    # them, the task the reporter's messages queued.
    assert chat.world.organisation.name.encode() in haystacks["the database dump"]
    assert b"messaging_message" in haystacks["the database dump"]
    assert 'INSERT INTO "messaging_message"' in chat.log.text
    assert b"chat_notifications_send" in haystacks["Redis"]
    assert found(needles, haystacks) == []


def test_moved_message_shows_cannot_be_verified_in_the_page(chat: Site) -> None:
    """Check 3: a message row moved to another conversation in the database shows "cannot be
    verified" in the counsellor's page, never its text."""
    cora = _cora(chat)
    cora.goto(_conversation_url(chat, "second"))
    expect(_message(cora, f"Tweede gesprek {RUN}")).to_be_visible()
    expect(cora.locator(".chat-message--bad")).to_have_count(0)

    in_thread(
        lambda: Message.objects.filter(pk=chat.moved_message_id).update(
            conversation_id=chat.conversations["second"]
        )
    )
    cora.reload()
    expect(_message(cora, f"Tweede gesprek {RUN}")).to_be_visible()
    bad = cora.locator(".chat-message--bad")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text(_string(cora, "unverifiable"))
    expect(cora.locator("main")).not_to_contain_text(MOVED_BODY)


def test_a_wrap_moved_to_another_message_or_a_bad_signature_shows_cannot_be_verified(
    chat: Site, canary: str
) -> None:
    """Checks 3 and 4 in the page: the server swaps two messages' wraps and gives a third
    another message's signature; the counsellor's page shows those three as "cannot be
    verified", never their text, and the untouched ones as written."""
    first_load = []

    def change(data: dict) -> None:
        if first_load:
            return  # a later poll repeats only what is shown already
        first_load.append(True)
        rows = data["messages"]
        rows[0]["signature"] = rows[3]["signature"]
        rows[1]["wraps"], rows[2]["wraps"] = rows[2]["wraps"], rows[1]["wraps"]

    cora = _cora(chat)
    path = reverse("messaging:api_messages", args=[chat.conversations["canary"]])
    _tampered(cora, f"**{path}*", change)
    try:
        cora.goto(_conversation_url(chat, "canary"))
        expect(_message(cora, NOTE)).to_be_visible()
        bad = cora.locator(".chat-message--bad")
        expect(bad).to_have_count(3)
        expect(bad.first).to_contain_text(_string(cora, "unverifiable"))
        main = cora.locator("main")
        for text in (CANARY_BODY, CANARY_SECOND, ANSWER):
            expect(main).not_to_contain_text(text)
    finally:
        cora.unroute_all()


def test_an_uncertified_key_in_the_directory_is_never_wrapped_to(chat: Site, canary: str) -> None:
    """Check 5 in the page: the server adds two counsellor keys to the reporter's directory, one
    with a forged certificate and one certified by another clinic key; the reporter's next
    message is wrapped to neither (only to certified counsellors and the reporter)."""
    forged, foreign = crypto.generate_key_set(), crypto.generate_key_set()
    other_clinic = crypto.generate_clinic_key()
    injected = [
        {
            "key_id": keys.key_id,
            "kem_public": crypto.b64(keys.kem_public),
            "sig_public": crypto.b64(keys.sig_public),
            "purpose": "counsellor",
            "certificate": crypto.b64(certificate),
        }
        for keys, certificate in (
            (forged, secrets.token_bytes(64)),
            (foreign, crypto.certify(other_clinic.sig, other_clinic.key_id, foreign.key_id,
                                     "counsellor")),
        )
    ]  # fmt: skip

    def change(data: dict) -> None:
        data["staff"] = data["staff"] + injected

    reporter = chat.page("reporter")
    _tampered(reporter, f"**{reverse('reporter:api_messages')}*", change)
    try:
        reporter.goto(chat.url + reverse("reporter:chat"))
        with reporter.expect_request(lambda r: r.method == "POST" and "messages" in r.url) as sent:
            _send(reporter, f"Alleen voor echte vertrouwenspersonen {RUN}")
    finally:
        reporter.unroute_all()
    recipients = set(sent.value.post_data_json["recipients"])
    assert forged.key_id not in recipients and foreign.key_id not in recipients
    assert chat.cora_key_id in recipients
    assert set(sent.value.post_data_json["wraps"]) == recipients


def test_browser_made_key_certified_by_the_admin_receives_messages(
    chat: Site, canary: str, dirk_certified: None
) -> None:
    """A counsellor sets up their key in the browser (key.js), the admin certifies it in the
    browser (admin.js), and the reporter's next message reaches them; the history written
    before reaches them through a colleague's browser re-wrap (check 12)."""
    reporter = chat.page("reporter")
    reporter.goto(chat.url + reverse("reporter:chat"))  # a fresh directory: Dirk is in it
    _send(reporter, TO_DIRK)
    _rewrap_by_cora(chat)

    dirk = chat.page("dirk")
    dirk.goto(_conversation_url(chat, "canary"))
    expect(_message(dirk, TO_DIRK)).to_be_visible()
    expect(_message(dirk, CANARY_BODY)).to_be_visible()
    expect(_message(dirk, ANSWER)).to_be_visible()
    expect(_message(dirk, NOTE)).to_be_visible()
    expect(dirk.locator("[data-nickname]")).to_have_text(CANARY_NICKNAME)
    expect(dirk.locator(".chat-message--bad")).to_have_count(0)


def test_a_counsellor_certified_later_reads_the_history_after_a_browser_rewrap(
    chat: Site, canary: str
) -> None:
    """Check 12: Erik's key is certified after the conversation; Cora's inbox re-wraps every
    retained message for him after checking his certificate, and his key opens them all."""
    erik_keys = in_thread(
        lambda: chat.world.counsellor(User.objects.get(email="erik@vertrouwen.example"))
    )
    _rewrap_by_cora(chat)

    def bodies() -> list[str]:
        conversation = Conversation.objects.get(pk=chat.conversations["canary"])
        rows = selectors.message_rows(
            Message.objects.filter(conversation=conversation), erik_keys.key_id
        )
        reporter = crypto.PublicKeySet(
            bytes(conversation.reporter_kem_public), bytes(conversation.reporter_sig_public)
        )
        cora_keys = chat.world.counsellors[User.objects.get(email="cora@vertrouwen.example").pk]
        assert all(row["wraps"] for row in rows)
        # Written by the reporter or by Cora (Dirk writes nothing here).
        return [
            crypto.open_message(
                conversation_id=str(conversation.pk),
                row=row,
                me=erik_keys,
                sender=reporter if row["from_reporter"] else cora_keys,
            )["body"]
            for row in rows
        ]

    opened = in_thread(bodies)
    assert {CANARY_BODY, CANARY_SECOND, ANSWER, NOTE} <= set(opened)


def test_a_revoked_key_gets_no_wrap_of_the_next_message(chat: Site, canary: str) -> None:
    """Check 12, its other half: the admin revokes Finn's certified key in the browser; the
    reporter's next message is wrapped for Cora but no longer for Finn."""
    reporter = chat.page("reporter")
    reporter.goto(chat.url + reverse("reporter:chat"))
    with reporter.expect_request(lambda r: r.method == "POST" and "messages" in r.url) as before:
        _send(reporter, f"Voor de revocatie {RUN}")
    assert chat.finn_key_id in before.value.post_data_json["recipients"]

    adam = chat.page("adam")
    adam.goto(chat.url + reverse("messaging:chat_admin"))
    finn_row = adam.locator("tr", has_text="finn@vertrouwen.example")
    with adam.expect_navigation():
        finn_row.locator("form button[type=submit]").click()
    expect(finn_row.locator(".tag--warning")).to_have_count(1)

    reporter.goto(chat.url + reverse("reporter:chat"))
    with reporter.expect_request(lambda r: r.method == "POST" and "messages" in r.url) as after:
        _send(reporter, f"Na de revocatie {RUN}")
    recipients = after.value.post_data_json["recipients"]
    assert chat.finn_key_id not in recipients and chat.cora_key_id in recipients


def test_the_reporter_refuses_to_write_when_the_clinic_key_changed(chat: Site, canary: str) -> None:
    """The server answers the reporter's chat with another clinic key (and counsellors it
    certified): the page refuses to send and says the key is not the poster's, and the
    counsellors' messages no longer verify."""
    other_clinic = crypto.generate_clinic_key()
    intruder = crypto.generate_key_set()

    def change(data: dict) -> None:
        data["clinic_key"] = {
            "key_id": other_clinic.key_id,
            "sig_public": crypto.b64(other_clinic.sig_public),
        }
        data["staff"] = [
            {
                "key_id": intruder.key_id,
                "kem_public": crypto.b64(intruder.kem_public),
                "sig_public": crypto.b64(intruder.sig_public),
                "purpose": "counsellor",
                "certificate": crypto.b64(
                    crypto.certify(
                        other_clinic.sig, other_clinic.key_id, intruder.key_id, "counsellor"
                    )
                ),
            }
        ]

    reporter = chat.page("reporter")
    _tampered(reporter, f"**{reverse('reporter:api_messages')}*", change)
    try:
        reporter.goto(chat.url + reverse("reporter:chat"))
        _ready(reporter, "#chat-conversation")
        expect(reporter.locator("[data-status]")).to_have_text(
            _string(reporter, "clinic-key-changed")
        )
        expect(_message(reporter, CANARY_BODY)).to_be_visible()  # the reporter's own
        expect(reporter.locator("main")).not_to_contain_text(ANSWER)  # Cora's, unverifiable
        posts = []
        reporter.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
        reporter.locator("#chat-body").fill(f"Naar wie? {RUN}")
        reporter.locator("[data-composer] button[type=submit]").click()
        expect(reporter.locator("[data-composer] [data-error]")).to_have_text(
            _string(reporter, "clinic-key-changed")
        )
        assert posts == []
    finally:
        reporter.unroute_all()


def test_a_reporter_whose_session_ended_signs_in_again_with_the_key(
    chat: Site, canary: str
) -> None:
    """Without the session cookie the chat's first request answers 403; the page signs the
    server's challenge with the key this browser keeps and carries on."""
    reporter = chat.page("reporter")
    reporter.context.clear_cookies()
    with reporter.expect_response(lambda r: r.url.endswith("/m/api/session/")) as session:
        reporter.goto(chat.url + reverse("reporter:chat"))
    assert session.value.status == 200
    expect(_message(reporter, CANARY_BODY)).to_be_visible()
    expect(_message(reporter, ANSWER)).to_be_visible()
    # The one console line this flow makes: Chromium's note of the refused first request.
    refused = [e for e in chat.seen.console.errors if "403" in e]
    assert len(refused) == 1
    chat.seen.console.errors.remove(refused[0])


def test_a_typed_code_shows_the_safety_code_and_a_wrong_link_is_refused(chat: Site) -> None:
    """A reporter who typed the code is shown the clinic key's safety code to compare with the
    poster; a link whose fingerprint is not the clinic key's is refused before anything is
    made."""
    visitor = chat.page("visitor")
    visitor.goto(chat.url + reverse("reporter:join"))
    _ready(visitor, "#reporter-join")
    visitor.locator("#join-code").fill(chat.world.code.lower())
    visitor.locator("[data-code-form] button[type=submit]").click()
    expect(visitor.locator("[data-safety-code]")).to_have_text(
        crypto.safety_code(chat.world.clinic_key.key_id)
    )
    expect(visitor.locator("[data-profile-form]")).to_be_visible()

    wrong = "0" * 32
    visitor.goto(chat.url + f"{reverse('reporter:join')}?code={chat.world.code}#k={wrong}")
    error = visitor.locator("[data-code-form] [data-error]")
    expect(error).to_have_text(_string(visitor, "clinic-key-changed"))
    expect(visitor.locator("[data-profile-form]")).to_be_hidden()


def test_the_reporter_continues_on_another_device_with_the_recovery_code(
    chat: Site, canary: str
) -> None:
    """The recovery code (typed in lower case, with dashes) opens the stored copy of the
    reporter's keys in a new browser, signs in and shows the whole conversation; the next
    message there still carries the nickname, read back from the reporter's own messages."""
    other = chat.page("reporter on another device")
    other.goto(chat.url + reverse("reporter:join"))
    _ready(other, "#reporter-join")
    other.locator("details summary").click()
    other.locator("#recover-code").fill(canary.lower().replace(" ", "-"))
    other.locator("[data-recover-form] button[type=submit]").click()
    expect(other).to_have_url(chat.url + reverse("reporter:chat"))
    expect(_message(other, CANARY_BODY)).to_be_visible()
    expect(_message(other, ANSWER)).to_be_visible()
    expect(other.locator(".chat-message--bad")).to_have_count(0)
    _send(other, FROM_PHONE)

    cora = _cora(chat)
    cora.goto(_conversation_url(chat, "canary"))
    expect(_message(cora, FROM_PHONE)).to_be_visible()
    expect(cora.locator("[data-nickname]")).to_have_text(CANARY_NICKNAME)


def test_the_admin_sets_up_the_clinic_key_in_the_browser(
    chat: Site, bea_clinic_key: tuple[str, str, str]
) -> None:
    """admin.js makes the clinic key, seals it under the clinic key passphrase and the recovery
    key shown once, and the server keeps copies that open with each."""
    passphrase, code, shown_key_id = bea_clinic_key

    def opened() -> tuple[str, str, str]:
        stored = ClinicChatKey.objects.for_clinic(chat.other_clinic_id).get()
        by_passphrase = crypto.open_private(
            stored.sealed_private["passphrase"], passphrase, stored.key_id
        )
        by_code = crypto.open_private(
            stored.sealed_private["recovery"], crypto.normalise_recovery_code(code), stored.key_id
        )
        return stored.key_id, by_passphrase.key_id, by_code.key_id

    assert in_thread(opened) == (shown_key_id, shown_key_id, shown_key_id)


def test_locking_the_device_removes_the_key_and_the_inbox_asks_again(
    chat: Site, canary: str
) -> None:
    """ "Lock this device" deletes the cached key: the inbox then asks for the passphrase, and
    unlocked for this page only it shows the nicknames, until the next page."""
    cora = _cora(chat, unlocked=False)
    cora.goto(chat.url + reverse("messaging:inbox"))
    unlock = cora.locator("[data-page-unlock]")
    expect(unlock).to_be_visible()
    expect(cora.locator("[data-rows] a", has_text=CANARY_NICKNAME)).to_have_count(0)
    unlock.locator("input").fill(PASSPHRASE)
    unlock.locator("button[type=submit]").click()
    expect(cora.locator("[data-rows] a", has_text=CANARY_NICKNAME)).to_be_visible()
    cora.reload()
    expect(cora.locator("[data-page-unlock]")).to_be_visible()


def test_weak_key_derivation_parameters_from_the_server_are_refused(chat: Site) -> None:
    """Check 6 in the page: the server offers the passphrase copy with 1,000 PBKDF2 iterations;
    the key page refuses to derive and says why, and the device stays locked."""

    def change(data: dict) -> None:
        data["sealed_private"]["passphrase"]["iterations"] = 1_000

    cora = _cora(chat, unlocked=False)
    _tampered(cora, f"**{reverse('messaging:api_key')}", change)
    try:
        cora.reload()
        _ready(cora, "#chat-key")
        cora.locator("#chat-passphrase").fill(PASSPHRASE)
        cora.locator("[data-unlock-form] button[type=submit]").click()
        error = cora.locator("[data-unlock-form] [data-error]")
        expect(error).to_have_text(_string(cora, "weak-kdf"))
    finally:
        cora.unroute_all()
    cora.reload()
    _ready(cora, "#chat-key")
    expect(cora.locator("[data-unlock-form]")).to_be_visible()
    expect(cora.locator("[data-unlocked]")).to_be_hidden()


CHAT_PAGES = {
    "reporter": ["reporter:join", "reporter:chat"],
    "cora": ["messaging:inbox", "messaging:key", "conversation"],
    "adam": ["messaging:chat_admin"],
}


def test_every_chat_page_has_the_csp_and_no_inline_script(chat: Site, canary: str) -> None:
    """Check 13: the reporter's join and chat pages, the inbox, a conversation, the key page and
    the admin's keys page are served with script-src 'self' and no unsafe-*, every script has a
    src and an integrity, every module it imports is preloaded with an integrity (the crypto
    module and the HPKE bundle among them), and no page reports a CSP violation."""
    checked = []
    for name, views in CHAT_PAGES.items():
        page = chat.page(name)
        for view in views:
            url = (
                _conversation_url(chat, "canary")
                if view == "conversation"
                else chat.url + reverse(view)
            )
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            page.wait_for_load_state("networkidle")
            policy = response.headers.get("content-security-policy", "")
            directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
            assert directives.get("script-src") == ["'self'"], (url, policy)
            assert "unsafe-" not in policy, (url, policy)
            inline = page.evaluate(
                "() => [...document.scripts].filter((s) => !s.src).map((s) => s.outerHTML)"
            )
            assert inline == [], url
            assert page.locator("script[type=module]").count() >= 1, url
            unchecked = page.evaluate(
                "() => [...document.querySelectorAll('script, link[rel=modulepreload]')]"
                ".filter((e) => !/^sha384-/.test(e.integrity)).map((e) => e.outerHTML)"
            )
            assert unchecked == [], url
            preloaded = page.evaluate(
                "() => [...document.querySelectorAll('link[rel=modulepreload]')].map((e) => e.href)"
            )
            assert any("e2ee/crypto" in href for href in preloaded), url
            assert any("hpke" in href for href in preloaded), url
            checked.append(url)
    assert len(checked) == 6
    assert chat.seen.console.csp_violations == []


def test_no_passphrase_or_recovery_code_in_any_request_or_the_log(
    chat: Site, canary: str, dirk_certified: None, bea_clinic_key: tuple[str, str, str]
) -> None:
    """Check 7: the chat passphrases (unlocking, setting up, certifying, the clinic key's) and
    the recovery codes shown (the reporter's, a counsellor's, the clinic key's) appear in no URL,
    header or body of any request the browsers made, nor in the server's log."""
    assert len(chat.secrets) >= 7
    sent = "\n".join(chat.seen.requests)
    # Watching works: the sign-ins, the key set-ups and the messages were recorded.
    for path in ("/m/api/session/", "/m/api/join/", "/counsellor/api/key/", "/m/api/messages/"):
        assert path in sent
    log = chat.log.text
    leaks = [
        f"{name} ({form!r}) in {where}"
        for name, secret in chat.secrets.items()
        for form in {secret, urllib.parse.quote(secret), urllib.parse.quote_plus(secret)}
        for where, text in (("a request", sent), ("the log", log))
        if form in text
    ]
    assert leaks == []


def _tampered(page: Page, pattern: str, change: Callable[[dict], None]) -> None:
    """Serve the page's JSON from `pattern` changed by `change`, as a server that tampers would."""

    def handle(route) -> None:
        if route.request.method != "GET":
            route.fallback()
            return
        response = route.fetch()
        data = response.json()
        change(data)
        route.fulfill(response=response, json=data)

    page.route(pattern, handle)
