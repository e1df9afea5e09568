"""The patient's day (an exercise list with radio buttons, pain, effort and comment, every visit
from a phone) and its reminder days as Jinja2 partials, as the patient list's and the team
inbox's rows are: as Django form widgets and template markup they were most of the page's
time."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from exercises.forms import DayLogForm, ReminderForm
from portal.jinja2 import render_partial

register = template.Library()


@register.simple_tag
def day_items(form: DayLogForm, record_id: int) -> SafeString:
    """The fields of one program's day, showing what the patient posted (after an error) or
    what was saved."""
    return render_partial(
        "exercises/day_items.html",
        {
            "prefix": form.prefix,
            "record_id": record_id,
            "entries": form.shown_items(),
            "scores": [form.shown_score("pain"), form.shown_score("effort")],
            "comment": form.shown_score("comment"),
        },
    )


@register.simple_tag
def reminder_days(form: ReminderForm) -> SafeString:
    """The reminder form's days, checked as saved."""
    field = form.fields["weekdays"]
    return render_partial(
        "exercises/reminder_days.html",
        {
            "label": field.label,
            "help_text": field.help_text,
            "choices": field.choices,
            "chosen": set(form.initial.get("weekdays") or ()),
        },
    )
