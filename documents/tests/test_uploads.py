"""Uploads to a record (SECURITY.md T24, T26): the type is decided by content, the size is
capped before the body is read, and whatever is refused leaves nothing behind: no row, no file
in private storage."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from documents.models import RecordDocument
from documents.services import document_upload
from documents.tests import samples
from documents.tests.conftest import english, own_url, staff_url, stored_files
from portal.middleware import UPLOAD_ENVELOPE_BYTES

pytestmark = pytest.mark.django_db

HOSTILE = [
    pytest.param(samples.WINDOWS_EXE, "report.pdf", "image/pdf", id="exe-renamed-pdf"),
    pytest.param(samples.HTML_PAGE, "photo.jpg", "image/jpeg", id="html-renamed-jpg"),
    pytest.param(samples.SVG_WITH_SCRIPT, "drawing.svg", "image/svg+xml", id="svg-script"),
    pytest.param(samples.SVG_WITH_SCRIPT, "drawing.png", "image/png", id="svg-renamed-png"),
    pytest.param(samples.GIF_HTML_POLYGLOT, "photo.gif", "image/gif", id="gif-html-polyglot"),
]

ACCEPTED = [
    pytest.param(samples.PDF, "brief.pdf", "application/pdf", id="pdf"),
    pytest.param(samples.image("JPEG"), "knie.jpg", "image/jpeg", id="jpeg"),
    pytest.param(samples.image("PNG"), "knie.png", "image/png", id="png"),
    pytest.param(samples.image("WEBP"), "knie.webp", "image/webp", id="webp"),
    pytest.param(samples.HEIC, "IMG_0001.HEIC", "image/heic", id="heic"),
    pytest.param(samples.MP4, "oefening.mp4", "video/mp4", id="mp4"),
    pytest.param(samples.MOV, "IMG_0002.MOV", "video/quicktime", id="mov"),
    pytest.param(samples.WEBM, "oefening.webm", "video/webm", id="webm"),
]


def post_file(client, url, content: bytes, name: str, browser_type: str = "", **fields):
    upload = SimpleUploadedFile(name, content, browser_type or "application/octet-stream")
    return client.post(url, {"file": upload, **fields})


@pytest.mark.parametrize(("content", "name", "browser_type"), HOSTILE)
def test_a_hostile_file_is_refused_with_a_clear_message_and_nothing_is_stored(
    client_for, alice, patient_a, private_root, content, name, browser_type
):
    """Whatever its name and the browser's Content-Type: the form again, naming what a record
    takes; no document, no file."""
    client = english(client_for(alice))
    response = post_file(client, staff_url("upload", patient=patient_a), content, name,
                         browser_type, title="Uitslag")  # fmt: skip
    assert response.status_code == 200
    errors = response.context["form"].errors["file"]
    assert errors == [
        "This type of file cannot be added. Accepted are PDF documents, photos (JPEG, PNG, "
        "WebP, HEIC) and videos (MP4, MOV, WebM)."
    ]
    assert not RecordDocument.objects.exists()
    assert stored_files(private_root) == []


@pytest.mark.parametrize(("content", "name", "browser_type"), HOSTILE)
def test_a_patients_hostile_file_is_refused_the_same_way(
    client_for, paul, patient_a, private_root, content, name, browser_type
):
    """The patient's upload page refuses it alike."""
    response = post_file(english(client_for(paul)), own_url("upload", patient=patient_a),
                         content, name, browser_type)  # fmt: skip
    assert response.status_code == 200 and response.context["form"].errors["file"]
    assert not RecordDocument.objects.exists() and stored_files(private_root) == []


def test_an_empty_file_is_refused_and_nothing_is_stored(client_for, alice, patient_a, private_root):
    """An empty file gets Django's clear message; nothing stored."""
    response = post_file(english(client_for(alice)), staff_url("upload", patient=patient_a),
                         b"", "leeg.pdf")  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["The submitted file is empty."]
    assert not RecordDocument.objects.exists() and stored_files(private_root) == []


def test_the_service_refuses_an_empty_file_too(alice, patient_a, private_root):
    """Below the form: an empty upload is refused before anything is stored."""
    with pytest.raises(ValidationError) as refused:
        document_upload(clinic=patient_a.clinic, actor=alice, patient=patient_a,
                        upload=ContentFile(b"", name="leeg.pdf"))  # fmt: skip
    assert refused.value.code == "empty"
    assert stored_files(private_root) == []


@pytest.mark.parametrize(("content", "name", "content_type"), ACCEPTED)
def test_every_accepted_type_is_stored_under_a_random_name_with_its_sniffed_type(
    client_for, alice, patient_a, private_root, content, name, content_type
):
    """Typed by content; the stored name is random, in the documents' folder, and the client's
    name is kept (encrypted) for the download only."""
    response = post_file(client_for(alice), staff_url("upload", patient=patient_a), content,
                         name, "text/html")  # fmt: skip
    document = RecordDocument.objects.get()
    assert response.status_code == 302
    assert response["Location"] == staff_url("detail", document)
    assert document.content_type == content_type and document.size == len(content)
    assert document.original_filename == name
    assert document.stored_name.startswith("documents/") and name not in document.stored_name
    assert [p.read_bytes() for p in stored_files(private_root)] == [content]
    assert str(document.stored_name) not in response["Location"]


def test_the_title_defaults_to_the_file_name_without_its_extension(client_for, alice, patient_a):
    """No title typed: the file's name is the title."""
    post_file(client_for(alice), staff_url("upload", patient=patient_a), samples.PDF,
              "Verwijsbrief huisarts.pdf", title="  ")  # fmt: skip
    assert RecordDocument.objects.get().title == "Verwijsbrief huisarts"


def test_a_client_path_and_control_characters_leave_the_file_name(client_for, alice, patient_a):
    """Only the last part of a Windows path is kept, without control characters."""
    post_file(client_for(alice), staff_url("upload", patient=patient_a), samples.PDF,
              "C:\\Users\\x\\brief\x07.pdf")  # fmt: skip
    assert RecordDocument.objects.get().original_filename == "brief.pdf"


def test_staff_may_keep_a_document_from_the_patient(client_for, alice, patient_a):
    """The staff-only box is the staff's; who uploaded it is kept."""
    post_file(client_for(alice), staff_url("upload", patient=patient_a), samples.PDF, "a.pdf",
              staff_only="on")  # fmt: skip
    document = RecordDocument.objects.get()
    assert document.is_staff_only and not document.is_from_patient
    assert document.uploaded_by == alice


def test_a_patient_cannot_make_their_upload_staff_only(client_for, paul, patient_a):
    """A forged staff-only field on the patient's form is ignored: their upload stays theirs
    to see, and the record says the patient uploaded it."""
    response = post_file(client_for(paul), own_url("upload", patient=patient_a), samples.PDF,
                         "a.pdf", staff_only="on", is_staff_only="on")  # fmt: skip
    document = RecordDocument.objects.get()
    assert response["Location"] == own_url("detail", document)
    assert not document.is_staff_only and document.is_from_patient
    assert document.uploaded_by == paul


def test_the_service_refuses_a_staff_only_patient_upload(paul, patient_a, private_root):
    """Below the form too, before anything is stored."""
    with pytest.raises(ValidationError):
        document_upload(clinic=patient_a.clinic, actor=paul, patient=patient_a,
                        upload=ContentFile(samples.PDF, name="a.pdf"), is_from_patient=True,
                        is_staff_only=True)  # fmt: skip
    assert stored_files(private_root) == []


class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.parametrize("who", ["staff", "patient"])
def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read(
    client_for, alice, paul, patient_a, private_root, settings, who
):
    """Content-Length over DOCUMENT_MAX_BYTES: 413 with the portal's message, unread."""
    settings.DOCUMENT_MAX_BYTES = 100 * 1024 * 1024
    client = english(client_for(alice if who == "staff" else paul))
    url = (staff_url if who == "staff" else own_url)("upload", patient=patient_a)
    response = client.generic(
        "POST",
        url,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(101 * 1024 * 1024),
        **{"wsgi.input": _Unreadable()},
    )
    assert response.status_code == 413
    assert "The file is too large: at most 100 MB." in response.content.decode()
    assert not RecordDocument.objects.exists() and stored_files(private_root) == []


def test_a_file_over_the_cap_within_the_envelope_is_stopped_at_the_cap(
    client_for, alice, patient_a, private_root, settings
):
    """Content-Length passes (cap plus envelope), the file does not: 413, nothing stored."""
    settings.DOCUMENT_MAX_BYTES = 256 * 1024
    content = samples.PDF + b"%" * (settings.DOCUMENT_MAX_BYTES + UPLOAD_ENVELOPE_BYTES // 2)
    response = post_file(client_for(alice), staff_url("upload", patient=patient_a), content,
                         "groot.pdf")  # fmt: skip
    assert response.status_code == 413
    assert not RecordDocument.objects.exists() and stored_files(private_root) == []


def test_the_service_refuses_a_file_over_the_cap_with_the_clear_message(
    alice, patient_a, private_root, settings
):
    """The form's path (a file that reached the view): the same message as the 413."""
    settings.DOCUMENT_MAX_BYTES = 2 * 1024 * 1024
    upload = ContentFile(samples.PDF + bytes(2 * 1024 * 1024), name="groot.pdf")
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        document_upload(clinic=patient_a.clinic, actor=alice, patient=patient_a, upload=upload)
    assert refused.value.code == "too_large"
    assert refused.value.messages == ["The file is too large: at most 2 MB."]
    assert stored_files(private_root) == []


def test_a_file_whose_row_fails_is_deleted_again(alice, patient_a, private_root, monkeypatch):
    """The file is stored before its row: when the row cannot be written, the file goes."""

    def broken(**fields):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(RecordDocument.objects, "create", broken)
    with pytest.raises(RuntimeError):
        document_upload(clinic=patient_a.clinic, actor=alice, patient=patient_a,
                        upload=ContentFile(samples.PDF, name="a.pdf"))  # fmt: skip
    assert stored_files(private_root) == []
