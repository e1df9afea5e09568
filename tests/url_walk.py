"""Walk the URL resolver: every pattern, its full view name and its parameters.

The generated tests in tests/test_url_matrix.py iterate over `walk_routes()`, so a URL added
anywhere in the project is covered without anyone remembering to add a test for it. A route is
turned into a concrete path by filling its parameters; `Route.path()` then resolves that path
again and fails when it lands on another pattern, so a wrong value cannot silently test the
wrong view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize

ADMIN_NAMESPACE = "admin"


@dataclass(frozen=True)
class Route:
    """One URL pattern, seen from the root of the project."""

    view_name: str  # "namespace:name", or "<unnamed> route" for a pattern without a name
    namespace: str
    name: str | None
    route: str  # the concatenated pattern strings, as in ResolverMatch.route
    params: tuple[str, ...]
    # The regex of each level, from the root down: enough to build a path from values.
    regexes: tuple[str, ...] = field(repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.namespace.split(":")[0] == ADMIN_NAMESPACE

    @property
    def matrix_key(self) -> str:
        """The key in the reviewed registries: the admin site is one group, `admin:*`."""
        return f"{ADMIN_NAMESPACE}:*" if self.is_admin else self.view_name

    def path(self, values: dict[str, str]) -> str:
        """The path for these parameter values; checks that it resolves back to this route."""
        missing = set(self.params) - set(values)
        if missing:
            raise KeyError(f"{self.view_name}: no value for {sorted(missing)}")
        quoted = {k: quote(str(v), safe="") for k, v in values.items()}
        parts = []
        for regex in self.regexes:
            # normalize() is what reverse() uses: the first form is the plainest one.
            template, _names = normalize(regex)[0]
            parts.append(template % quoted)
        built = "/" + "".join(parts)
        match = resolve(unquote(built))
        if match.route != self.route:
            raise AssertionError(
                f"{self.view_name}: {built!r} resolves to {match.route!r}, not {self.route!r}; "
                "fix the value in the parameter registry."
            )
        return built


def _view_name(namespace: str, name: str | None, route: str) -> str:
    if name is None:
        return f"{namespace + ':' if namespace else ''}<unnamed> {route}"
    return f"{namespace}:{name}" if namespace else name


def _walk(
    resolver: URLResolver, namespace: str, route: str, regexes: tuple[str, ...]
) -> list[Route]:
    routes: list[Route] = []
    for entry in resolver.url_patterns:
        # Joined the way ResolverMatch.route joins them, so the two can be compared.
        pattern_route = str(entry.pattern).removeprefix("^")
        full_route = route + pattern_route
        full_regexes = (*regexes, entry.pattern.regex.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            routes.extend(_walk(entry, inner, full_route, full_regexes))
        elif isinstance(entry, URLPattern):
            params = tuple(name for regex in full_regexes for name in re.compile(regex).groupindex)
            routes.append(
                Route(
                    view_name=_view_name(namespace, entry.name, full_route),
                    namespace=namespace,
                    name=entry.name,
                    route=full_route,
                    params=params,
                    regexes=tuple(r.removeprefix("^") for r in full_regexes),
                )
            )
    return routes


def walk_routes() -> list[Route]:
    """Every URL pattern of the project, namespaces included, in resolver order."""
    return _walk(get_resolver(), "", "", ())
