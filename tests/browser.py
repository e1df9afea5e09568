"""Helpers for the browser tests: launching Debian's Chromium and watching the page console.

Playwright's own browser download (`playwright install`) is not available here; the tests drive
the system Chromium instead, with the flags that keep it off the network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

if TYPE_CHECKING:
    pass

CHROMIUM = Path("/usr/bin/chromium")
# No background fetches, component updates, sync or QUIC probes: the test must not touch the
# network beyond the live server. --no-sandbox because the tests may run as root in a container.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_available() -> bool:
    return shutil.which(str(CHROMIUM)) is not None


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class ConsoleWatcher:
    """Collects console errors and uncaught exceptions of a page (CSP violations are errors)."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        # Chromium reports CSP violations as console errors ("Refused to ... because it
        # violates the following Content Security Policy directive"); catch them whatever
        # level a future version reports them at.
        if message.type == "error" or "Content Security Policy" in message.text:
            self.errors.append(f"{message.type}: {message.text} ({message.location})")

    @property
    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


# axe-core, vendored for the tests only (tests/vendor/README.md): never served by the portal.
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
# The impacts a page must not have; "moderate" and "minor" findings are advice, not failures.
BLOCKING_IMPACTS = ("serious", "critical")

_AXE_RUN = """async (impacts) => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  targets: v.nodes.map((n) => n.target.join(" "))}));
}"""


def install_axe(context: BrowserContext) -> None:
    """Make `axe` available on every page of the context.

    An init script, because the pages' CSP (script-src 'self') refuses what
    `page.add_script_tag` inserts: an inline script. Init scripts are the browser's own and
    outside the page's CSP, so the pages are checked under the policy they are served with.
    """
    context.add_init_script(path=AXE_SCRIPT)


def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations of the page, one readable line each."""
    found = page.evaluate(_AXE_RUN, list(BLOCKING_IMPACTS))
    return [f"{v['id']} ({v['impact']}: {v['help']}) at {', '.join(v['targets'])}" for v in found]


# An aria-describedby or aria-labelledby naming an id that is not in the page describes nothing
# (axe-core accepts it as long as one of the ids exists).
_DANGLING_ARIA_REFERENCES = """() => [...document.querySelectorAll(
    "[aria-describedby], [aria-labelledby]")].flatMap((el) =>
  ["aria-describedby", "aria-labelledby"].flatMap((attr) =>
    (el.getAttribute(attr) || "").split(/\\s+/).filter((id) => id && !document.getElementById(id))
      .map((id) => `${el.tagName.toLowerCase()}[name=${el.getAttribute("name")}] ${attr}=${id}`)))
"""


def dangling_aria_references(page: Page) -> list[str]:
    return page.evaluate(_DANGLING_ARIA_REFERENCES)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate(
        "() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )
