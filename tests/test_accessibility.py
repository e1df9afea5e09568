"""Accessibility in headless Chromium: axe-core over every page of every role, phone widths, focus
outlines and the keyboard-only flows (issue 9).

The pages come from the URL resolver (`tests.url_walk`) and the role matrix of
tests/test_url_matrix.py, whose world (the named people, their records, an import waiting for its
columns, rules and an alert) they reuse: a new page is checked for every role that may see it
without anyone adding it here. A view that is no HTML page (a download, a POST-only action) must
be named in NOT_PAGES, with the reason; the test of a page fails with that hint otherwise.

Each page is checked at desktop (1280×800) and phone (390×844) size for
- no serious or critical axe-core violation (the list is printed: rule, impact, targets, page),
- no aria-describedby / aria-labelledby pointing at an id that is not in the page,
- no horizontal scrolling at 390 px.
Some pages are also checked after submitting their form empty, so their error states are too.

Speed and the database: the world is made and committed once per module (and flushed at the end,
as a transactional test would), before Playwright starts, because Django refuses ORM calls from a
thread where Playwright's sync API runs its asyncio loop. A live server thread of our own serves
it; pytest-django's `live_server` fixture would flush the database after every test. One browser
per worker, one context per role, reused by every page of that role.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import User
from clinics.tests.factories import DEFAULT_PASSWORD
from clinics.tests.flows import current_code
from patients.tests.test_charts import bulk_readings, every
from tests.browser import (
    axe_violations,
    chromium_available,
    dangling_aria_references,
    horizontal_overflow,
    install_axe,
    launch_chromium,
)
from tests.test_url_matrix import (
    ADMIN_REPRESENTATIVES,
    ANONYMOUS,
    CLINIC_ADMIN,
    COUNSELLOR,
    MATRIX,
    PATIENT,
    PROFESSIONAL,
    PUBLIC,
    ROUTES,
    SUPERUSER,
    World,
    _build_world,
    url_for,
)
from tests.url_walk import Route

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT_MS = 10_000
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Sessions besides the five roles: signed in with the password only, before the second factor.
UNVERIFIED = "unverified"  # alice, who has an authenticator: the verify page
UNENROLLED = "unenrolled"  # nina, who has none yet: the set-up page

# Views that answer no HTML page to a GET, and why.
NOT_PAGES: dict[str, str] = {
    "home": "redirects each role to where its work starts",
    "healthz": "plain text for the load balancer",
    "set_language": "POST only",
    "account_set_password": "locked: no passwordless accounts",
    "account_confirm_login_code": "locked: no login by e-mailed code",
    "account_reset_password_from_key_done": "checked as the page the reset flow shows",
    "mfa:setup": "checked in its own state (UNENROLLED)",
    "mfa:verify": "checked in its own state (UNVERIFIED)",
    "clinics:membership_role": "POST only",
    "clinics:membership_remove": "POST only",
    "clinics:access_log_export": "a CSV download",
    "patients:fhir_export": "a JSON download",
    "patients:my_fhir_export": "a JSON download",
    "patients:import_confirm": "POST only",
    "exercises:copy": "POST only",
    "exercises:media_add": "POST only",
    "exercises:my_reminders": "POST only",
    "exercises:media_delete": "POST only",
    "exercises:media": "a photo or video file",
    "exercises:my_media": "a photo or video file",
    "exercises:archive": "POST only",
    "exercises:template_delete": "POST only",
    "exercises:program_stop": "POST only",
    "exercises:program_save_as_template": "POST only",
    "patients:import_cancel": "POST only",
    "patients:my_import_confirm": "POST only",
    "patients:my_import_cancel": "POST only",
    "patients:threshold_remove": "POST only",
    "patients:clinic_threshold_remove": "POST only",
    "patients:alert_ack": "POST only",
    "messaging:conversation_status": "POST only",
    "messaging:certificate_revoke": "POST only",
    "messaging:code_rotate": "POST only",
    "messaging:code_close": "POST only",
    "messaging:organisation_qr": "an SVG image, shown on the organisation page",
    "clinic_messages:team_thread_status": "POST only",
    "clinic_messages:team_thread_assign": "POST only",
    "clinic_messages:my_attachment": "an encrypted file, opened by the thread page's script",
    "clinic_messages:team_attachment": "an encrypted file, opened by the thread page's script",
    "documents:download": "a file download (shown on the document's page)",
    "documents:preview": "an image, shown on the document's page",
    "documents:staff_only": "POST only",
    "documents:delete": "POST only",
    "documents:my_download": "a file download (shown on the document's page)",
    "documents:my_preview": "an image, shown on the document's page",
    "documents:my_delete": "POST only",
    **dict.fromkeys(
        (
            "messaging:api_key",
            "messaging:api_directory",
            "messaging:api_inbox",
            "messaging:api_messages",
            "messaging:api_rewrap",
            "messaging:api_clinic_key",
            "messaging:api_certify_list",
            "messaging:api_certify",
            "clinic_messages:my_api_key",
            "clinic_messages:my_api_directory",
            "clinic_messages:my_api_messages",
            "clinic_messages:team_api_key",
            "clinic_messages:team_api_directory",
            "clinic_messages:team_api_inbox",
            "clinic_messages:team_api_rewrap",
            "clinic_messages:team_api_messages",
            "reporter:api_code",
            "reporter:api_join",
            "reporter:api_challenge",
            "reporter:api_session",
            "reporter:api_recover",
            "reporter:api_sign_out",
            "reporter:api_messages",
        ),
        "JSON for the chat's scripts",
    ),
    "appointments:cancel": "POST only",
    "appointments:my_feed_issue": "POST only (shows the patient's appointments page, checked)",
    "appointments:my_feed_revoke": "POST only",
    "appointments:my_ics": "an .ics download",
    "appointments:feed": "an .ics calendar feed",
    "admin:login": "sends the visitor on to the portal's own login page",
    "admin:logout": "POST only",
    "admin:view_on_site": "no model of ours has a public page",
    "admin:password_change": "the portal's own password page, checked as account_change_password",
}

# Public pages are checked as the anonymous visitor they are for (a signed-in person sees the
# same form under a navigation every other page checks), except where only a session sees one.
VISITOR_OF_PUBLIC_PAGE = {"account_logout": PROFESSIONAL}


@dataclass(frozen=True)
class PageState:
    """One page as one kind of visitor sees it; `submit_form_with` submits the form holding
    that field as it is (browser validation off), so the page shows its errors."""

    visitor: str
    view_name: str
    submit_form_with: str | None = None
    path: str | None = None  # a fixed path, for pages outside the resolver (the 404 page)

    @property
    def id(self) -> str:
        errors = " with errors" if self.submit_form_with else ""
        return f"{self.visitor} {self.view_name}{errors}"


def _is_checked(route: Route) -> bool:
    if route.is_admin:
        return route.view_name in ADMIN_REPRESENTATIVES and route.view_name not in NOT_PAGES
    return route.view_name not in NOT_PAGES


def _visitors(route: Route) -> list[str]:
    if route.view_name in PUBLIC:
        return [VISITOR_OF_PUBLIC_PAGE.get(route.view_name, ANONYMOUS)]
    return sorted(MATRIX[route.matrix_key] - {ANONYMOUS})


ERROR_STATES = [
    PageState(ANONYMOUS, "account_login", submit_form_with="login"),
    PageState(ANONYMOUS, "account_reset_password", submit_form_with="email"),
    PageState(UNVERIFIED, "mfa:verify", submit_form_with="code"),
    PageState(PROFESSIONAL, "account_change_password", submit_form_with="oldpassword"),
    PageState(PROFESSIONAL, "patients:create", submit_form_with="given_name"),
    PageState(PROFESSIONAL, "patients:measurement_add", submit_form_with="value"),
    PageState(PROFESSIONAL, "patients:thresholds", submit_form_with="limit"),
    PageState(PROFESSIONAL, "patients:import_mapping", submit_form_with="datetime_column"),
    PageState(PATIENT, "patients:my_measurement_add", submit_form_with="value"),
    PageState(CLINIC_ADMIN, "clinics:staff_invite", submit_form_with="email"),
    PageState(PROFESSIONAL, "documents:upload", submit_form_with="title"),
    PageState(PATIENT, "documents:my_upload", submit_form_with="title"),
    PageState(PROFESSIONAL, "appointments:create", submit_form_with="date"),
]

PAGE_STATES = [
    *(
        PageState(visitor, route.view_name)
        for route in ROUTES
        if _is_checked(route)
        for visitor in _visitors(route)
    ),
    PageState(UNVERIFIED, "mfa:verify"),
    PageState(UNENROLLED, "mfa:setup"),
    PageState(ANONYMOUS, "404", path="/no-such-page/"),
    PageState(PROFESSIONAL, "404", path="/patients/no-such-page/"),
    *ERROR_STATES,
]


def _param(state: PageState) -> object:
    return pytest.param(state, id=state.id)


# --- the world, the server and the browser ------------------------------------------------------


@dataclass
class Site:
    """What the tests use once Playwright runs: URLs and secrets only, no ORM objects to query."""

    url: str
    paths: dict[str, str]  # PageState.id -> path
    sessions: dict[str, str]  # visitor -> session cookie value
    browser: Browser
    contexts: dict[str, BrowserContext]
    world: World
    alice_device: AuthenticatorDevice  # loaded: its code is computed without a query
    patient_path: str
    measurements_path: str
    measurement_add_path: str

    def page(self, visitor: str) -> Page:
        """The visitor's one tab, signed in as them (reused by all their pages)."""
        if visitor not in self.contexts:
            context = self.browser.new_context(locale="nl-NL")
            context.set_default_timeout(TIMEOUT_MS)
            install_axe(context)
            if self.sessions.get(visitor):
                context.add_cookies(
                    [
                        {
                            "name": settings.SESSION_COOKIE_NAME,
                            "value": self.sessions[visitor],
                            "url": self.url,
                        }
                    ]
                )
            context.new_page()
            self.contexts[visitor] = context
        return self.contexts[visitor].pages[0]

    def fresh_page(self, visitor: str = ANONYMOUS) -> Page:
        """A tab in a context of its own (a flow that signs in must not share cookies)."""
        context = self.browser.new_context(locale="nl-NL", viewport=VIEWPORTS["desktop"])
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts[f"fresh-{len(self.contexts)}"] = context
        if self.sessions.get(visitor):
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": self.sessions[visitor],
                  "url": self.url}]
            )  # fmt: skip
        return context.new_page()


def _users(world: World) -> dict[str, tuple[User, bool]]:
    return {
        PATIENT: (world.paul, True),
        PROFESSIONAL: (world.alice, True),
        COUNSELLOR: (world.cora, True),
        CLINIC_ADMIN: (world.adam, True),
        SUPERUSER: (world.oscar, True),
        UNVERIFIED: (world.alice, False),
        UNENROLLED: (world.nina, False),
    }


def _path(state: PageState, world: World, routes: dict[str, Route]) -> str:
    if state.path:
        return state.path
    return url_for(routes[state.view_name], world)


def _decorate(world: World) -> None:
    """What the pages need beyond the URL matrix's world: readings to chart, a second page."""
    bulk_readings(
        world.patient_a,
        every(60, step=datetime.timedelta(hours=12)),
        kind="blood_pressure",
        systolic=128,
        diastolic=82,
        pulse=64,
    )
    bulk_readings(world.patient_a, every(20, step=datetime.timedelta(days=1)), kind="weight",
                  value=Decimal("80.4"))  # fmt: skip


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Site]:
    if not connection.settings_dict["NAME"].startswith("test_"):
        pytest.fail(
            "No test database: pytest-django makes one only for a selected test that asks for "
            "it; select test_lists_name_only_existing_views too (-k '... or lists_name')."
        )
    routes = {r.view_name: r for r in ROUTES}
    # Unblocked for the module: the live server's thread reads the database for every request.
    with django_db_blocker.unblock():
        server = None
        try:
            world = _build_world()
            _decorate(world)
            paths = {state.id: _path(state, world, routes) for state in PAGE_STATES}
            sessions = {
                visitor: world.sessions[(user.pk, verified)]
                for visitor, (user, verified) in _users(world).items()
            }
            alice_device = AuthenticatorDevice.objects.get(user=world.alice)
            server = LiveServer("localhost")
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    yield Site(
                        url=server.url,
                        paths=paths,
                        sessions=sessions,
                        browser=browser,
                        contexts={},
                        world=world,
                        alice_device=alice_device,
                        patient_path=reverse("patients:overview", args=[world.patient_a.pk]),
                        measurements_path=reverse(
                            "patients:measurements", args=[world.patient_a.pk]
                        ),
                        measurement_add_path=reverse(
                            "patients:measurement_add", args=[world.patient_a.pk]
                        ),
                    )
                finally:
                    browser.close()
        finally:
            if server is not None:
                server.stop()
            # What a transactional test does at its end: the next tests start empty.
            call_command("flush", interactive=False, verbosity=0)


# --- every page, desktop and phone --------------------------------------------------------------


def _open(site: Site, state: PageState, viewport: str) -> Page:
    page = site.page(state.visitor)
    page.set_viewport_size(VIEWPORTS[viewport])
    path = site.paths[state.id]
    response = page.goto(site.url + path)
    assert response is not None
    expected = 404 if state.view_name == "404" else 200
    hint = (
        f"; if {state.view_name} is no HTML page, name it in NOT_PAGES in {__name__}"
        if expected == 200
        else ""
    )
    assert response.status == expected, f"{state.id}: {path} answered {response.status}{hint}"
    assert "text/html" in (response.headers.get("content-type") or ""), f"{state.id}: {hint}"
    if state.submit_form_with:
        form = page.locator(f'main form:has([name="{state.submit_form_with}"])')
        form.evaluate("form => { form.noValidate = true; }")
        with page.expect_navigation():
            form.locator('[type="submit"]').first.click()
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("state", [_param(state) for state in PAGE_STATES])
def test_page_has_no_serious_accessibility_problem(site: Site, state: PageState) -> None:
    """No serious or critical axe-core violation at desktop or phone size, no dangling ARIA id,
    no sideways scrolling on a phone. One load, then the window narrowed: the page reflows as it
    would on a phone (its CSS decides the layout by width), at half the cost of a second load."""
    page = _open(site, state, "desktop")
    problems = [f"desktop: axe: {v}" for v in axe_violations(page)]
    problems += [f"missing id: {ref}" for ref in dangling_aria_references(page)]
    page.set_viewport_size(VIEWPORTS["phone"])
    page.wait_for_function("width => window.innerWidth === width", arg=VIEWPORTS["phone"]["width"])
    problems += [f"phone: axe: {v}" for v in axe_violations(page)]
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(f"phone: scrolls sideways, {overflow} px wider than the 390 px window")
    where = f"{state.id} ({page.url})"
    assert not problems, f"{where}:\n  " + "\n  ".join(problems)


def test_every_checked_page_has_a_unique_id() -> None:
    """Two states with one id would hide one of them."""
    ids = [state.id for state in PAGE_STATES]
    assert len(ids) == len(set(ids))


# pytest-django creates the test database only when a collected test asks for it, and `site`
# reaches it through django_db_blocker, which it cannot see: this test asks, so the module also
# runs on its own. (A `django_db` mark on the browser tests would wrap each in a transaction or a
# flush of its own.)
@pytest.mark.django_db
def test_lists_name_only_existing_views() -> None:
    """No stale entry: a renamed view is noticed here rather than silently unchecked."""
    names = {r.view_name for r in ROUTES}
    for registry_name, registry in (
        ("NOT_PAGES", NOT_PAGES),
        ("VISITOR_OF_PUBLIC_PAGE", VISITOR_OF_PUBLIC_PAGE),
    ):
        stale = sorted(set(registry) - names)
        assert not stale, f"{registry_name} names views that no longer exist: {stale}"


# --- the focus outline --------------------------------------------------------------------------

# WCAG 1.4.11: the focus outline needs 3:1 against what it is drawn on, the background of the
# element's surroundings (the outline sits outside the element, offset from it).
_FOCUS_CONTRAST = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const rgb = (value) => (value.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let node = el.parentElement, background = [255, 255, 255];
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length >= 3 && (c.length === 3 || c[3] > 0.5)) { background = c; break; }
    node = node.parentElement;
  }
  const style = getComputedStyle(el);
  const outline = rgb(style.outlineColor);
  const [hi, lo] = [luminance(outline), luminance(background)].sort((a, b) => b - a);
  return {element: el.outerHTML.slice(0, 80), style: style.outlineStyle,
          width: parseFloat(style.outlineWidth), ratio: (hi + 0.05) / (lo + 0.05)};
}"""

FOCUS_PAGES = [
    PageState(ANONYMOUS, "account_login"),
    PageState(PROFESSIONAL, "patients:measurement_add"),
    PageState(CLINIC_ADMIN, "clinics:settings"),
]


@pytest.mark.parametrize("state", FOCUS_PAGES, ids=[s.id for s in FOCUS_PAGES])
def test_focus_outline_is_visible_with_three_to_one_contrast(site: Site, state: PageState) -> None:
    """Every tab stop, header included, shows an outline of 3:1 or more against its background."""
    page = _open(site, state, "desktop")
    page.locator("body").focus()
    weak, seen = [], set()
    for _ in range(80):
        page.keyboard.press("Tab")
        focus = page.evaluate(_FOCUS_CONTRAST)
        if focus is None:  # past the last tab stop
            break
        seen.add(focus["element"])
        if focus["style"] == "none" or focus["width"] < 2 or focus["ratio"] < 3:
            weak.append(f"{focus['element']}: {focus['style']} {focus['width']}px "
                        f"{focus['ratio']:.2f}:1")  # fmt: skip
    assert len(seen) > 3, "the tab walk reached almost nothing"
    weak = list(dict.fromkeys(weak))  # a date field's parts are one element
    assert not weak, f"{state.id}: weak focus outlines:\n  " + "\n  ".join(weak)


# --- by keyboard only ---------------------------------------------------------------------------


def _tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element matches `selector` (fails after `limit` presses)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} was not reached by {limit} presses of Tab on {page.url}")


def test_sign_in_with_password_and_second_factor_by_keyboard_only(site: Site) -> None:
    """Tab, type and Enter take a professional through both factors to her patients."""
    page = site.fresh_page()
    page.goto(site.url + reverse("account_login"))
    _tab_to(page, '[name="login"]')
    page.keyboard.type(site.world.alice.email)
    _tab_to(page, '[name="password"]', limit=3)
    page.keyboard.type(DEFAULT_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(reverse("mfa:verify"))))
    _tab_to(page, '[name="code"]')
    page.keyboard.type(current_code(site.alice_device))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(site.url + reverse("patients:list"))


def test_professional_opens_a_patient_and_adds_a_measurement_by_keyboard_only(site: Site) -> None:
    """From the patient list to a stored weight without the mouse."""
    page = site.fresh_page(PROFESSIONAL)
    page.goto(site.url + reverse("patients:list"))
    _tab_to(page, f'a[href="{site.patient_path}"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    add = f'a[href="{site.measurement_add_path}"]'
    if not page.locator(add).count():  # the form is linked from the measurements page
        _tab_to(page, f'a[href="{site.measurements_path}"]')
        with page.expect_navigation():
            page.keyboard.press("Enter")
    _tab_to(page, add)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(site.url + site.measurement_add_path)

    _tab_to(page, '[name="kind"]')
    page.keyboard.type("Gewicht")  # a closed select takes the option its name starts with
    assert page.locator('[name="kind"]').input_value() == "weight"
    # "Measured at" is filled in with the current time; Tab passes through its parts.
    _tab_to(page, '[name="value"]', limit=10)
    page.keyboard.type("81.5")  # a number field takes the point in every locale
    _tab_to(page, 'main form [type="submit"]', limit=10)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(site.measurements_path) + r"(\?.*)?$"))
    expect(page.locator("main")).to_contain_text("81,5")


def test_language_changes_by_keyboard_without_submitting_on_an_arrow_key(site: Site) -> None:
    """An arrow key only picks a language (WCAG 3.2.2); Enter applies it, focus stays put."""
    page = site.fresh_page()
    page.goto(site.url + reverse("account_login"))
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    _tab_to(page, "#language-select")
    loads = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)  # a submit would have started by now
    assert loads == [], f"an arrow key submitted the language form: {loads}"
    assert page.evaluate("document.activeElement.id") == "language-select"
    assert page.locator("#language-select").input_value() == "en"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
