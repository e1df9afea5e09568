"""The timeline's weekly table (up to 53 rows of eight values) as one Jinja2 partial, as the
other long tables are: as Django template markup it was a third of the page's time."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from exercises.timeline import Timeline
from portal.jinja2 import render_partial

register = template.Library()


@register.simple_tag
def timeline_week_rows(timeline: Timeline) -> SafeString:
    return render_partial("exercises/timeline_week_rows.html", {"weeks": timeline.weeks})
