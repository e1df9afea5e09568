"""E2EE.md check 13: the CSP without `unsafe-*`, no inline script, and an `integrity` on every
script and on every module a script imports (portal/static_integrity.py).

The pages' scripts are checked against the bytes the server actually sends for their URLs, in the
tests' storage (StaticFilesStorage and the finders, as `make run`) and in production's manifest
storage after a real collectstatic.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from patients.tests.factories import add_measurement
from portal import static_integrity
from portal.static_integrity import imported_specifiers, module_graph
from portal.templatetags.scripts import module_script

TAG_MODULES = {
    settings.BASE_DIR / "portal" / "static_integrity.py",
    settings.BASE_DIR / "portal" / "templatetags" / "scripts.py",
}
UPLOT = "/static/vendor/uplot-1.6.32/uPlot.esm.js"


# --- what a page carries ------------------------------------------------------------------------


@dataclass
class PageScripts(HTMLParser):
    """The `<script>` elements and modulepreload links of a page, as attribute dicts."""

    scripts: list[dict[str, str | None]] = field(default_factory=list)
    preloads: list[dict[str, str | None]] = field(default_factory=list)
    inline: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
            self._in_script = True
        elif tag == "link" and attributes.get("rel") == "modulepreload":
            self.preloads.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:80])


def page_scripts(html: str) -> PageScripts:
    parser = PageScripts()
    parser.feed(html)
    parser.close()
    return parser


def served(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def sha384(content: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode()


def assert_every_script_is_integrity_checked(client: Client, html: str) -> PageScripts:
    """Every script a module with a src and the integrity of the bytes its URL serves; every
    relative import of every module (followed down) announced by a matching modulepreload."""
    page = page_scripts(html)
    assert page.inline == [], f"inline script: {page.inline}"
    preloads = {link["href"]: link.get("integrity") for link in page.preloads}
    for link in page.preloads:
        assert link.get("integrity") == sha384(served(client, link["href"])), link
    for script in page.scripts:
        assert script.get("type") == "module" and script.get("src"), script
        src = script["src"]
        assert script.get("integrity") == sha384(served(client, src)), script
        pending, seen = [src], set()
        while pending:
            url = pending.pop()
            seen.add(url)
            for specifier in imported_specifiers(served(client, url).decode()):
                imported = urljoin(url, specifier)
                assert imported in preloads, f"{url} imports {imported}: no modulepreload"
                if imported not in seen:
                    pending.append(imported)
    return page


# --- (a) template sources -----------------------------------------------------------------------


def template_files() -> list[Path]:
    roots = [Path(d) for engine in settings.TEMPLATES for d in engine.get("DIRS", [])]
    roots += [path for path in settings.BASE_DIR.glob("*/templates") if ".venv" not in path.parts]
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def test_no_template_writes_a_script_element_by_hand() -> None:
    """Django and Jinja2 templates alike: scripts come from {% module_script %} only, and no
    json_script data block (an inline script) either."""
    files = template_files()
    assert any(p.name == "base.html" for p in files)
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if re.search(r"<script|\|\s*json_script", line, re.IGNORECASE)
    ]
    assert offenders == [], "write {% module_script %} instead:\n" + "\n".join(offenders)


def test_no_python_module_writes_a_script_element() -> None:
    """HTML built in Python never carries a script: only the tag's own module writes one."""
    sources = [
        path
        for app in ("portal", "clinics", "patients", "messaging")
        for path in (settings.BASE_DIR / app).rglob("*.py")
        if "tests" not in path.parts and path not in TAG_MODULES
    ]
    offenders = [str(p) for p in sources if re.search(r"<script", p.read_text(), re.IGNORECASE)]
    assert offenders == []


# --- the tag ------------------------------------------------------------------------------------


def test_module_script_preloads_the_vendored_module_it_imports() -> None:
    """sparkline.js imports uPlot: one modulepreload with its integrity, then the script."""
    html = str(module_script("js/sparkline.js"))

    assert html.index('rel="modulepreload"') < html.index("<script")
    assert f'<link rel="modulepreload" href="{UPLOT}" integrity="sha384-' in html
    assert '<script type="module" src="/static/js/sparkline.js" integrity="sha384-' in html


def test_module_script_without_imports_is_the_script_alone() -> None:
    """autosubmit.js imports nothing: no preload."""
    assert str(module_script("js/autosubmit.js")).startswith('<script type="module"')


def test_imports_are_followed_whatever_their_form() -> None:
    """Static imports, re-exports, side-effect and dynamic imports with a literal; bare
    specifiers (no import map) are left out, a URL elsewhere is refused."""
    source = """
        import a from "./a.js"; import {b as c, d} from '../b.js';
        import * as e from "./e.js"; import "./side.js";
        export {f} from "./f.js"; export*from"./g.js"; import{h}from"./h.js";
        const x = await import("./lazy.js"); import("crypto");
        export const y = "./not-an-import.js";
    """
    assert imported_specifiers(source) == [
        "./a.js", "../b.js", "./e.js", "./side.js", "./f.js", "./g.js", "./h.js", "./lazy.js",
    ]  # fmt: skip
    with pytest.raises(Exception, match="not a static file"):
        imported_specifiers('import x from "https://cdn.example/x.js";')


def test_module_graph_reads_each_file_once_per_process_when_files_do_not_change(
    monkeypatch,
) -> None:
    """Production (no autorefresh, no DEBUG) hashes a module once; the demo re-reads."""
    reads: list[str] = []
    real = static_integrity.served_bytes
    monkeypatch.setattr(static_integrity, "served_bytes", lambda n: reads.append(n) or real(n))
    static_integrity._cached_module_graph.cache_clear()
    with override_settings(WHITENOISE_AUTOREFRESH=False, DEBUG=False):
        assert module_graph("js/sparkline.js") == module_graph("js/sparkline.js")
    assert reads == ["js/sparkline.js", "vendor/uplot-1.6.32/uPlot.esm.js"]
    static_integrity._cached_module_graph.cache_clear()

    module_graph("js/sparkline.js")  # the tests' settings autorefresh, like the demo
    assert len(reads) == 4


# --- (b) pages as served ------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_scripts_carry_the_integrity_of_the_served_files() -> None:
    """The login page: base.html's module, checked against the bytes its URL serves."""
    client = Client()
    response = client.get(reverse("account_login"))

    page = assert_every_script_is_integrity_checked(client, response.content.decode())
    assert [s["src"] for s in page.scripts] == ["/static/js/autosubmit.js"]


def test_patient_list_preloads_uplot_with_its_integrity(client_for, alice, patient_a) -> None:
    """The dashboard's sparklines: sparkline.js with its integrity, uPlot preloaded with its."""
    add_measurement(patient_a, 1, kind="weight", value=Decimal("80"))
    client = client_for(alice)
    response = client.get(reverse("patients:list"))

    page = assert_every_script_is_integrity_checked(client, response.content.decode())
    assert "/static/js/sparkline.js" in [s["src"] for s in page.scripts]
    assert [link["href"] for link in page.preloads] == [UPLOT]


def test_measurement_page_scripts_carry_the_integrity_of_the_served_files(
    client_for, alice, patient_a
) -> None:
    """The chart page: its module, uPlot and base.html's module, no script data block."""
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=128, diastolic=82, pulse=64)
    client = client_for(alice)
    response = client.get(reverse("patients:measurements", args=[patient_a.pk]))

    page = assert_every_script_is_integrity_checked(client, response.content.decode())
    assert "/static/js/measurement-chart.js" in [s["src"] for s in page.scripts]
    assert UPLOT in [link["href"] for link in page.preloads]


# --- (d) the policy -----------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["account_login", "patients:list"])
def test_pages_carry_the_strict_policy_without_unsafe_sources(name, client_for, alice) -> None:
    """script-src 'self' only, nothing unsafe; no plugins, no <base>, no framing, same-origin
    connections."""
    response = client_for(alice).get(reverse(name))
    header = response.headers["Content-Security-Policy"]
    directives = csp_directives(header)

    assert "unsafe-" not in header
    assert "Content-Security-Policy-Report-Only" not in response.headers
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["connect-src"] == ["'self'"]


# --- production's manifest storage --------------------------------------------------------------


class ImportRewritingStorage(ManifestStaticFilesStorage):
    """The manifest storage with Django's module-import rewriting on (off by default): hashed
    modules then import hashed names, and the preloads must follow. Not for the HPKE bundle:
    Django would try to hash its bare `import("crypto")` and fail, which is also why production
    cannot turn the rewriting on."""

    support_js_module_import_aggregation = True

    def url_converter(self, name, hashed_files, template=None):
        if name.startswith("vendor/hpke-"):
            return lambda match: match["matched"]
        return super().url_converter(name, hashed_files, template)


HASHED = r"\.[0-9a-f]{12}\.js"


@pytest.mark.parametrize(
    ("backend", "uplot"),
    [
        # Production's: imports are served as written, so uPlot keeps its plain name.
        ("whitenoise.storage.CompressedManifestStaticFilesStorage", re.escape(UPLOT)),
        (f"{__name__}.ImportRewritingStorage", re.escape(UPLOT[: -len(".js")]) + HASHED),
    ],
    ids=["production", "import-rewriting"],
)
def test_manifest_storage_pages_carry_the_integrity_of_the_collected_files(
    backend, uplot, tmp_path, client_for, alice, patient_a
) -> None:
    """After collectstatic, hashed script URLs, each with the integrity of what is served."""
    add_measurement(patient_a, 1, kind="weight", value=Decimal("80"))
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages, WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", interactive=False, verbosity=0)
        client = client_for(alice)
        html = client.get(reverse("patients:measurements", args=[patient_a.pk])).content.decode()
        page = assert_every_script_is_integrity_checked(client, html)

    sources = [script["src"] for script in page.scripts]
    assert all(re.fullmatch(r"/static/js/[\w-]+" + HASHED, src) for src in sources), sources
    assert any("measurement-chart" in src for src in sources)
    assert [re.fullmatch(uplot, link["href"]) is not None for link in page.preloads] == [True]
