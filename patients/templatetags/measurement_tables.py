"""The rows of the two long tables: the patient list (the clinic dashboard) and a patient's
readings; and of the import preview, which shows readings as the readings table does.

They have 25 to 50 rows on every visit; as Django template markup (a few dozen nodes a row) they
were most of the pages' time. So each table's rows are one Jinja2 partial
(`templates/jinja2/patients/`, the second engine in `TEMPLATES`, autoescaping on), rendered once
per table by the tags below from the Django templates that show the tables.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable
from typing import Any

from django import template
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from patients.kinds import KINDS, Kind
from patients.measurements.import_store import CheckedReading
from patients.measurements.selectors import PatientSummary
from patients.models import MeasurementSource, Patient
from portal.dates import calendar_days_since, days_ago
from portal.jinja2 import render_partial

Reading = Any  # a named row of patients.measurements.selectors.readings

register = template.Library()


def _kind_labels() -> dict[str, str]:
    # Labels as text once per table: each lazy label would be translated again in every row.
    return {code: str(kind.label) for code, kind in KINDS.items()}


def _open_alerts(count: int) -> str:
    # Here, not in the partial: makemessages finds no plurals in a Jinja2 template.
    return ngettext("open alert", "open alerts", count)


@register.filter
def calendar_days_ago(moment: datetime.datetime | None) -> str:
    """`{{ reading.measured_at|calendar_days_ago }}`: today, yesterday, 3 days ago."""
    return "" if moment is None else days_ago(calendar_days_since(moment))


@register.simple_tag
def patient_rows(rows: Iterable[tuple[Patient, PatientSummary | None]]) -> SafeString:
    """The `<tr>`s of the patient list; with dashboard summaries (professionals), each patient's
    latest values with their trend, the last reading's age and the open alerts."""
    return render_partial(
        "patients/patient_rows.html",
        {
            "rows": rows,
            "kind_labels": _kind_labels(),
            # Once per count of days a table: a translation per row reads the language each time.
            "days_ago": functools.cache(days_ago),
            "open_alerts": _open_alerts,
        },
    )


@register.simple_tag
def reading_rows(readings: Iterable[Reading], kind: Kind) -> SafeString:
    """The `<tr>`s of the readings table (rows of `selectors.readings`): when, value, source
    (and device)."""
    sources = {value: str(label) for value, label in MeasurementSource.choices}
    return render_partial(
        "patients/reading_rows.html", {"readings": readings, "kind": kind, "sources": sources}
    )


@register.simple_tag
def import_preview_rows(readings: Iterable[CheckedReading]) -> SafeString:
    """The `<tr>`s of an import preview's new readings, of any kind: kind, time, value (as
    the readings table shows it), device."""
    return render_partial(
        "patients/import_preview_rows.html",
        {"readings": readings, "kinds": KINDS, "kind_labels": _kind_labels()},
    )
