"""Subresource Integrity for the portal's ES modules (E2EE.md check 13).

Invariants: every `<script>` a page carries is a same-origin ES module written by
`{% module_script %}` (portal/templatetags/scripts.py) with an `integrity` attribute, and every
module it imports, however deep, is announced by a `<link rel="modulepreload">` with its own.
No template writes `<script>` by hand (tests/test_script_integrity.py).

Why the preloads: an `import` carries no integrity of its own. Chromium fetches a module once per
URL and document (the module map), so the checked fetch of the preload is the one the `import`
gets, and a preload that fails its check makes the importing module fail too.

Why "the bytes served" and not the file in static/: the hash must match what the browser
receives. With DEMO's StaticFilesStorage WhiteNoise serves the finders' files (static/); in
production it serves STATIC_ROOT, filled by collectstatic through
CompressedManifestStaticFilesStorage, whose hashed copies may differ from the source: Django
rewrites `sourceMappingURL` comments, and module imports too were
`support_js_module_import_aggregation` turned on (it is off: Django would fail on the HPKE
bundle's bare `import("crypto")`). So an import is resolved against the URL of the module that
makes it, hashed or not, as served; the URL is turned back into a storage name, and that name
read as WhiteNoise would: from the finders first when WHITENOISE_USE_FINDERS, else the storage.

Only relative and root-relative specifiers ("./", "../", "/") are followed, static imports and
re-exports as well as `import("...")` with a string literal. A bare specifier ("crypto") cannot
load without an import map, which the CSP would refuse as an inline script, so it is left out
(the vendored HPKE bundle's `import("crypto")` is a Node fallback it never reaches in a browser);
an absolute URL elsewhere is an error: the CSP allows no script from another origin anyway.

Results are cached per process, except when WhiteNoise re-reads files as they change
(WHITENOISE_AUTOREFRESH, the demo and the tests) or in DEBUG.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urldefrag, urljoin

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

# `import x from "…"`, `import {a, b as c} from "…"`, `import * as n from "…"`, `import "…"`,
# `export {a} from "…"`, `export * from "…"` (minified too), and `import("…")`.
_STATIC_IMPORT = re.compile(
    r"""\b(?:import|export)\s*(?:[\w*${},\s]+?\s*\bfrom\s*)?(["'])([^"'\n]+)\1"""
)
_DYNAMIC_IMPORT = re.compile(r"""\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*\)""")
_FOLLOWED_PREFIXES = ("./", "../", "/")


@dataclass(frozen=True)
class Module:
    """A module as the page names it: the URL it is fetched from and its integrity value."""

    url: str
    integrity: str


def module_graph(name: str) -> tuple[Module, tuple[Module, ...]]:
    """The module at static `name` and every module it imports, recursively, each once."""
    if settings.DEBUG or getattr(settings, "WHITENOISE_AUTOREFRESH", False):
        return _module_graph(name)
    return _cached_module_graph(name)


def sri_hash(content: bytes) -> str:
    """The `integrity` value of `content`: sha384, base64, as browsers check it."""
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")


def served_bytes(name: str) -> bytes:
    """The bytes WhiteNoise serves for the static file `name`."""
    if getattr(settings, "WHITENOISE_USE_FINDERS", False):
        path = finders.find(name)
        if path:
            with open(path, "rb") as file:
                return file.read()
    with staticfiles_storage.open(name) as file:
        return file.read()


def imported_specifiers(source: str) -> list[str]:
    """The specifiers of `source`'s imports that name a static file, in order."""
    matches = sorted(
        [*_STATIC_IMPORT.finditer(source), *_DYNAMIC_IMPORT.finditer(source)],
        key=lambda match: match.start(),
    )
    specifiers: list[str] = []
    for match in matches:
        specifier = match.group(2)
        if specifier.startswith(_FOLLOWED_PREFIXES):
            specifiers.append(specifier)
        elif ":" in specifier:
            raise ImproperlyConfigured(f"A module imports {specifier!r}: not a static file.")
    return specifiers


def _module_graph(name: str) -> tuple[Module, tuple[Module, ...]]:
    base = staticfiles_storage.base_url or settings.STATIC_URL
    seen: dict[str, Module] = {}
    pending = [static(name)]
    while pending:
        url = pending.pop(0)
        if url in seen:
            continue
        content = served_bytes(_storage_name(url, base))
        seen[url] = Module(url=url, integrity=sri_hash(content))
        for specifier in imported_specifiers(content.decode("utf-8")):
            pending.append(urldefrag(urljoin(url, specifier)).url)
    modules = list(seen.values())
    return modules[0], tuple(modules[1:])


_cached_module_graph = functools.lru_cache(maxsize=None)(_module_graph)


def _storage_name(url: str, base: str) -> str:
    if not url.startswith(base):
        raise ImproperlyConfigured(f"The module {url!r} is not under STATIC_URL ({base!r}).")
    return unquote(url[len(base) :])
