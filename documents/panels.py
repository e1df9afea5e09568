"""The documents panel of the patient overview (`patients.overview`): the newest documents of
the record and the way to all of them. Registered from `documents/hooks.py`; it reads through
the record's `Scope`, so the overview's one access-log entry covers it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from documents.selectors import document_list
from documents.views import document_url
from patients.overview import Panel
from patients.record_access import Scope

NEWEST = 5


def documents_context(request: HttpRequest, scope: Scope) -> dict[str, Any]:
    """Shown even when there is none yet: the panel is where a document is added."""
    newest = list(document_list(scope)[:NEWEST])
    return {
        "rows": [
            (document, document_url(scope, "detail", document_id=document.pk))
            for document in newest
        ],
        "list_url": document_url(scope, "list"),
        "upload_url": document_url(scope, "upload"),
    }


DOCUMENTS_PANEL = Panel("documents", 70, "documents/panels/documents.html", documents_context)
