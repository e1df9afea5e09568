"""The measurement panels of the patient overview (`patients.overview`): what needs attention
(open alerts with their acknowledgement, values outside a limit, missing readings), the latest
value of every kind, the last 30 days of the key kinds, the home blood-pressure average and the
recent imports. Registered from `patients/hooks.py`; each reads through the record's `Scope`."""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from django.http import HttpRequest

from patients.kinds import BLOOD_PRESSURE, KINDS
from patients.measurements.alerts import Triage, open_alerts
from patients.measurements.home_bp import esh_home_average
from patients.measurements.selectors import dashboard_summaries, latest_per_kind, recent_imports
from patients.overview import Panel
from patients.record_access import Scope

RECENT_IMPORTS = 5


# The clinic's triage and the rules that hold for the record, per request: two panels use them.
_triaged: WeakKeyDictionary[HttpRequest, tuple[Triage, list[int]]] = WeakKeyDictionary()


def _triage_of(request: HttpRequest, scope: Scope) -> tuple[Triage, list[int]]:
    if request not in _triaged:
        triage = Triage.for_clinic(scope.patient.clinic_id)
        _triaged[request] = (triage, triage.holding_for(scope.patient))
    return _triaged[request]


def attention_context(request: HttpRequest, scope: Scope) -> dict[str, Any] | None:
    """Open alerts (each with its acknowledge button) and the rules that hold without one."""
    patient = scope.patient
    triage, holding = _triage_of(request, scope)
    alerts = list(open_alerts(clinic_id=patient.clinic_id, patient=patient).select_related("rule"))
    reasons = [r for r in triage.reasons(holding, alerts) if not r.is_alert]
    if not alerts and not reasons:
        return None
    return {"alerts": alerts, "reasons": reasons}


def latest_context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    """The newest reading of every kind, a value outside a limit marked, and the last 30 days
    of the key kinds (daily means, the trend against the week before)."""
    patient = scope.patient
    latest = latest_per_kind(patient=patient)
    crossed = {}
    if latest:
        triage, holding = _triage_of(request, scope)
        crossed = triage.out_of_range(holding)
    patient.last_reading_at = max((m.measured_at for m in latest.values()), default=None)
    summary = dashboard_summaries(clinic_id=patient.clinic_id, patients=[patient])[patient.pk]
    return {
        "latest": [
            (KINDS[code], m, crossed.get(code, "")) for code, m in latest.items() if code in KINDS
        ],
        "cells": [cell for cell in summary.cells if cell.sparkline is not None],
        "home_average": esh_home_average(patient=patient) if BLOOD_PRESSURE in latest else None,
    }


def imports_context(request: HttpRequest, scope: Scope) -> dict[str, Any] | None:
    batches = recent_imports(patient=scope.patient, limit=RECENT_IMPORTS)
    return {"batches": batches} if batches else None


PANELS = (
    Panel("alerts", 10, "patients/panels/attention.html", attention_context),
    Panel("latest", 20, "patients/panels/latest.html", latest_context),
    Panel("imports", 80, "patients/panels/imports.html", imports_context),
)
