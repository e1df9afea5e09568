"""Private files: random names, size cap, type by content, whole-or-nothing writes, range
requests, headers and deletion, all on the "private" storage pointed at a temporary folder."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from portal import private_files

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"apple_health_export/export.xml"
IMPORT_TYPES = {private_files.TEXT, private_files.ZIP}
IMAGE_TYPES = {"image/png", "image/jpeg"}
BODY = bytes(range(256)) * 4  # 1,024 bytes, every byte value


@pytest.fixture
def root(private_root) -> Path:
    return private_root


def save(content: bytes, name: str = "export.csv", **options) -> private_files.StoredFile:
    options.setdefault("max_bytes", 10_000)
    options.setdefault("accepted_types", IMPORT_TYPES)
    return private_files.save_upload(upload=SimpleUploadedFile(name, content), **options)


def stored(name: str, content: bytes = BODY) -> str:
    with private_files.open_for_writing(name=name) as out:
        out.write(content)
    return name


def get(root: Path, name: str, **headers: str):
    request = RequestFactory().get("/file", headers=headers)
    return private_files.file_response(
        request=request, name=name, filename="readings.bin", content_type="application/x-test"
    )


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- storing -------------------------------------------------------------------------------------


def test_an_upload_is_stored_under_a_random_name_in_its_folder(root):
    """A uuid4 hex name under the purpose's folder; the client's name is not used."""
    first = save(b"a,b\n1,2\n", name="../../etc/passwd.csv", prefix="imports/")
    second = save(b"a,b\n1,2\n", prefix="imports")
    for result in (first, second):
        folder, name = result.name.split("/")
        assert folder == "imports" and len(name) == 32 and int(name, 16) >= 0
    assert first.name != second.name
    assert first.size == 8 and first.content_type == private_files.TEXT
    assert (root / first.name).read_bytes() == b"a,b\n1,2\n"


def test_stored_files_are_readable_by_the_portal_only(root):
    """Directories 0700, files 0600: other accounts on the host read nothing."""
    result = save(b"a,b\n", prefix="imports/")
    assert (root / result.name).stat().st_mode & 0o777 == 0o600
    assert (root / "imports").stat().st_mode & 0o777 == 0o700


def test_a_file_over_the_cap_is_refused_before_anything_is_stored(root):
    """Code too_large, a message naming the cap, an empty storage."""
    with pytest.raises(ValidationError) as refused:
        save(b"x" * (2 * 1024 * 1024 + 1), max_bytes=2 * 1024 * 1024)
    assert refused.value.code == "too_large" and "2 MB" in refused.value.messages[0]
    assert not root.exists() or not any(root.rglob("*"))


def test_a_png_renamed_csv_is_refused_for_an_import(root):
    """The content decides: a picture is no text or ZIP, whatever its name."""
    with pytest.raises(ValidationError) as refused:
        save(PNG, name="readings.csv")
    assert refused.value.code == "type"
    assert not root.exists() or not any(root.rglob("*"))


def test_a_text_file_named_png_is_refused_where_only_images_are_accepted(root):
    """A name ending .png and an image Content-Type do not make text an image."""
    upload = SimpleUploadedFile("photo.png", b"not a picture\n", content_type="image/png")
    with pytest.raises(ValidationError) as refused:
        private_files.save_upload(upload=upload, max_bytes=10_000, accepted_types=IMAGE_TYPES)
    assert refused.value.code == "type"
    assert save(PNG, name="photo.png", accepted_types=IMAGE_TYPES).content_type == "image/png"


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"\xef\xbb\xbfDatum;Gewicht\n1-2-2025;80,5\n", private_files.TEXT),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData/>', private_files.TEXT),
        (b'{"resourceType": "Bundle"}', private_files.TEXT),
        ("Tijd,Bloeddruk\n".encode("utf-16"), private_files.TEXT),  # with a BOM
        ("Gewicht;Opmerking\n80,5;caf\xe9\n".encode("cp1252"), private_files.TEXT),
        (b"BMI,Gewicht\n24,80\n", private_files.TEXT),  # not a bitmap despite its "BM"
        ("é".encode() * 4095 + b"\xc3", private_files.TEXT),  # cut inside a character
        (ZIP, private_files.ZIP),
        (PNG, "image/png"),
        (b"text\x00with a NUL", private_files.OCTET_STREAM),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "image/gif"),
    ],
)
def test_the_type_is_decided_by_content(head, content_type):
    """Text in the encodings exports use is text/plain; binary formats by their magic numbers."""
    assert private_files.sniff(head) == content_type


def test_a_derived_file_appears_whole_or_not_at_all(root):
    """Written beside the upload; an exception while writing leaves nothing, and a rewrite
    replaces the earlier file."""
    name = stored("imports/abc.checked", b"first")
    with pytest.raises(RuntimeError), private_files.open_for_writing(name=name) as out:
        out.write(b"half")
        raise RuntimeError
    with private_files.open_file(name=name) as stream:
        assert stream.read() == b"first"
    with pytest.raises(RuntimeError), private_files.open_for_writing(name="imports/new") as out:
        raise RuntimeError
    assert not private_files.exists(name="imports/new")
    stored("imports/abc.checked", b"second")
    with private_files.open_file(name="imports/abc.checked") as stream:
        assert stream.read() == b"second"
    assert sorted(p.name for p in (root / "imports").iterdir()) == ["abc.checked"]


def test_size_modification_time_and_existence(root):
    """What the import check fingerprints a file by."""
    name = stored("x", b"12345")
    assert private_files.exists(name=name) and not private_files.exists(name="missing")
    assert not private_files.exists(name="")
    assert private_files.size(name=name) == 5
    assert private_files.modified_at(name=name).tzinfo is not None


def test_deleting_is_idempotent(root):
    """A missing file, or no name at all, is not an error."""
    name = stored("gone")
    private_files.delete(name=name)
    assert not private_files.exists(name=name)
    private_files.delete(name=name)
    private_files.delete(name="")
    with pytest.raises(FileNotFoundError):
        private_files.open_file(name=name)


def test_nothing_is_written_under_the_static_or_media_roots(root, settings, tmp_path):
    """Private files live in the private storage's own place, never a served one."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.MEDIA_ROOT = tmp_path / "media"
    result = save(b"a,b\n", prefix="imports/")
    stored("imports/derived", b"x")
    assert (root / result.name).is_file() and (root / "imports" / "derived").is_file()
    for served in (settings.STATIC_ROOT, settings.MEDIA_ROOT):
        assert not Path(served).exists()


def test_the_default_private_storage_is_not_under_a_served_root(settings):
    """The settings keep PRIVATE_UPLOAD_ROOT apart from STATIC_ROOT and MEDIA_ROOT."""
    location = Path(settings.STORAGES["private"]["OPTIONS"]["location"]).resolve()
    assert location == Path(settings.PRIVATE_UPLOAD_ROOT).resolve()
    for served in (settings.STATIC_ROOT, settings.MEDIA_ROOT or os.devnull):
        assert not location.is_relative_to(Path(served).resolve())
    assert "base_url" not in settings.STORAGES["private"]["OPTIONS"]


# --- serving -------------------------------------------------------------------------------------


def test_the_whole_file_is_streamed_with_private_headers(root):
    """200, streamed, an attachment, no sniffing, no caching, ranges offered."""
    response = get(root, stored("f"))
    assert response.status_code == 200 and response.streaming
    assert body(response) == BODY
    assert response["Content-Length"] == "1024"
    assert response["Content-Type"] == "application/x-test"
    assert response["Content-Disposition"] == 'attachment; filename="readings.bin"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=1000-5000", 1000, 1023),  # the end clipped to the file
        ("bytes=-5000", 0, 1023),
        ("bytes=1023-1023", 1023, 1023),
    ],
)
def test_a_single_range_answers_206_with_those_bytes(root, header, first, last):
    """Start-end, from a start, the last n bytes: 206, Content-Range, exactly those bytes."""
    response = get(root, stored("f"), Range=header)
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {first}-{last}/1024"
    assert response["Content-Length"] == str(last - first + 1)
    assert body(response) == BODY[first : last + 1]
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_beyond_the_file_answers_416(root, header):
    """Unsatisfiable: 416 with the file's size, and no content."""
    response = get(root, stored("f"), Range=header)
    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */1024"
    assert response.content == b""


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "items=0-9", "bytes=9-2", "bytes=-", "bytes=a-b", "bytes 0-9"]
)
def test_other_range_headers_get_the_whole_file(root, header):
    """Several ranges, another unit, malformed: the whole file, 200 (RFC 9110 allows it)."""
    response = get(root, stored("f"), Range=header)
    assert response.status_code == 200 and body(response) == BODY


def test_an_if_range_gets_the_whole_file(root):
    """No validators are sent, so no If-Range can match: the whole file."""
    response = get(root, stored("f"), Range="bytes=0-9", **{"If-Range": '"abc"'})
    assert response.status_code == 200 and body(response) == BODY


def test_an_empty_file_is_served_and_any_range_of_it_is_unsatisfiable(root):
    """Zero bytes: 200 with length 0; a range: 416."""
    name = stored("empty", b"")
    response = get(root, name)
    assert response.status_code == 200 and response["Content-Length"] == "0"
    assert body(response) == b""
    assert get(root, name, Range="bytes=0-").status_code == 416


@pytest.mark.parametrize(
    ("filename", "disposition"),
    [
        ('meting "1".csv', 'inline; filename="meting \\"1\\".csv"'),
        ("C:\\Users\\p\\bloeddruk.csv", 'inline; filename="bloeddruk.csv"'),
        ("../../etc/passwd", 'inline; filename="passwd"'),
        ("météo.csv", "inline; filename*=utf-8''m%C3%A9t%C3%A9o.csv"),
        ("a\r\nSet-Cookie: x=1", "inline; filename*=utf-8''a%0D%0ASet-Cookie%3A%20x%3D1"),
        ("", 'inline; filename="download"'),
    ],
)
def test_the_file_name_cannot_break_the_header(root, filename, disposition):
    """Quotes escaped, folders dropped, non-ASCII and line breaks as RFC 5987 filename*."""
    response = private_files.file_response(
        request=RequestFactory().get("/file"),
        name=stored("f"),
        filename=filename,
        content_type="text/csv",
        as_attachment=False,
    )
    assert response["Content-Disposition"] == disposition
    response.file_to_stream.close()  # response.close() would signal a finished request


def test_private_files_is_the_lowest_layer():
    """It imports nothing from the apps above it, so any of them may use it."""
    tree = ast.parse(Path(private_files.__file__).read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name.split(".")[0] for name in imported} & {"clinics", "patients", "messaging"}


def test_another_storage_backend_needs_no_code_change(settings):
    """Pointed at a storage without a file system (Django's in-memory storage stands in for
    object storage), saving, reading, ranges and deletion work as they do on disk."""
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    upload = save(b"Datum,Gewicht\n01-03-2025,80\n", prefix="imports/")
    assert private_files.exists(name=upload.name)
    assert private_files.size(name=upload.name) == upload.size
    with private_files.open_file(name=upload.name) as stream:
        assert stream.read().startswith(b"Datum")
    with private_files.open_for_writing(name=f"{upload.name}.checked") as out:
        out.write(BODY)
    partial = get(Path(), f"{upload.name}.checked", Range="bytes=10-19")
    assert partial.status_code == 206 and body(partial) == BODY[10:20]
    private_files.delete(name=upload.name)
    assert not private_files.exists(name=upload.name)
