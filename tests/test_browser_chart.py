"""End to end in headless Chromium: the measurement chart draws under the portal's CSP, in the
page's language, with its lines broken at gaps, its own keyboard legend, and at phone width.

The professional is signed in by the test client (`client_for`: password and second factor
already passed) and the session cookie handed to the browser: the sign-in flow itself is covered
by test_browser.py. As there, every database row is made before Playwright starts, because Django
refuses ORM calls from a thread with a running asyncio loop.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect, sync_playwright

from patients.measurements.charts import MAX_RAW_POINTS
from patients.tests.test_charts import AMSTERDAM, bulk_readings, every
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


# --- helpers for the tests below ----------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1000, "height": 900}


@contextmanager
def chart_page(
    live_server,
    session: str,
    path: str,
    *,
    lang: str = "nl",
    locale: str = "nl-NL",
    viewport: dict[str, int] = DESKTOP,
) -> Iterator[Page]:
    """A page of the chart, drawn, in a fresh Chromium; no console error or CSP report after."""
    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale=locale, viewport=viewport)
            context.set_default_timeout(TIMEOUT_MS)
            # The portal's language is the user's choice (a cookie), not the browser's.
            cookies = {settings.SESSION_COOKIE_NAME: session, settings.LANGUAGE_COOKIE_NAME: lang}
            context.add_cookies(
                [{"name": k, "value": v, "url": live_server.url} for k, v in cookies.items()]
            )
            page = context.new_page()
            console.attach(page)
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200
            page.wait_for_function("document.querySelector('figure').measurementChart")
            yield page
        finally:
            browser.close()
    assert console.errors == []


def session_of(client_for, user) -> str:
    return client_for(user).cookies[settings.SESSION_COOKIE_NAME].value


def gettext_nl(message: str) -> str:
    with translation.override("nl"):
        return gettext(message)


def chart_path(patient, kind: str, period: str = "all") -> str:
    return reverse("patients:measurements", args=[patient.pk]) + f"?kind={kind}&period={period}"


# The chart's state, read from the uPlot instance the module keeps on the figure. Axis tick
# labels are drawn on the canvas; uPlot keeps the texts it drew in `axes[i]._values`.
CHART_STATE = """() => {
    const chart = document.querySelector('figure.measurement-chart').measurementChart;
    return {
        data: chart.data,
        shownAxes: chart.axes.map((axis) => axis._show),
        ticks: chart.axes.map((axis) => axis._values),
        plotWidth: chart.bbox.width / devicePixelRatio,
    };
}"""


def luminance(rgb: str) -> float:
    """WCAG relative luminance of a computed "rgb(r, g, b)" colour."""
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def twice_daily(patient, n: int, *, end: datetime.datetime | None = None, **fields) -> list:
    times = every(n, step=datetime.timedelta(hours=12), end=end)
    bulk_readings(patient, times, **fields)
    return times


# --- the language, the gaps, the legend, the phone -------------------------------------------


@pytest.mark.parametrize(
    ("locale", "lang", "decimal", "date"),
    [
        ("nl-NL", "nl", ",", "28-03-2025, 21:15"),
        # An American browser still gets en-GB: English means en-GB everywhere.
        ("en-US", "en", ".", "28/03/2025, 21:15"),
    ],
)
def test_axis_and_legend_numbers_and_dates_follow_the_page_language(
    live_server, client_for, alice, patient_a, locale, lang, decimal, date
) -> None:
    """Weights around 77,5 kg: axis ticks and the legend's value use the language's decimal
    separator and the kind's one decimal; the legend's time (of the latest reading, in the
    clinic's time zone) is dd-mm-yyyy (nl) or dd/mm/yyyy (en-GB) on a 24-hour clock."""
    latest = datetime.datetime(2025, 3, 28, 21, 15, tzinfo=AMSTERDAM)
    times = every(20, step=datetime.timedelta(hours=12), end=latest)
    for i, at in enumerate(times):
        value = Decimal("77.2") + Decimal("0.1") * (i % 8)
        bulk_readings(patient_a, [at], kind="weight", value=value)
    session = session_of(client_for, alice)

    path = chart_path(patient_a, "weight")
    with chart_page(live_server, session, path, lang=lang, locale=locale) as page:
        assert page.evaluate("document.documentElement.lang") == lang
        ticks = page.evaluate(CHART_STATE)["ticks"][1]
        legend = page.locator(".measurement-chart__legend")
        time_text = legend.locator(".measurement-chart__time").inner_text()
        value_text = legend.locator(".measurement-chart__entry").inner_text()
        # Under the mouse the legend shows that point's values, formatted the same way.
        page.locator(".measurement-chart .u-over").hover()
        expect(legend.locator(".measurement-chart__time")).not_to_have_text(time_text)
        hovered = legend.locator(".measurement-chart__entry").inner_text()

    fractional = [t for t in ticks if t and not t.isdigit()]
    assert fractional and all(decimal in t for t in fractional), ticks
    other = "." if decimal == "," else ","
    assert not any(other in t for t in ticks), ticks
    for text in (value_text, hovered):
        assert re.search(r"\b77" + re.escape(decimal) + r"\d kg\b", text), text
    assert date in time_text, time_text


def test_a_gap_in_the_readings_breaks_the_drawn_line(
    live_server, client_for, alice, patient_a
) -> None:
    """Sixteen months without readings: uPlot gets a null there and draws no line across it
    (no pixel of the systolic colour halfway along the gap, where a joined line would be)."""
    recent = twice_daily(patient_a, 30, kind="blood_pressure", systolic=131, diastolic=84)
    gap_start = recent[-1] - datetime.timedelta(days=480)
    twice_daily(patient_a, 30, end=gap_start, kind="blood_pressure", systolic=131, diastolic=84)
    session = session_of(client_for, alice)

    with chart_page(live_server, session, chart_path(patient_a, "blood_pressure")) as page:
        state = page.evaluate(CHART_STATE)
        # Halfway along the gap, at the height of the systolic line: what the canvas holds.
        pixels = page.evaluate(
            """() => {
                const chart = document.querySelector('figure').measurementChart;
                // The colours of a 5 by 7 device-pixel patch of the canvas around (x, y).
                const patch = (x, y) => {
                    const image = chart.ctx.getImageData(x - 2, y - 3, 5, 7).data;
                    const found = [];
                    for (let i = 0; i < image.length; i += 4) found.push([...image.slice(i, i+3)]);
                    return found;
                };
                const y = Math.round(chart.valToPos(131, 'mmHg', true));
                const atNull = chart.data[0][chart.data[1].indexOf(null)];
                const gapX = Math.round(chart.valToPos(atNull, 'x', true));
                const lastX = Math.round(chart.valToPos(chart.data[0].at(-2), 'x', true));
                return { gap: patch(gapX, y), end: patch(lastX, y) };
            }"""
        )

    systolic = state["data"][1]
    assert systolic.count(None) == 1 and len(systolic) == 61
    systolic_rgb = [11, 110, 105]  # --chart-systolic, #0b6e69

    def near(pixel: list[int]) -> bool:
        return all(abs(a - b) < 40 for a, b in zip(pixel, systolic_rgb, strict=True))

    assert any(near(p) for p in pixels["end"])  # the sampling finds the line where it is drawn
    assert not any(near(p) for p in pixels["gap"])


def test_pulse_axis_takes_room_only_while_pulse_is_shown_and_the_legend_works_by_keyboard(
    live_server, client_for, alice, patient_a
) -> None:
    """Pulse starts hidden and its axis with it (the plot gets the room); Enter on its legend
    button shows both, Space hides them again; the button says so with aria-pressed, shows a
    focus ring, and its text keeps 4.5:1 contrast switched on and off."""
    twice_daily(patient_a, 20, kind="blood_pressure", systolic=131, diastolic=84, pulse=66)
    session = session_of(client_for, alice)

    with chart_page(live_server, session, chart_path(patient_a, "blood_pressure")) as page:
        pulse = page.get_by_role("button", name=gettext_nl("Pulse"))
        systolic = page.get_by_role("button", name=gettext_nl("Systolic"))
        expect(pulse).to_have_attribute("aria-pressed", "false")
        expect(systolic).to_have_attribute("aria-pressed", "true")
        hidden = page.evaluate(CHART_STATE)
        off_colour = pulse.evaluate("b => getComputedStyle(b).color")

        # Keyboard only: Tab from the legend's first button to the pulse button.
        systolic.focus()
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(pulse).to_be_focused()
        ring = pulse.evaluate(
            "b => [getComputedStyle(b).outlineStyle, getComputedStyle(b).outlineWidth,"
            " getComputedStyle(b).outlineColor]"
        )
        page.keyboard.press("Enter")
        expect(pulse).to_have_attribute("aria-pressed", "true")
        shown = page.evaluate(CHART_STATE)
        on_colour = pulse.evaluate("b => getComputedStyle(b).color")

        page.keyboard.press("Space")
        expect(pulse).to_have_attribute("aria-pressed", "false")
        hidden_again = page.evaluate(CHART_STATE)

        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        expect(systolic).to_be_focused()
        page.keyboard.press("Space")
        expect(systolic).to_have_attribute("aria-pressed", "false")
        # The ESH line of a hidden series goes with it, from the legend too.
        expect(page.locator(".measurement-chart__line[data-key=systolic]")).to_be_hidden()
        expect(page.locator(".measurement-chart__line[data-key=diastolic]")).to_be_visible()

    # Axes: x, mmHg, pulse.
    assert hidden["shownAxes"] == [True, True, False]
    assert shown["shownAxes"] == [True, True, True]
    assert hidden_again["shownAxes"] == [True, True, False]
    assert shown["plotWidth"] < hidden["plotWidth"]
    assert hidden_again["plotWidth"] == hidden["plotWidth"]
    assert ring[0] == "solid" and ring[1] == "3px"
    assert contrast(ring[2], "rgb(255, 255, 255)") >= 3
    assert contrast(off_colour, "rgb(255, 255, 255)") >= 4.5
    assert contrast(on_colour, "rgb(255, 255, 255)") >= 4.5


def test_at_phone_width_the_chart_fills_its_card_and_labels_keep_clear(
    live_server, client_for, alice, patient_a
) -> None:
    """At 390 px: the canvas takes at least 90% of the card's width, the page does not scroll
    sideways, the legend wraps inside the card, and the limit labels sit below the plot (in the
    legend), never over its lines or axis numbers."""
    from patients.measurements.alerts import rule_create
    from patients.models import RuleType

    twice_daily(patient_a, 60, kind="blood_pressure", systolic=131, diastolic=84, pulse=66)
    rule_create(
        clinic=patient_a.clinic, actor=alice, patient=patient_a, kind="blood_pressure",
        rule_type=RuleType.UPPER, limit=Decimal(150), limit_diastolic=Decimal(95),
    )  # fmt: skip
    session = session_of(client_for, alice)

    path = chart_path(patient_a, "blood_pressure")
    with chart_page(live_server, session, path, viewport=PHONE) as page:
        card = page.locator("figure.measurement-chart").bounding_box()
        canvas = page.locator("figure.measurement-chart canvas").bounding_box()
        state = page.evaluate(CHART_STATE)
        scroll = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        legend = page.locator(".measurement-chart__legend")
        legend_overflow = legend.evaluate("l => l.scrollWidth - l.clientWidth")
        labels = page.locator(".measurement-chart__line")
        label_boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
        label_texts = labels.all_inner_texts()

    assert card is not None and canvas is not None
    assert canvas["width"] >= 0.9 * card["width"]
    assert state["plotWidth"] >= 0.7 * card["width"]  # the axes take little of it
    assert scroll[0] <= scroll[1]
    assert legend_overflow <= 0
    limit = gettext_nl("Limit %(value)s %(unit)s") % {"value": "150", "unit": "mmHg"}
    assert limit in label_texts and len(label_texts) == 4  # two ESH lines, two own limits
    for box in label_boxes:
        assert box is not None and box["y"] >= canvas["y"] + canvas["height"]
        assert box["x"] + box["width"] <= card["x"] + card["width"]


def test_dashboard_and_overview_sparklines_draw_their_lines(
    live_server, client_for, alice, patient_a, tmp_path: Path
) -> None:
    """Each sparkline cell gets a uPlot canvas of its cell's size, with a second line for the
    diastolic; the overview's larger ones likewise; no console error, no CSP report."""
    times = every(20, step=datetime.timedelta(days=1))
    bulk_readings(patient_a, times, kind="blood_pressure", systolic=131, diastolic=84, pulse=66)
    bulk_readings(patient_a, times, kind="weight", value=Decimal("80.4"))
    session = client_for(alice).cookies[settings.SESSION_COOKIE_NAME].value
    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(locale="nl-NL", viewport=DESKTOP)
            context.set_default_timeout(TIMEOUT_MS)
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
            )
            page = context.new_page()
            console.attach(page)
            for path, count in (
                (reverse("patients:list"), 2),
                (reverse("patients:overview", args=[patient_a.pk]), 2),
            ):
                page.goto(live_server.url + path)
                cells = page.locator("[data-sparkline]")
                expect(cells).to_have_count(count)
                expect(cells.locator("canvas")).to_have_count(count)
                for index in range(count):
                    cell, canvas = cells.nth(index), cells.nth(index).locator("canvas")
                    box, drawn = cell.bounding_box(), canvas.bounding_box()
                    assert box and drawn and drawn["width"] > 0 and drawn["height"] > 0
                    assert drawn["width"] <= box["width"] + 1
                # A point per day: its day, then a value per line (two for blood pressure).
                lines = page.evaluate(
                    "() => [...document.querySelectorAll('[data-sparkline]')]"
                    ".map((el) => el.dataset.sparkline.split(',')[0].split(':').length - 1)"
                )
                assert sorted(lines) == [1, 2]
            page.screenshot(path=tmp_path / "sparklines.png", full_page=True)
        finally:
            browser.close()
    assert console.csp_violations == []
    assert console.errors == []
