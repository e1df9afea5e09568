"""Private files: what users upload, and what the portal derives from it, kept out of any URL.

The one place that stores, opens, measures, serves and deletes private files. Invariants:
- Everything goes through Django's storage API, on the storage named "private" in
  `settings.STORAGES`, looked up at call time: a deployment with several web hosts and workers
  moves private files to shared or S3-compatible object storage (django-storages) by settings
  alone. Nothing here, nor in a caller, builds a local path.
- No private file has a URL: a file goes back to a user only as `file_response`, from a view
  that declared its access policy; never cached (`private, no-store`), never sniffed (`nosniff`).
- Stored names are random (uuid4 hex, under an optional folder naming the purpose): the client's
  file name is data, kept by the caller and used only in Content-Disposition.
- A file's type is decided by its content, never by the client's name or Content-Type, and the
  size cap is checked before anything is stored: a refused upload leaves nothing behind.
- A file written through `open_for_writing` appears whole or not at all.
- A file whose row never committed (its request died) or went with its parent (a patient
  record deleted) is an orphan: the apps declare which rows name the files of their folders
  (`folder_owner_register`), and the one hourly sweep (`orphans_delete`) deletes the others.
- This is the lowest layer: it imports nothing from clinics, patients or messaging.
"""

from __future__ import annotations

import codecs
import datetime
import re
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

import filetype
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

STORAGE_ALIAS = "private"
TEXT = "text/plain"
ZIP = "application/zip"
OCTET_STREAM = "application/octet-stream"
PDF = "application/pdf"
# Photos and videos as `sniff` names them (filetype's MIME types), for the apps that take them.
JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
MP4 = "video/mp4"
QUICKTIME = "video/quicktime"
WEBM = "video/webm"
# The raster images a browser draws without running anything: the only types ever inline.
INLINE_IMAGE_TYPES = frozenset({JPEG, PNG, WEBP})
VIDEO_TYPES = frozenset({MP4, QUICKTIME, WEBM})
PDF_HEADER = b"%PDF-"
SNIFF_BYTES = 8192  # filetype reads at most this much; enough to judge text as well
CHUNK_BYTES = 64 * 1024
_MB = 1024 * 1024
# C0 controls that occur in real text files (tab, line feed, form feed, carriage return).
_TEXT_CONTROLS = frozenset(b"\t\n\x0c\r")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class StoredFile:
    name: str  # the storage name, to keep on the owning record
    size: int
    content_type: str  # decided by content


def _storage() -> Storage:
    # At call time, never at import: settings (and tests' `settings` fixture) may change it.
    return storages[STORAGE_ALIAS]


# --- storing -------------------------------------------------------------------------------------


def too_large_message(max_bytes: int) -> str:
    """What a user reads when a file is over the cap: the one wording, wherever it is refused."""
    return _("The file is too large: at most %(mb)d MB.") % {"mb": max(1, max_bytes // _MB)}


def save_upload(
    *,
    upload: File,
    max_bytes: int,
    accepted_types: Collection[str],
    prefix: str = "",
    accepted_description: str = "",
) -> StoredFile:
    """Store `upload` under a new random name (in folder `prefix`, e.g. "imports/").

    Refused with a ValidationError before anything is stored: larger than `max_bytes`
    (code "too_large"), or content of a type not in `accepted_types` (code "type"; the message
    names `accepted_description`, what a person would call the accepted types, when given).
    """
    size = upload.size
    if size is None or size > max_bytes:
        raise ValidationError(too_large_message(max_bytes), code="too_large")
    upload.seek(0)
    content_type = sniff(upload.read(SNIFF_BYTES))
    upload.seek(0)
    if content_type not in accepted_types:
        if accepted_description:
            message = _("This type of file cannot be added. Accepted are %(types)s.") % {
                "types": accepted_description
            }
        else:
            message = _("This type of file cannot be used here.")
        raise ValidationError(message, code="type")
    folder = prefix.strip("/")
    name = _storage().save(f"{folder}/{uuid.uuid4().hex}" if folder else uuid.uuid4().hex, upload)
    return StoredFile(name=name, size=size, content_type=content_type)


def save_ciphertext(*, upload: File, max_bytes: int, prefix: str = "") -> StoredFile:
    """Store bytes encrypted in a browser (an end-to-end encrypted attachment) under a new
    random name: no type can be judged from ciphertext, so none is guessed (a random head may
    happen to match some magic number); it is only ever served as octet-stream. Refused with
    a ValidationError (code "too_large") before anything is stored when over `max_bytes`."""
    size = upload.size
    if size is None or size > max_bytes:
        raise ValidationError(too_large_message(max_bytes), code="too_large")
    upload.seek(0)
    folder = prefix.strip("/")
    name = _storage().save(f"{folder}/{uuid.uuid4().hex}" if folder else uuid.uuid4().hex, upload)
    return StoredFile(name=name, size=size, content_type=OCTET_STREAM)


def names_in(folder: str) -> list[str]:
    """The storage names of the files directly in `folder` (for sweeping orphans)."""
    folder = folder.strip("/")
    try:
        _directories, files = _storage().listdir(folder)
    except FileNotFoundError:
        return []
    return [f"{folder}/{name}" for name in files]


def sniff(head: bytes) -> str:
    """The content type of a file from its first bytes (SNIFF_BYTES).

    Text first: a CSV whose first letters happen to match a short binary signature (say "BM",
    a bitmap's) is still text. Then the magic numbers of binary formats (filetype). A PDF's
    header is the one exception: a PDF may hold nothing but ASCII in its first bytes (an
    uncompressed one), and no CSV or export starts with "%PDF-".
    """
    if head.startswith(PDF_HEADER):
        return PDF
    if _is_text(head):
        return TEXT
    kind = filetype.guess(head)
    return kind.mime if kind is not None else OCTET_STREAM


def _is_text(head: bytes) -> bool:
    """UTF-16 with a BOM, or bytes without NUL or stray control characters that read as UTF-8
    or as cp1252 (what Excel writes when a Western European user saves an export as CSV).
    The head may end inside a multi-byte character: the decoders are not told it is the end."""
    if head.startswith(_UTF16_BOMS):
        try:
            text = codecs.getincrementaldecoder("utf-16")().decode(head, final=False)
        except UnicodeDecodeError:
            return False
        return not any(ord(c) < 0x20 and ord(c) not in _TEXT_CONTROLS for c in text)
    if any(byte < 0x20 and byte not in _TEXT_CONTROLS for byte in head):
        return False
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


@contextmanager
def open_for_writing(*, name: str) -> Iterator[IO[bytes]]:
    """A binary file to write, stored as `name` (replacing any) once the block ends without an
    exception; nothing is stored otherwise.

    Written to a local temporary file first, then saved whole: object storage publishes an
    object only once complete, and the file system storage renames the temporary file into
    place (atomic when FILE_UPLOAD_TEMP_DIR is on the same file system, as in the default).
    """
    temporary = TemporaryUploadedFile(PurePosixPath(name).name, OCTET_STREAM, 0, None)
    with temporary:
        yield temporary.file
        temporary.file.flush()
        temporary.size = temporary.file.tell()
        storage = _storage()
        storage.delete(name)
        saved = storage.save(name, temporary)
        if saved != name:  # another writer stored one meanwhile: theirs is as good
            storage.delete(saved)


# --- reading -------------------------------------------------------------------------------------


def open_file(*, name: str) -> File:
    """The stored file, opened for reading in binary; the caller closes it (`with`).
    FileNotFoundError when there is none."""
    return _storage().open(name, "rb")


def exists(*, name: str) -> bool:
    return bool(name) and _storage().exists(name)


def size(*, name: str) -> int:
    return _storage().size(name)


def modified_at(*, name: str) -> datetime.datetime:
    return _storage().get_modified_time(name)


# --- deleting ------------------------------------------------------------------------------------


def delete(*, name: str) -> None:
    """Delete the stored file; a missing one is fine (idempotent)."""
    if name:
        _storage().delete(name)


@contextmanager
def deleted_on_failure(stored: StoredFile | None) -> Iterator[None]:
    """No file without its row: the block that records a just-stored file (its row, its
    checks) deletes the file when it fails, whatever the failure, and the failure goes on."""
    try:
        yield
    except BaseException:
        if stored is not None:
            delete(name=stored.name)
        raise


# --- orphans -------------------------------------------------------------------------------------

# Longer than any request may run between storing its file and committing its row: a younger
# file without a row may still be on its way to one.
ORPHAN_AGE = datetime.timedelta(hours=1)

# Of these storage names, the ones a row still names.
Named = Callable[[list[str]], Collection[str]]

_folder_owners: dict[str, Named] = {}


def folder_owner_register(*, folder: str, named: Named) -> None:
    """Declare the rows that own the files of `folder` (registered from an app's ready()):
    `orphans_delete` deletes the files of the folder that `named` does not answer for."""
    folder = folder.strip("/")
    if _folder_owners.get(folder, named) != named:
        raise ValueError(f"The private folder {folder!r} already has an owner.")
    _folder_owners[folder] = named


def orphans_delete(
    *, folders: Collection[str] | None = None, now: datetime.datetime | None = None
) -> int:
    """Delete the files of the registered folders (all, or `folders`) that no row names and
    that are older than ORPHAN_AGE; returns how many. The files are listed first and the rows
    asked for after, so a file whose row is committed meanwhile is found named and kept."""
    now = now or timezone.now()
    wanted = _folder_owners if folders is None else [folder.strip("/") for folder in folders]
    deleted = 0
    for folder in wanted:
        names = [name for name in names_in(folder) if modified_at(name=name) < now - ORPHAN_AGE]
        named = set(_folder_owners[folder](names)) if names else set()
        for name in names:
            if name not in named:
                delete(name=name)
                deleted += 1
    return deleted


# --- serving -------------------------------------------------------------------------------------


def file_response(
    *,
    request: HttpRequest,
    name: str,
    filename: str,
    content_type: str,
    as_attachment: bool = True,
) -> HttpResponse:
    """The stored file as a streamed response (never read into memory), with a single byte range
    when the request asks for one: 206 with Content-Range, 416 when it lies beyond the file.
    Other Range headers (several ranges, another unit, malformed, or an If-Range we cannot
    match, having no validators) get the whole file, as RFC 9110 allows."""
    total = size(name=name)
    byte_range = _byte_range(request, total)
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416, content_type=content_type)
        response["Content-Range"] = f"bytes */{total}"
        return _private_headers(response)
    stream = open_file(name=name)
    start, end = byte_range or (0, total - 1)
    length = end - start + 1 if total else 0
    if byte_range is None:
        response = FileResponse(
            stream, as_attachment=as_attachment, filename=_safe_filename(filename)
        )
    else:
        stream.seek(start)
        response = FileResponse(
            _Slice(stream, length), as_attachment=as_attachment, filename=_safe_filename(filename)
        )
        response.status_code = 206
        response["Content-Range"] = f"bytes {start}-{end}/{total}"
    response["Content-Type"] = content_type
    response["Content-Length"] = str(length)
    return _private_headers(response)


def _byte_range(request: HttpRequest, total: int) -> tuple[int, int] | str | None:
    """(first, last) byte of a single satisfiable range, "unsatisfiable", or None for the whole
    file."""
    header = request.headers.get("Range", "").strip()
    if request.method not in ("GET", "HEAD") or not header or "If-Range" in request.headers:
        return None
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None  # several ranges, another unit, or malformed
    first, last = match.group(1), match.group(2)
    if first == "":  # the last n bytes
        suffix = int(last)
        if suffix == 0 or total == 0:
            return "unsatisfiable"
        return max(0, total - suffix), total - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None  # invalid: ignored
    if start >= total:
        return "unsatisfiable"
    return start, total - 1 if last == "" else min(int(last), total - 1)


class _Slice:
    """`length` bytes of an open file from where it stands, read in chunks by FileResponse."""

    def __init__(self, stream: File, length: int) -> None:
        self.stream = stream
        self.left = length

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(size) if size else b""
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.stream.close()


def _safe_filename(filename: str) -> str:
    """The last part of a client's file name; Django's content_disposition_header then quotes
    it, or encodes it as RFC 5987 `filename*=` when it is not plain ASCII (control characters
    included), so no name can break the header."""
    return re.split(r"[\\/]", filename)[-1].strip() or "download"


def _private_headers(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Accept-Ranges"] = "bytes"
    return response
