"""End to end in headless Chromium (issue 12): the patient's day at phone size (tick off, log
pain, reload, see it saved; the whole session at once), the builder's reordering (drag with the
mouse, the "down" button, a row added) and the timeline drawn, with no console error or CSP
report. Sessions come from the test client (`client_for`, both factors passed), handed to the
browser as a cookie; every row is made before Playwright starts and read after it stops
(Django refuses ORM calls from a thread with a running asyncio loop)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from exercises import selectors, services
from exercises.base_library import base_library_ensure
from exercises.models import Exercise, ExerciseLog, Program, SessionLog
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT_MS = 10_000
PHONE = {"width": 390, "height": 844}
# Tall enough to hold the builder's first three rows at once.
DESKTOP = {"width": 1100, "height": 2200}


def _program(patient, user, count: int) -> Program:
    base_library_ensure()
    exercises = list(Exercise.objects.base().order_by("key")[:count])
    return services.program_create(
        patient,
        user,
        services.ProgramIn(
            title="Knie week 1",
            goal="",
            start_date=timezone.localdate() - datetime.timedelta(days=3),
            end_date=None,
            items=[
                services.ItemIn(exercise=e, params={**e.defaults(), "load": "", "times_per_day": 1})
                for e in exercises
            ],
        ),
    )


@contextmanager
def browser_page(live_server, session: str, viewport: dict[str, int]) -> Iterator[Page]:
    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="nl-NL", viewport=viewport)
            context.set_default_timeout(TIMEOUT_MS)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            console.attach(page)
            yield page
        finally:
            browser.close()
    assert console.csp_violations == []
    assert console.errors == []


def test_patient_day_on_a_phone_tick_off_pain_reload(
    live_server, client_for, alice, paul, patient_a
):
    program = _program(patient_a, alice, 2)
    first, second = selectors.version_items(program.current_version)
    session = client_for(paul).cookies[settings.SESSION_COOKIE_NAME].value
    url = live_server.url + reverse("exercises:my_day", args=[patient_a.pk])
    with browser_page(live_server, session, PHONE) as page:
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        items = page.locator(".day-item")
        expect(items).to_have_count(2)
        items.nth(0).locator("label.tick").nth(1).click()  # "1 keer"
        page.get_by_label("Pain today", exact=False).or_(
            page.get_by_label("Pijn vandaag", exact=False)
        ).select_option("5")
        page.locator(".day-item").first.locator("xpath=ancestor::form").locator(
            "button[type=submit]:not([name])"
        ).click()
        page.wait_for_load_state("load")
        page.reload()
        expect(items.nth(0)).to_have_class("day-item day-item--done")
        expect(items.nth(0).locator("input[type=radio][value='1']")).to_be_checked()
        expect(items.nth(1).locator("input[type=radio][value='0']")).to_be_checked()
        expect(page.locator("select[name$='-pain']")).to_have_value("5")
        # The whole session at once.
        page.locator("button[name=all_done]").click()
        page.wait_for_load_state("load")
        expect(page.locator(".day-item--done")).to_have_count(2)
    today = timezone.localdate()
    assert {log.item_id for log in ExerciseLog.objects.filter(day=today)} == {first.pk, second.pk}
    assert SessionLog.objects.get(program=program, day=today).pain == 5


def test_builder_reorders_by_drag_and_buttons(live_server, client_for, alice, patient_a):
    program = _program(patient_a, alice, 3)
    a, b, c = (i.exercise_id for i in selectors.version_items(program.current_version))
    session = client_for(alice).cookies[settings.SESSION_COOKIE_NAME].value
    url = live_server.url + reverse("exercises:program_edit", args=[patient_a.pk, program.pk])
    with browser_page(live_server, session, DESKTOP) as page:
        page.goto(url)
        rows = page.locator("[data-builder-item]")
        # Three exercises and three empty rows; the order numbers are hidden.
        expect(rows).to_have_count(6)
        expect(page.locator("input[name$='-ORDER']").first).to_be_hidden()
        # The first row goes down one with its button: b, a, c.
        rows.nth(0).locator(".builder-item__tools button").nth(1).click()
        # Then the third row (c) is dragged above the first (b): c, b, a.
        # Source and target both in view: a scroll between the press and the drag's start would
        # make the browser pick up the row that has moved under the pointer.
        page.evaluate("window.scrollTo(0, 0)")
        # Grabbed by its frame (the fields inside take the mouse for themselves).
        rows.nth(2).drag_to(
            rows.nth(0), source_position={"x": 6, "y": 6}, target_position={"x": 40, "y": 5}
        )
        # And an exercise is added in a new row.
        page.locator("[data-add-item]").click()
        expect(rows).to_have_count(7)
        page.locator("button[type=submit]").filter(has_text="Save").or_(
            page.locator("button[type=submit]").filter(has_text="Opslaan")
        ).first.click()
        page.wait_for_load_state("load")
        expect(page.locator("h1")).to_contain_text("Knie week 1")
    program.refresh_from_db()
    assert program.current_version.number == 2
    assert [i.exercise_id for i in selectors.version_items(program.current_version)] == [c, b, a]


def test_timeline_draws_its_panels(live_server, client_for, alice, patient_a):
    program = _program(patient_a, alice, 1)
    SessionLog.objects.create(
        clinic_id=program.clinic_id, program=program, day=timezone.localdate(), pain=4, effort=6
    )
    session = client_for(alice).cookies[settings.SESSION_COOKIE_NAME].value
    url = live_server.url + reverse("exercises:timeline", args=[patient_a.pk]) + "?days=30"
    with browser_page(live_server, session, PHONE) as page:
        page.goto(url)
        expect(page.locator("figure.timeline")).to_be_visible()
        # Adherence and pain/effort have data; the measurement panels without any are left out.
        expect(page.locator(".timeline__panel")).to_have_count(2)
        expect(page.locator(".timeline__panel canvas").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
