"""Shared plumbing for the file parsers: decoding, bounded line reading, CSV rows, numbers.

Every parser reads untrusted uploads, so the rules here are the defences all of them share:
- text is decoded incrementally (a file is never read whole), UTF-8 first (with or without a
  BOM), UTF-16 when it has a BOM; cp1252 only when the first 64 KB are not valid UTF-8, because
  that is what Excel on Windows writes when a patient or clinic opens an export and saves it
  again as "CSV" in a Western European locale (the Netherlands, Germany, Spain). Exports as the
  apps write them are UTF-8; XML and JSON declare or require their encoding and never fall back;
- a physical line is at most MAX_LINE_CHARS and a CSV record (quoted newlines included) at most
  MAX_RECORD_CHARS: a hostile one-line file of 100 MB is refused after 16 KB, not buffered.
  We do not lower `csv.field_size_limit` because it is process-wide state shared with other
  code; the record cap is stricter than its default (128 KB) and is enforced before csv sees it;
- cells are data: nothing is evaluated, so "=cmd|..." in a text cell stays that literal text.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import BinaryIO, TypeVar

from django.utils.translation import gettext as _

from .base import ImportFormatError, RowError

HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024
MAX_LINE_CHARS = 16 * 1024
MAX_RECORD_CHARS = 64 * 1024
DELIMITERS = (",", ";", "\t")
# OMRON writes INT_MIN where a value is missing in some reports; "-" and blanks elsewhere.
BLANKS = frozenset({"", "-", "--", "—", "-2147483648", "n/a", "nan"})
MAX_DEVICE_CHARS = 120

F = TypeVar("F", bound=Callable[..., object])


def parser(format_code: str) -> Callable[[F], F]:
    """Tag a parse function with its format code (the `Parser` protocol's attribute)."""

    def tag(func: F) -> F:
        func.format_code = format_code  # type: ignore[attr-defined]
        return func

    return tag


# --- bytes -----------------------------------------------------------------------------------


def read_upto(stream: BinaryIO, size: int) -> bytes:
    """Read `size` bytes, or fewer only at end of file (some streams return short reads)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)


def read_capped(stream: BinaryIO, limit: int, message: str) -> bytes:
    """The whole stream, refused with `message` as soon as it is larger than `limit` bytes."""
    data = read_upto(stream, limit + 1)
    if len(data) > limit:
        raise ImportFormatError(message)
    return data


def peek(stream: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """The first `size` bytes, and a stream that still starts at the beginning."""
    seekable = getattr(stream, "seekable", None)
    if seekable is not None and seekable():
        start = stream.tell()
        head = read_upto(stream, size)
        stream.seek(start)
        return head, stream
    head = read_upto(stream, size)
    return head, _Replay(head, stream)  # type: ignore[return-value]


class _Replay:
    """A non-seekable stream whose first bytes were read to sniff it, played back first."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._stream.read(size)
        if size is None or size < 0:
            data, self._head = self._head + self._stream.read(), b""
        else:
            data, self._head = self._head[:size], self._head[size:]
        return data

    def seekable(self) -> bool:
        return False


def chunks(stream: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while data := stream.read(size):
        yield data


# --- text ------------------------------------------------------------------------------------


def sniff_encoding(head: bytes, *, allow_cp1252: bool = True) -> tuple[str, int]:
    """(encoding, bytes of BOM to skip) for a file starting with `head`."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", len(codecs.BOM_UTF8)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0  # the utf-16 codec reads and drops the BOM itself
    if b"\x00" in head:
        raise ImportFormatError(_("This is not a text file (it contains binary data)."))
    try:
        # final=False: the head may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
    except UnicodeDecodeError:
        if allow_cp1252:
            try:
                head.decode("cp1252")
            except UnicodeDecodeError:
                pass
            else:
                return "cp1252", 0
        raise ImportFormatError(
            _("The file is not UTF-8 text. Save it as CSV UTF-8 and try again.")
        ) from None
    return "utf-8", 0


def head_lines(head: bytes) -> list[str]:
    """The non-blank lines of a file's first bytes, as text; none when it is not text."""
    try:
        encoding, skip = sniff_encoding(head)
    except ImportFormatError:
        return []
    text = head[skip:].decode(encoding, errors="ignore")
    return [line for line in text.splitlines() if line.strip()]


def iter_lines(stream: BinaryIO, *, allow_cp1252: bool = True) -> Iterator[str]:
    """Decoded physical lines (with their line ends), each at most MAX_LINE_CHARS."""
    head = read_upto(stream, HEAD_BYTES)
    encoding, skip = sniff_encoding(head, allow_cp1252=allow_cp1252)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    pending = ""
    lineno = 0
    # Old Mac "CSV (Macintosh)" ends lines with a bare CR; read those as line ends too.
    bare_cr = b"\r" in head and b"\n" not in head
    sources: Iterable[bytes] = _chain_head(head[skip:], stream)
    for data in sources:
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            line = lineno + pending.count("\n") + data[: max(exc.start, 0)].count(b"\n") + 1
            raise ImportFormatError(
                _("The file is not valid %(encoding)s text near line %(line)s.")
                % {"encoding": encoding.upper(), "line": line}
            ) from None
        pending += text.replace("\r", "\n") if bare_cr else text
        if "\n" in pending:
            *complete, pending = pending.split("\n")
            for line in complete:
                lineno += 1
                _check_line_length(line, lineno)
                yield line + "\n"
        _check_line_length(pending, lineno + 1)
    if pending:
        yield pending


def _chain_head(head: bytes, stream: BinaryIO) -> Iterator[bytes]:
    yield head
    yield from chunks(stream)
    yield b""  # lets the decoder flush (final=True)


def _check_line_length(line: str, lineno: int) -> None:
    if len(line) > MAX_LINE_CHARS:
        raise ImportFormatError(
            _("Line %(line)s is longer than %(limit)s characters; this is not a valid export.")
            % {"line": lineno, "limit": MAX_LINE_CHARS}
        )


def normalise_header(cell: str) -> str:
    """A header cell as a comparison key: NFKC (full-width brackets become ASCII), no BOM,
    quotes or spaces, case-folded. "SYS（mmHg）", ' "Sys (mmHg)"' both give "sys(mmhg)"."""
    text = unicodedata.normalize("NFKC", cell).replace("\ufeff", "")
    return re.sub(r"\s+", "", text.strip().strip('"').strip("'")).casefold()


def split_header(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def sniff_delimiter(line: str) -> str:
    """The candidate delimiter occurring most often outside quotes; comma on a tie or none."""
    outside = re.sub(r'"[^"]*"', "", line)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


class _Record:
    """The record csv.reader is reading: its first line, and its characters so far."""

    __slots__ = ("chars", "first_line")

    def __init__(self, first_line: int) -> None:
        self.chars = 0
        self.first_line = first_line


def _bounded(lines: Iterator[str], record: _Record) -> Iterator[str]:
    """Feeds csv.reader while counting the characters of the record being read (a generator,
    not an iterator class: it runs for every line of a file)."""
    for line in lines:
        record.chars += len(line)
        if record.chars > MAX_RECORD_CHARS:
            raise ImportFormatError(
                _("A record near line %(line)s is longer than %(limit)s characters.")
                % {"line": record.first_line, "limit": MAX_RECORD_CHARS}
            )
        yield line


class CsvFile:
    """A delimited text file: `header` (raw cells) and `rows()` as (line number, cells)."""

    def __init__(self, stream: BinaryIO, *, delimiter: str | None = None) -> None:
        self._lines = iter_lines(stream)
        self.header_line = 0
        header_text = ""
        for line in self._lines:
            self.header_line += 1
            if line.strip():
                header_text = line
                break
        if not header_text:
            raise ImportFormatError(_("The file is empty."))
        self.header_text = header_text.rstrip("\r\n")
        self.delimiter = delimiter or sniff_delimiter(self.header_text)
        self.header = split_header(self.header_text, self.delimiter)
        self.keys = [normalise_header(cell) for cell in self.header]

    def with_delimiter(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.header = split_header(self.header_text, delimiter)
        self.keys = [normalise_header(cell) for cell in self.header]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        record = _Record(self.header_line + 1)
        reader = csv.reader(_bounded(self._lines, record), delimiter=self.delimiter)
        while True:
            start = self.header_line + reader.line_num + 1
            record.chars = 0
            record.first_line = start
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFormatError(
                    _("Line %(line)s cannot be read as CSV (%(reason)s).")
                    % {"line": start, "reason": exc}
                ) from None
            yield start, row


def find_columns(keys: list[str], synonyms: dict[str, Iterable[str]]) -> dict[str, int]:
    """Role → column index, for each role whose synonym (a normalised header) is present."""
    found: dict[str, int] = {}
    for role, names in synonyms.items():
        for name in names:
            if name in keys:
                found[role] = keys.index(name)
                break
    return found


def cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def short_row(line: int, row: list[str], width: int) -> RowError:
    """The row error for a row with fewer fields than `width` (the header's): a cut-off or
    otherwise malformed line, never a reading with its missing cells taken as blanks."""
    return RowError(
        line,
        _("The line has %(found)s fields; the header has %(expected)s.")
        % {"found": len(row), "expected": width},
    )


def is_blank(text: str) -> bool:
    return text.strip().casefold() in BLANKS


# --- numbers ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


def parse_decimal(text: str, *, decimal_comma: bool = False) -> Decimal | None:
    """A plain decimal number, None for a blank; ValueError for anything else (no exponents,
    no formulas, no thousands separators: an export never writes those)."""
    text = text.strip()
    if is_blank(text):
        return None
    if not _NUMBER.fullmatch(text) or ("," in text and not decimal_comma):
        raise ValueError(text)
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a number
        raise ValueError(text) from None


def parse_int(text: str) -> int | None:
    if text.isascii() and text.isdigit():  # most cells: no Decimal round trip (imports are hot)
        return int(text)
    value = parse_decimal(text)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise ValueError(text)
    return int(value)


def round2(value: Decimal) -> Decimal:
    """Converted and derived values keep two decimals (the catalogue shows at most one)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def percentage(part: Decimal, whole: Decimal) -> Decimal:
    return round2(part / whole * 100)


def clean_device(text: str) -> str:
    return " ".join(text.split())[:MAX_DEVICE_CHARS]


def number_error(column: str, value: str) -> str:
    return _("%(column)s is not a number: “%(value)s”.") % {"column": column, "value": value[:40]}
