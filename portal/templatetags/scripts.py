"""How a page hands over to JavaScript: `{% module_script %}` and the `json_data` filter.

`{% load scripts %}` (registered in TEMPLATES' `libraries`: the `portal` package is no
installed app). The policy behind both is portal/static_integrity.py: no inline script, and an
`integrity` on every script and every module it imports.
"""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from portal.static_integrity import module_graph

register = template.Library()


@register.simple_tag
def module_script(name: str) -> SafeString:
    """`<script type="module">` for static `name` with its integrity, after a modulepreload
    link with integrity for every module it imports: `{% module_script "js/sparkline.js" %}`.

    No `crossorigin`: modules are same-origin, fetched in CORS mode with same-origin credentials,
    and the preloads use the same mode, so the module map matches them up.
    """
    entry, imports = module_graph(name)
    preloads = format_html_join(
        "\n",
        '<link rel="modulepreload" href="{}" integrity="{}">',
        ((module.url, module.integrity) for module in imports),
    )
    script = format_html(
        '<script type="module" src="{}" integrity="{}"></script>', entry.url, entry.integrity
    )
    return format_html("{}\n{}", preloads, script) if imports else script


@register.filter
def json_data(value: Any) -> str:
    """`value` as JSON for a `data-` attribute (escaped there like any value), where a module
    reads it with `JSON.parse(element.dataset.…)`: the page needs no `<script>` data block."""
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
