"""The team inbox's rows (50 a page, every visit) as one Jinja2 partial, as the patient list's
are (patients/templatetags/measurement_tables.py): as Django template markup they were most of
the page's time."""

from __future__ import annotations

from django import template
from django.core.paginator import Page
from django.utils.safestring import SafeString

from portal.jinja2 import render_partial

register = template.Library()


@register.simple_tag
def team_inbox_rows(page: Page) -> SafeString:
    """The `<tr>`s of the team inbox: patient (with an unread mark), last message, assignee."""
    return render_partial("messaging/team_inbox_rows.html", {"rows": page})
