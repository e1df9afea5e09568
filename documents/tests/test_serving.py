"""How a document's file goes back (T24): an attachment with its sniffed type, nosniff, never
cached; raster images may be previewed inline; videos answer byte ranges so a phone can seek.
A polyglot is served as what its content was accepted as, never as a page."""

from __future__ import annotations

import re

import pytest

from documents.tests import samples
from documents.tests.conftest import own_url, staff_url

pytestmark = pytest.mark.django_db


def assert_private(response, content_type: str) -> None:
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache_control


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (samples.PDF, "brief.pdf", "application/pdf"),
        (samples.image("PNG"), "foto.png", "image/png"),
        (samples.MP4, "oefening.mp4", "video/mp4"),
        (samples.HEIC, "IMG_1.HEIC", "image/heic"),
    ],
)
def test_a_download_is_an_attachment_with_its_sniffed_type(
    client_for, alice, paul, patient_a, add_document, content, name, content_type
):
    """Staff and patient alike get the stored bytes as an attachment under the client's name."""
    document = add_document(patient_a, by=alice, content=content, name=name)
    for client, url in ((client_for(alice), staff_url("download", document)),
                        (client_for(paul), own_url("download", document))):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 200
        assert_private(response, content_type)
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert body(response) == content


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP"])
def test_a_raster_image_may_be_previewed_inline(client_for, alice, patient_a, add_document, kind):
    """JPEG, PNG and WebP: inline from the preview URL, with nosniff."""
    content = samples.image(kind)
    document = add_document(patient_a, by=alice, content=content, name=f"foto.{kind.lower()}")
    response = client_for(alice).get(staff_url("preview", document))
    assert response.status_code == 200
    assert_private(response, f"image/{kind.lower()}")
    assert response["Content-Disposition"].startswith("inline")
    assert body(response) == content


@pytest.mark.parametrize(
    ("content", "name"),
    [(samples.PDF, "a.pdf"), (samples.MP4, "a.mp4"), (samples.HEIC, "a.heic")],
)
def test_nothing_but_a_raster_image_has_a_preview(
    client_for, alice, paul, patient_a, add_document, content, name
):
    """A PDF, a video or a HEIC photo is never served inline: its preview URL is a 404."""
    document = add_document(patient_a, by=alice, content=content, name=name)
    assert client_for(alice).get(staff_url("preview", document)).status_code == 404
    assert client_for(paul).get(own_url("preview", document)).status_code == 404


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (samples.PDF_HTML_POLYGLOT, "application/pdf"),
        (samples.PNG_HTML_POLYGLOT, "image/png"),
    ],
)
def test_an_accepted_polyglot_is_served_as_its_sniffed_type_never_as_a_page(
    client_for, alice, patient_a, add_document, content, content_type
):
    """A PDF or a PNG with HTML after its end is that PDF or PNG: an attachment of that type
    with nosniff, whatever name it came with (a GIF polyglot is refused at upload)."""
    document = add_document(patient_a, by=alice, content=content, name="pagina.html")
    response = client_for(alice).get(staff_url("download", document))
    assert_private(response, content_type)
    assert response["Content-Disposition"].startswith("attachment")
    assert "html" not in response["Content-Type"]
    assert body(response) == content


def test_a_range_request_on_a_video_answers_206_with_those_bytes(
    client_for, alice, paul, patient_a, add_document
):
    """bytes=0-99: the first hundred bytes, Content-Range naming them and the total."""
    document = add_document(patient_a, by=alice, content=samples.MP4, name="oefening.mp4")
    for client, url in ((client_for(alice), staff_url("download", document)),
                        (client_for(paul), own_url("download", document))):  # fmt: skip
        response = client.get(url, HTTP_RANGE="bytes=0-99")
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 0-99/{len(samples.MP4)}"
        assert response["Content-Length"] == "100"
        assert response["Accept-Ranges"] == "bytes"
        assert_private(response, "video/mp4")
        assert body(response) == samples.MP4[:100]


def test_a_range_in_the_middle_of_a_video_answers_those_bytes(
    client_for, alice, patient_a, add_document
):
    """Seeking: a later range is served from its first byte."""
    document = add_document(patient_a, by=alice, content=samples.MP4, name="oefening.mp4")
    response = client_for(alice).get(staff_url("download", document), HTTP_RANGE="bytes=1000-")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 1000-4095/{len(samples.MP4)}"
    assert body(response) == samples.MP4[1000:]


def test_the_pages_show_a_video_element_and_an_image_from_their_urls(
    client_for, alice, patient_a, add_document
):
    """A video plays from its download URL, an image from its preview URL; neither page shows
    the stored name."""
    video = add_document(patient_a, by=alice, content=samples.MP4, name="oefening.mp4")
    photo = add_document(patient_a, by=alice, content=samples.image("PNG"), name="foto.png")
    client = client_for(alice)
    video_page = client.get(staff_url("detail", video)).content.decode()
    photo_page = client.get(staff_url("detail", photo)).content.decode()
    assert re.search(rf'<video[^>]*\ssrc="{staff_url("download", video)}"', video_page)
    assert re.search(rf'<img[^>]*\ssrc="{staff_url("preview", photo)}"', photo_page)
    assert video.stored_name not in video_page and photo.stored_name not in photo_page


def test_a_document_whose_file_is_missing_is_a_404(client_for, alice, patient_a, add_document):
    """A file gone from storage (a restore without it) answers 404, not an error."""
    document = add_document(patient_a, by=alice)
    document.stored_name = "documents/" + "0" * 32
    document.save(update_fields=["stored_name"])
    assert client_for(alice).get(staff_url("download", document)).status_code == 404
