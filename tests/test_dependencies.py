"""The code's structure, read from its imports: dependencies point one way, and each cross-cutting
rule keeps its one door.

Layers, lowest first: `portal` (project glue) ← `clinics` (tenancy, roles, MFA, access log) ←
`patients` ← `messaging` and every later feature app. A module may import its own layer and the
ones below, never one above: the lower layer offers a registry that the higher one fills in its
AppConfig.ready(). A new app (any top-level package with an apps.py) is a feature app and walked
without being named here.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
BASE_LAYERS = {"portal": 0, "clinics": 1, "patients": 2}
FEATURE_LAYER = 3

# The project's composition roots: they put the layers together, so they import every one.
COMPOSITION_ROOTS = {
    "portal/settings.py",
    "portal/settings_test.py",
    "portal/urls.py",
    "portal/wsgi.py",
    "portal/asgi.py",
    "portal/celery.py",
    "portal/views.py",  # /healthz declares its public access policy (clinics.access)
}

# Function-level imports that are not there to dodge a cycle, with the reason.
FUNCTION_LEVEL_IMPORTS_ALLOWED = {
    ("portal/celery.py", "_verify_field_key_on_worker_start"): "runs before Django's apps load",
}

# The access-log writer's callers: the doors. Views declare; they never write entries.
# clinics/admin.py holds the admin's door (OperatorLoggedAdmin) for the operator's pages.
ACCESS_LOG_WRITER_CALLERS = {
    "clinics/access_log.py",
    "patients/record_access.py",
    "clinics/admin.py",
}


def apps_of_project() -> dict[str, int]:
    """Every top-level package of the project with its layer."""
    layers = dict(BASE_LAYERS)
    for apps_py in ROOT.glob("*/apps.py"):
        layers.setdefault(apps_py.parent.name, FEATURE_LAYER)
    return layers


LAYERS = apps_of_project()


def source_files() -> list[Path]:
    files = []
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            files.append(path)
    return files


def imports_of(tree: ast.AST) -> list[tuple[str, ast.AST, list[str]]]:
    """(module imported, the node, the names imported from it)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node, [alias.name for alias in node.names]))
    return found


def function_of(tree: ast.AST, target: ast.AST) -> str | None:
    """The name of the innermost function holding `target`, or None at module level."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    node = parents.get(target)
    while node is not None and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        node = parents.get(node)
    return node.name if node is not None else None


FILES = source_files()
PARSED = {path.relative_to(ROOT).as_posix(): ast.parse(path.read_text()) for path in FILES}


def upward_imports(name: str, tree: ast.AST) -> list[str]:
    package = name.split("/")[0]
    own = LAYERS[package]
    return [
        f"{name}:{node.lineno} imports {module}"
        for module, node, _names in imports_of(tree)
        if module.split(".")[0] in LAYERS and LAYERS[module.split(".")[0]] > own
    ]


def test_the_walk_reads_the_code():
    """Every layer has modules to read (an empty walk would prove nothing)."""
    assert {name.split("/")[0] for name in PARSED} >= {"portal", "clinics", "patients", "messaging"}
    assert LAYERS["messaging"] == FEATURE_LAYER


@pytest.mark.parametrize("name", sorted(n for n in PARSED if n not in COMPOSITION_ROOTS))
def test_no_module_imports_a_layer_above_its_own(name):
    """clinics imports no feature app, portal's library modules no app at all, and so on."""
    assert upward_imports(name, PARSED[name]) == []


def test_an_import_from_clinics_into_a_feature_app_is_found():
    """The check fails on the mistake it is there for (a made-up clinics module)."""
    tree = ast.parse("from patients.models import Patient\nimport messaging.views\n")
    assert upward_imports("clinics/made_up.py", tree) == [
        "clinics/made_up.py:1 imports patients.models",
        "clinics/made_up.py:2 imports messaging.views",
    ]


def test_no_function_level_import_of_project_code():
    """Imports of the project's own modules sit at the top of the module: an import inside a
    function is how a cycle gets dodged. AppConfig.ready() is where registries are filled."""
    found = []
    for name, tree in PARSED.items():
        for module, node, _names in imports_of(tree):
            if module.split(".")[0] not in LAYERS:
                continue
            function = function_of(tree, node)
            if function is None or function == "ready":
                continue
            if (name, function) not in FUNCTION_LEVEL_IMPORTS_ALLOWED:
                found.append(f"{name}:{node.lineno} in {function}() imports {module}")
    assert found == []


def test_only_the_doors_write_the_access_log():
    """No view or service calls the access-log writer: pages declare their access
    (patients.record_access, clinics.access_log.logs_access)."""
    writers = {"access_log_record", "access_log_record_many", "access_log_record_operator"}
    callers = {
        name
        for name, tree in PARSED.items()
        for module, _node, names in imports_of(tree)
        if module == "clinics.access_log" and writers & set(names)
    }
    assert callers <= ACCESS_LOG_WRITER_CALLERS


def test_every_app_with_tests_is_collected_by_make_test():
    """pytest collects only `testpaths`: an app missing there would have its tests silently
    skipped by `make test` and CI (issue 12's three apps were, until this test)."""
    configured = tomllib.loads((ROOT / "pyproject.toml").read_text())
    testpaths = set(configured["tool"]["pytest"]["ini_options"]["testpaths"])
    with_tests = {path.parent.name for path in ROOT.glob("*/tests") if path.parent.name in LAYERS}
    assert with_tests <= testpaths, f"add to testpaths in pyproject.toml: {with_tests - testpaths}"
