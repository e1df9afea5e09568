"""Reads of record documents, always through the record's `Scope`: staff see every document of
the record, the patient only those not staff-only (a staff-only document is a 404 to them, like
a missing one, and never counted)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from documents.models import RecordDocument
from patients.record_access import Scope


def document_list(scope: Scope) -> QuerySet[RecordDocument]:
    """The record's documents the scope may see, newest first, with their uploaders."""
    documents = (
        RecordDocument.objects.for_clinic(scope.patient.clinic_id)
        .filter(patient=scope.patient)
        .select_related("uploaded_by")
        .order_by("-created_at", "pk")
    )
    if not scope.is_staff:
        documents = documents.filter(is_staff_only=False)
    return documents


def document_get(scope: Scope, document_id: uuid.UUID) -> RecordDocument:
    """One document of the record the scope may see; 404 otherwise (another clinic's, another
    record's, or a staff-only one asked for by the patient)."""
    document = document_list(scope).filter(pk=document_id).first()
    if document is None:
        raise Http404
    return document
