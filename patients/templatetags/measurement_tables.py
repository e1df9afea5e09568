"""Table rows of the patient list (the clinic dashboard) and of a patient's readings, built in
Python.

Like the cells of Django admin's change list (`items_for_result`): these tables have 25 to 50
rows on every visit, and as template markup (a few dozen nodes a row) they were most of the pages'
time. Every value is escaped (`escape`, the same function Django's autoescape applies to a
string); wording, number and date formats are the template's (`gettext`, `floatformat`,
`date_format` in the active language).
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import numberformat, timezone
from django.utils.formats import date_format, get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from patients.kinds import BLOOD_PRESSURE, KINDS, Kind
from patients.measurements.selectors import DashboardCell, PatientSummary
from patients.models import MeasurementSource, Patient

Reading = Any  # a named row of patients.measurements.selectors.readings

register = template.Library()


@functools.lru_cache(maxsize=8)
def _words(language: str | None) -> dict[str, str]:
    """The tables' fixed wording in one language, escaped once (not once per row)."""
    words = {
        "name": gettext("Name"),
        "born": gettext("Date of birth"),
        "last": gettext("Last reading"),
        "alerts": gettext("Alerts"),
        "open_alerts": gettext("open alerts"),
        "account": gettext("Account"),
        "linked": gettext("linked"),
        "not_linked": gettext("not linked"),
        "none": gettext("none"),
        "today": gettext("today"),
        "rising": gettext("rising"),
        "falling": gettext("falling"),
        "measured_at": gettext("Measured at"),
        "value": gettext("Value"),
        "source": gettext("Source"),
        "irregular": gettext("irregular heartbeat"),
    }
    words |= {f"kind:{code}": str(kind.label) for code, kind in KINDS.items()}
    words |= {f"source:{value}": str(label) for value, label in MeasurementSource.choices}
    words["decimal_separator"] = get_format("DECIMAL_SEPARATOR")
    return {key: escape(text) for key, text in words.items()}


def _number(value: Decimal | float, decimals: int, w: dict[str, str]) -> str:
    """What `floatformat:decimals` shows (rounded half up, the language's decimal separator),
    without looking the separator up again for every cell."""
    rounded = Decimal(value).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    return numberformat.format(rounded, w["decimal_separator"], decimal_pos=decimals)


# reverse() costs ~50 µs; a row has one or two links. The pattern is reversed once (per script
# prefix) with a stand-in id, which each row swaps for its patient's.
_STAND_IN_ID = 987654321987


@functools.lru_cache(maxsize=32)
def _url_pattern(name: str, script_prefix: str) -> str:
    return reverse(name, args=[_STAND_IN_ID])


def _patient_url(name: str, pk: int) -> str:
    return _url_pattern(name, get_script_prefix()).replace(str(_STAND_IN_ID), str(int(pk)))


def _td(label: str, content: str) -> str:
    return f'<td data-label="{label}">{content}</td>'


# --- the patient list / clinic dashboard ---------------------------------------------------------


def _quantity(value: Decimal | float, kind: Kind, w: dict[str, str]) -> str:
    """A value of a kind other than blood pressure, with its unit, escaped."""
    return escape(f"{_number(value, kind.decimals, w)} {kind.unit_display}".strip())


def _cell_value(cell: DashboardCell, w: dict[str, str]) -> str:
    if cell.is_blood_pressure:
        return f"{cell.systolic}/{cell.diastolic}"
    return _quantity(cell.value, cell.kind, w)


def _trend(cell: DashboardCell, w: dict[str, str]) -> str:
    if not cell.trend:
        return ""
    arrow, words = ("↑", w["rising"]) if cell.trend > 0 else ("↓", w["falling"])
    return (
        f' <span class="trend" title="{words}">{arrow}'
        f'<span class="visually-hidden">{words}</span></span>'
    )


def _last_reading(summary: PatientSummary, w: dict[str, str]) -> str:
    days = summary.days_since_last_reading
    if days is None:
        return f'<span class="muted">{w["none"]}</span>'
    if days == 0:
        return w["today"]
    return escape(ngettext("%(days)s day ago", "%(days)s days ago", days) % {"days": days})


def _measurement_cells(patient: Patient, summary: PatientSummary, w: dict[str, str]) -> str:
    cells = [
        _td(w[f"kind:{c.kind.code}"], _cell_value(c, w) + _trend(c, w) if c.measured_at else "")
        for c in summary.cells
    ]
    cells.append(_td(w["last"], _last_reading(summary, w)))
    alerts = ""
    if patient.open_alert_count:
        url = _patient_url("patients:measurements", patient.pk)
        alerts = (
            f'<a href="{url}"><span class="badge">{int(patient.open_alert_count)}</span> '
            f'<span class="visually-hidden">{w["open_alerts"]}</span></a>'
        )
    cells.append(_td(w["alerts"], alerts))
    return "".join(cells)


@register.simple_tag
def patient_row(patient: Patient, summary: PatientSummary | None) -> SafeString:
    """One `<tr>` of the patient list; with a dashboard summary (professionals), its latest
    values with their trend, the last reading's age and the open alerts."""
    w = _words(get_language())
    url = _patient_url("patients:detail", patient.pk)
    born = date_format(patient.date_of_birth, "SHORT_DATE_FORMAT")
    account = w["linked"] if patient.user_id else f'<span class="muted">{w["not_linked"]}</span>'
    return mark_safe(  # noqa: S308 (every value above is escaped or a number)
        "<tr>"
        + _td(w["name"], f'<a href="{url}">{escape(patient.full_name)}</a>')
        + _td(w["born"], escape(born))
        + (_measurement_cells(patient, summary, w) if summary is not None else "")
        + _td(w["account"], account)
        + "</tr>"
    )


# --- a patient's readings table ----------------------------------------------------------------


def _reading_value(m: Reading, kind: Kind, w: dict[str, str]) -> str:
    if kind.code != BLOOD_PRESSURE:
        return _quantity(m.value, kind, w)
    parts = [f"{m.systolic}/{m.diastolic} mmHg"]
    if m.pulse:
        parts.append(f"{m.pulse} /min")
    if m.irregular_heartbeat:
        parts.append(w["irregular"])
    return " · ".join(parts)


@register.simple_tag
def reading_row(m: Reading, kind: Kind) -> SafeString:
    """One `<tr>` of the readings table (a row of `selectors.readings`): when, value, source
    (and device)."""
    w = _words(get_language())
    when = date_format(timezone.localtime(m.measured_at), "SHORT_DATETIME_FORMAT")
    source = w[f"source:{m.source}"] + (f" · {escape(m.device)}" if m.device else "")
    return mark_safe(  # noqa: S308 (every value above is escaped or a number)
        "<tr>"
        + _td(w["measured_at"], escape(when))
        + _td(w["value"], _reading_value(m, kind, w))
        + _td(w["source"], source)
        + "</tr>"
    )
