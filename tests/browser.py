"""Helpers for the browser tests: launching Debian's Chromium and watching the page console.

Playwright's own browser download (`playwright install`) is not available here; the tests drive
the system Chromium instead, with the flags that keep it off the network.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

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
