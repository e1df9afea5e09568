"""Reading members of an uploaded ZIP without trusting it.

A ZIP is never extracted to disk (so no path traversal); members are read as streams. A zip bomb
is refused before reading when its declared size or compression ratio is implausible for the
text exports we expect, and again while reading, because the declared size can lie: the
`CappedReader` counts what really comes out. Encrypted members, a damaged or truncated archive,
an unsupported compression method and too many members are each an `ImportFormatError`.
"""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from django.utils.translation import gettext as _

from .base import ImportFormatError
from .common import CHUNK_BYTES

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
MAX_MEMBERS = 100_000
# Text compresses 5-30×; a bomb 1,000× or more. Apple's export.xml is the largest real member.
MAX_RATIO = 200
MAX_CSV_MEMBER_BYTES = 256 * 1024 * 1024
MAX_XML_MEMBER_BYTES = 4 * 1024 * 1024 * 1024
MAX_SPOOLED_ZIP_BYTES = 2 * 1024 * 1024 * 1024

READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def damaged() -> ImportFormatError:
    return ImportFormatError(_("The ZIP file is damaged or incomplete; download it again."))


@contextmanager
def open_zip(stream: BinaryIO) -> Iterator[zipfile.ZipFile]:
    """The archive, from a seekable stream or from a bounded temporary copy of it."""
    seekable = getattr(stream, "seekable", None)
    if seekable is None or not seekable():
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        copied = 0
        while data := stream.read(CHUNK_BYTES):
            copied += len(data)
            if copied > MAX_SPOOLED_ZIP_BYTES:
                raise ImportFormatError(_("The ZIP file is too large."))
            spool.write(data)
        spool.seek(0)
        stream = spool  # type: ignore[assignment]
    try:
        archive = zipfile.ZipFile(stream)  # type: ignore[arg-type]
    except READ_ERRORS:
        raise damaged() from None
    try:
        if len(archive.infolist()) > MAX_MEMBERS:
            raise ImportFormatError(_("The ZIP file has too many files in it."))
        yield archive
    finally:
        archive.close()


def member_names(archive: zipfile.ZipFile) -> list[str]:
    return [info.filename for info in archive.infolist() if not info.is_dir()]


def check_member(info: zipfile.ZipInfo, limit: int) -> None:
    if info.flag_bits & 0x1:
        raise ImportFormatError(_("The ZIP file is password-protected; export it without one."))
    too_big = info.file_size > limit
    ratio = info.file_size / max(info.compress_size, 1)
    if too_big or (info.file_size > 1024 * 1024 and ratio > MAX_RATIO):
        raise ImportFormatError(
            _("“%(name)s” in the ZIP file unpacks to an implausible size; it is refused.")
            % {"name": info.filename[-80:]}
        )


class CappedReader:
    """A member's bytes, refused once more than `limit` come out, whatever the header said.
    Damage found while reading (bad CRC, truncated data) becomes an ImportFormatError."""

    def __init__(self, raw: BinaryIO, limit: int, name: str) -> None:
        self._raw = raw
        self._left = limit
        self._name = name

    def read(self, size: int = -1) -> bytes:
        want = CHUNK_BYTES if size is None or size < 0 else size
        try:
            data = self._raw.read(min(want, self._left + 1))
        except READ_ERRORS:
            raise damaged() from None
        self._left -= len(data)
        if self._left < 0:
            raise ImportFormatError(
                _("“%(name)s” in the ZIP file unpacks to an implausible size; it is refused.")
                % {"name": self._name[-80:]}
            )
        return data

    def seekable(self) -> bool:
        return False


@contextmanager
def open_member(archive: zipfile.ZipFile, name: str, limit: int) -> Iterator[CappedReader]:
    info = archive.getinfo(name)
    check_member(info, limit)
    try:
        raw = archive.open(info)
    except READ_ERRORS:
        raise damaged() from None
    try:
        yield CappedReader(raw, limit, name)  # type: ignore[arg-type]
    finally:
        raw.close()


def basename(name: str) -> str:
    return name.rsplit("/", 1)[-1]
