"""The Jinja2 environment of the second template engine (`TEMPLATES[1]`, `templates/jinja2/`).

Only the row partials of the long tables use it: Django's engine renders every other page.
The partials see what the Django templates they replace used: Django's translation (`_`,
`gettext`, `ngettext` through `jinja2.ext.i18n`; a translation is text, escaped like any value,
as `{% translate %}` does), `url` (Django's `reverse`), and the `fixed` (a number with a
given count of decimals) and `date` filters in the active language. Autoescaping is always on.
"""

from __future__ import annotations

import functools
from typing import Any

from django.template import engines
from django.template.defaultfilters import date
from django.urls import URLResolver, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString
from django.utils.timezone import get_current_timezone_name, template_localtime
from django.utils.translation import get_language, gettext, ngettext
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from portal.numbers import fixed


@functools.lru_cache(maxsize=4096)
def _reverse(resolver: URLResolver, prefix: str, name: str, args: tuple) -> str:
    return reverse(name, args=args)


@functools.lru_cache(maxsize=4096)
def _local_date(value: Any, time_zone: str, format_name: str, language: str | None) -> str:
    return date(template_localtime(value), format_name)


class ActiveLocale:
    """What the partials' `url`, `date` and `fixed` depend on: the active language, time zone,
    URL resolver and script prefix, read once per table (`render_partial`). Each is a
    context-local, a few µs a read, and a table of 25 rows formats some 200 values."""

    def __init__(self) -> None:
        self.language = get_language()
        self.time_zone = get_current_timezone_name()
        self.resolver = get_resolver(get_urlconf())
        self.script_prefix = get_script_prefix()


def _active(context: Context) -> ActiveLocale:
    active = context.get("active_locale")
    return active if isinstance(active, ActiveLocale) else ActiveLocale()


@pass_context
def url(context: Context, name: str, *args: Any) -> str:
    """`{% url name args %}`. Every row of a table links to its patient, and `reverse` is slow,
    so its results are kept per resolver (a new one after `clear_url_caches`) and script prefix:
    what they depend on in this portal, which translates no URL (no `i18n_patterns`)."""
    active = _active(context)
    return _reverse(active.resolver, active.script_prefix, name, args)


@pass_context
def local_date(context: Context, value: Any, format_name: str = "") -> str:
    """`{{ value|date:format_name }}`: aware datetimes in the current time zone first, as the
    Django engine does before its `date` filter. The text depends on nothing else, so it is
    kept: a table formats the same dates of birth on every visit, at ~20 µs each."""
    active = _active(context)
    return _local_date(value, active.time_zone, format_name, active.language)


@pass_context
def local_fixed(context: Context, value: Any, places: int) -> str:
    """`portal.numbers.fixed` in the active language."""
    return fixed(value, places, language=_active(context).language)


def render_partial(name: str, context: dict[str, Any]) -> SafeString:
    """A partial of this engine, rendered with the active locale read once. The partial escapes
    every value itself (autoescape): its output is safe as a whole, like an {% include %}'s."""
    template = engines["jinja2"].get_template(name)
    return SafeString(template.render({**context, "active_locale": ActiveLocale()}))


def environment(**options: Any) -> Environment:
    options.pop("autoescape", None)  # on, whatever OPTIONS say: the partials rely on it
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.globals["url"] = url
    env.filters["fixed"] = local_fixed
    env.filters["date"] = local_date
    return env
