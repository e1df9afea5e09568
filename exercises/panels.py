"""The exercise program's panel on the patient overview (`patients.overview`): each running
program with this week's adherence and the newest pain score, linked to its page and to the
timeline. Registered from hooks.py; reads through the record's `Scope`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from exercises import selectors
from patients.overview import Panel
from patients.record_access import Scope


def program_context(request: HttpRequest, scope: Scope) -> dict[str, Any] | None:
    programs = selectors.patient_programs_running(scope.patient)
    if not programs:
        return None
    return {
        "programs": [
            (program, next(iter(selectors.program_adherence_weeks(program, weeks=1)), None))
            for program in programs
        ]
    }


PANELS = (Panel("program", 30, "exercises/panels/program.html", program_context),)
