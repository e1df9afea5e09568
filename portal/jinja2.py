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

from django.template.defaultfilters import date
from django.urls import URLResolver, get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils.timezone import template_localtime
from django.utils.translation import gettext, ngettext
from jinja2 import Environment

from portal.numbers import fixed


@functools.lru_cache(maxsize=4096)
def _reverse(resolver: URLResolver, prefix: str, name: str, args: tuple) -> str:
    return reverse(name, args=args)


def url(name: str, *args: Any) -> str:
    """`{% url name args %}`. Every row of a table links to its patient, and `reverse` is slow,
    so its results are kept per resolver (a new one after `clear_url_caches`) and script prefix:
    what they depend on in this portal, which translates no URL (no `i18n_patterns`)."""
    return _reverse(get_resolver(get_urlconf()), get_script_prefix(), name, args)


def local_date(value: Any, format_name: str = "") -> str:
    """`{{ value|date:format_name }}`: aware datetimes in the current time zone first, as the
    Django engine does before its `date` filter."""
    return date(template_localtime(value), format_name)


def environment(**options: Any) -> Environment:
    options.pop("autoescape", None)  # on, whatever OPTIONS say: the partials rely on it
    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.globals["url"] = url
    env.filters["fixed"] = fixed
    env.filters["date"] = local_date
    return env
