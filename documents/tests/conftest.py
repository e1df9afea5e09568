"""Shared by documents' tests: private storage of each test's own, and documents made through
the upload service as the pages make them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from documents.models import RecordDocument
from documents.services import document_upload
from documents.tests import samples


@pytest.fixture(autouse=True)
def _private_storage(private_root: Path) -> None:
    """Every test here stores files in a folder of its own."""


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def add_document(db) -> Callable[..., RecordDocument]:
    """`add_document(patient, by=user, content=..., name=..., **options)`: through the service."""

    def add(patient, *, by, content: bytes = samples.PDF, name: str = "brief.pdf", **options):
        return document_upload(
            clinic=patient.clinic,
            actor=by,
            patient=patient,
            upload=ContentFile(content, name=name),
            **options,
        )

    return add


def staff_url(name: str, document: RecordDocument | None = None, *, patient=None) -> str:
    kwargs = {"patient_id": (patient or document.patient).pk}
    if document is not None:
        kwargs["document_id"] = document.pk
    return reverse(f"documents:{name}", kwargs=kwargs)


def own_url(name: str, document: RecordDocument | None = None, *, patient=None) -> str:
    kwargs = {"record_id": (patient or document.patient).pk}
    if document is not None:
        kwargs["document_id"] = document.pk
    return reverse(f"documents:my_{name}", kwargs=kwargs)
