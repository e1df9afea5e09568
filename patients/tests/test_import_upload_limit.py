"""Uploads larger than IMPORT_MAX_BYTES are refused before the body is read (T26): on
Content-Length at once, and by an upload handler at the cap when Content-Length is not above it."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from patients.models import ImportBatch
from patients.tests.test_imports import FILENAME, omron_csv
from portal.middleware import UPLOAD_ENVELOPE_BYTES

pytestmark = pytest.mark.django_db


class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def test_a_large_content_length_is_refused_without_reading_the_body(
    client_for, alice, patient_a, settings
):
    """413 with the portal's message; the body is never touched, nothing stored."""
    settings.IMPORT_MAX_BYTES = 300 * 1024 * 1024
    client = client_for(alice)
    client.cookies["django_language"] = "en"
    response = client.generic(
        "POST",
        reverse("patients:import_new", args=[patient_a.pk]),
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(301 * 1024 * 1024),
        **{"wsgi.input": _Unreadable()},
    )
    assert response.status_code == 413
    assert "The file is too large: at most 300 MB." in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_an_upload_over_the_cap_within_the_envelope_is_stopped_by_the_handler(
    client_for, paul, patient_a, settings
):
    """Content-Length passes (file cap plus envelope), the file does not: the parser stops at
    the cap, 413, nothing stored."""
    settings.IMPORT_MAX_BYTES = 256 * 1024
    body = omron_csv() + b"#" * (settings.IMPORT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES // 2)
    response = client_for(paul).post(
        reverse("patients:my_import_new", args=[patient_a.pk]),
        {"file": SimpleUploadedFile(FILENAME, body)},
    )
    assert response.status_code == 413
    assert not ImportBatch.objects.exists()


def test_an_upload_under_the_cap_goes_through(client_for, alice, patient_a, settings):
    """The handler passes a file under the cap on, whole."""
    settings.IMPORT_MAX_BYTES = 256 * 1024
    response = client_for(alice).post(
        reverse("patients:import_new", args=[patient_a.pk]),
        {"file": SimpleUploadedFile(FILENAME, omron_csv())},
    )
    assert response.status_code == 302
    assert ImportBatch.objects.get().rows_valid == 3
