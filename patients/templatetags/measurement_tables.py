"""The rows of the two long tables: the patient list (the clinic dashboard) and a patient's
readings.

They have 25 to 50 rows on every visit; as Django template markup (a few dozen nodes a row) they
were most of the pages' time. So each table's rows are one Jinja2 partial
(`templates/jinja2/patients/`, the second engine in `TEMPLATES`, autoescaping on), rendered once
per table by the tags below from the Django templates that show the tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import template
from django.template import engines
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from patients.kinds import KINDS, Kind
from patients.measurements.selectors import PatientSummary
from patients.models import MeasurementSource, Patient

Reading = Any  # a named row of patients.measurements.selectors.readings

register = template.Library()


def _days_ago(days: int) -> str:
    # Here, not in the partial: makemessages finds `_("...")` in a Jinja2 template, no plurals.
    return ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": days}


def _render(name: str, context: dict[str, Any]) -> SafeString:
    # The partial escapes every value itself (autoescape): its output is safe as a whole, like
    # an {% include %}'s.
    return SafeString(engines["jinja2"].get_template(name).render(context))


@register.simple_tag
def patient_rows(rows: Iterable[tuple[Patient, PatientSummary | None]]) -> SafeString:
    """The `<tr>`s of the patient list; with dashboard summaries (professionals), each patient's
    latest values with their trend, the last reading's age and the open alerts."""
    # Labels as text once per table: each lazy label would be translated again in every row.
    kind_labels = {code: str(kind.label) for code, kind in KINDS.items()}
    return _render(
        "patients/patient_rows.html",
        {"rows": rows, "kind_labels": kind_labels, "days_ago": _days_ago},
    )


@register.simple_tag
def reading_rows(readings: Iterable[Reading], kind: Kind) -> SafeString:
    """The `<tr>`s of the readings table (rows of `selectors.readings`): when, value, source
    (and device)."""
    sources = {value: str(label) for value, label in MeasurementSource.choices}
    return _render(
        "patients/reading_rows.html", {"readings": readings, "kind": kind, "sources": sources}
    )
