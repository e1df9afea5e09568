"""The patient overview: a professional's home page of one record, a column of panels.

Each panel is a template and a function that returns its context, or None when it has nothing
to show. Patients registers its own (alerts, latest values, the last 30 days, the home blood
pressure average, recent imports) from `patients/hooks.py`; the later features (the exercise
program, messages, documents) register theirs from their own `ready()`, so the overview grows
without this module or the view knowing them. A panel reads through the record's `Scope`: the
overview's one access-log entry covers what its panels show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from patients.record_access import Scope

PanelContext = Callable[[HttpRequest, Scope], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    name: str  # unique; also the panel's HTML id, for links such as the dashboard's "#alerts"
    order: int  # smaller first
    template: str
    context: PanelContext


_panels: dict[str, Panel] = {}


def overview_panel_register(panel: Panel) -> None:
    if panel.name in _panels and _panels[panel.name] != panel:
        raise ValueError(f"Overview panel {panel.name!r} is registered twice.")
    _panels[panel.name] = panel


def overview_panels(request: HttpRequest, scope: Scope) -> list[tuple[Panel, dict[str, Any]]]:
    """The panels that have something to show for this record, in order, with their context."""
    shown = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.name)):
        context = panel.context(request, scope)
        if context is not None:
            shown.append((panel, context))
    return shown
