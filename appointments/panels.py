"""The appointments panel of the patient overview (patients.overview): the next appointments
and the way to the record's appointment page. Registered from appointments.hooks; it reads
through the record's Scope, covered by the overview's one access-log entry."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from appointments.selectors import appointments_next
from patients.overview import Panel
from patients.record_access import Scope

NEXT_SHOWN = 3


def upcoming_context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    """Always shown, empty or not: it is where a professional plans the first appointment."""
    patient = scope.patient
    upcoming = appointments_next(clinic=patient.clinic_id, patient=patient, limit=NEXT_SHOWN)
    return {"appointments": upcoming}


PANEL = Panel("appointments", 30, "appointments/panels/upcoming.html", upcoming_context)
