"""The readings an import's check found valid and new, kept for its commit, and their storage.

The check (the preview) parses, validates and keys every row of an upload; the commit would do it
all again (about half of an import's time). Instead the check writes the readings it would store
to a private "checked file" next to the upload, in PostgreSQL's COPY text format, and the commit
streams that file into a temporary table and inserts from there: no parsing, no Python per row.

Invariants:
- The checked file lives beside the upload in private storage (`portal.private_files`, never
  served) and shares its lifecycle: it is written whole or not at all
  (`private_files.open_for_writing`), and deleted with the upload (imported, cancelled, failed,
  purged) or when a generic CSV is mapped again.
- It is trusted only for the upload it was made from: its first line records the upload's size and
  modification time and what decided the parse (format, column mapping). Missing, from another
  version, or made from something else: the commit checks the upload again (`checked_lines` None).
- It records what the check decided, nothing more: whether a reading was stored in the meantime
  (by another import, by hand) is decided by the database at commit, ON CONFLICT on
  measurement_unique, so such a reading is skipped, never stored twice, never a failure.
"""

from __future__ import annotations

import datetime
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from types import TracebackType
from typing import TextIO

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from patients.imports.base import Reading
from patients.measurements.validation import stored_value
from patients.models import ImportBatch, Measurement
from portal import private_files

# 2: values at the column's precision, no longer the catalogue's decimals (issue 9); a file
# checked by version 1 is checked again.
VERSION = "portal-checked-readings 2"
SUFFIX = ".checked"
STORE_CHUNK = 20_000  # rows per COPY + INSERT: the progress shown while a large import runs
MAX_DEVICE_CHARS = 200  # Measurement.device

# COPY text format: backslash, tab and line ends are escaped; PostgreSQL text cannot hold NUL.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
_NULL = "\\N"


def checked_name(stored_name: str) -> str:
    """The checked file's name in private storage, beside its upload."""
    return f"{stored_name}{SUFFIX}"


def discard(stored_name: str) -> None:
    """Delete the checked file of an upload (a half-written one never reached the storage)."""
    if stored_name:
        private_files.delete(name=checked_name(stored_name))


def _fingerprint(batch: ImportBatch) -> str:
    """What the checked file was made from: the upload as it is, and how it was read."""
    upload = batch.stored_name
    made_from = {"size": private_files.size(name=upload),
                 "modified_at": private_files.modified_at(name=upload).isoformat(),
                 "format": batch.format, "mapping": batch.mapping or {}}  # fmt: skip
    return f"{VERSION} {json.dumps(made_from, sort_keys=True)}\n"


def copy_line(reading: Reading, key: str) -> str:
    """One checked reading as a line of COPY text, in the columns of `_TEMP_COLUMNS`."""
    value, flag = stored_value(reading), reading.irregular_heartbeat
    systolic, diastolic, pulse = reading.systolic, reading.diastolic, reading.pulse
    return "\t".join((
        reading.kind,
        reading.measured_at.isoformat(),
        _NULL if value is None else str(value),
        _NULL if systolic is None else str(systolic),
        _NULL if diastolic is None else str(diastolic),
        _NULL if pulse is None else str(pulse),
        _NULL if flag is None else ("t" if flag else "f"),
        reading.device[:MAX_DEVICE_CHARS].translate(_ESCAPES) if reading.device else "",
        key,
    )) + "\n"  # fmt: skip


class CheckedWriter:
    """Writes the checked file of `batch` while its check runs; kept only if the check ends well
    (leaving the `with` block by an exception deletes what was written)."""

    def __init__(self, batch: ImportBatch) -> None:
        self.name = checked_name(batch.stored_name)
        self.header = _fingerprint(batch)  # FileNotFoundError when the upload is gone

    def __enter__(self) -> CheckedWriter:
        # Two checks of one batch at once (a form sent twice) each write a file of their own;
        # the storage keeps one whole file, never a mix, and a commit never sees half of one.
        with ExitStack() as stack:
            binary = stack.enter_context(private_files.open_for_writing(name=self.name))
            self.file = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
            stack.callback(self.file.detach)  # flushed, and the binary file left to the store
            self.file.write(self.header)
            self.stack = stack.pop_all()
        return self

    def write(self, rows: Iterable[tuple[Reading, str]]) -> None:
        self.file.writelines(copy_line(reading, key) for reading, key in rows)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Leaving by an exception: the storage keeps nothing of what was written.
        self.stack.__exit__(kind, exc, tb)


def checked_lines(batch: ImportBatch) -> Iterator[str] | None:
    """The checked file's lines for the commit, or None when there is none for this upload as it
    is now (checked before this file existed, or the upload changed since)."""
    if not batch.stored_name:
        return None
    try:
        binary = private_files.open_file(name=checked_name(batch.stored_name))
    except FileNotFoundError:
        return None
    stream = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
    try:
        trusted = stream.readline() == _fingerprint(batch)
    except BaseException:
        stream.close()
        raise
    if not trusted:
        stream.close()
        return None
    return _lines(stream)


def _lines(stream: TextIO) -> Iterator[str]:
    with stream:
        yield from stream


@dataclass(frozen=True, slots=True)
class CheckedReading:
    """A reading of the checked file, as the commit will store it (the preview shows these)."""

    kind: str
    measured_at: datetime.datetime
    value: Decimal | None
    systolic: int | None
    diastolic: int | None
    pulse: int | None
    irregular_heartbeat: bool | None
    device: str


_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r"}
_ESCAPED = re.compile(r"\\(.)")


def checked_reading(line: str) -> CheckedReading:
    """A line of the checked file read back: the inverse of `copy_line` (without the dedup key,
    which only the commit needs)."""
    kind, measured_at, value, systolic, diastolic, pulse, flag, device, _key = line.rstrip(
        "\n"
    ).split("\t")

    def number(text: str) -> int | None:
        return None if text == _NULL else int(text)

    return CheckedReading(
        kind=kind,
        measured_at=datetime.datetime.fromisoformat(measured_at),
        value=None if value == _NULL else Decimal(value),
        systolic=number(systolic),
        diastolic=number(diastolic),
        pulse=number(pulse),
        irregular_heartbeat=None if flag == _NULL else flag == "t",
        device=_ESCAPED.sub(lambda m: _UNESCAPES.get(m[1], m[1]), device),
    )


def checked_readings(batch: ImportBatch, *, limit: int) -> list[CheckedReading] | None:
    """The first `limit` readings the commit will store, in the file's order, read from the
    checked file (the upload is not parsed again); None when there is no checked file for the
    upload as it is now (or the upload is gone: cancelled, purged, imported meanwhile)."""
    try:
        lines = checked_lines(batch)
    except FileNotFoundError:
        return None
    if lines is None:
        return None
    with closing(lines):  # closes the file without reading the rest
        return [checked_reading(line) for line in islice(lines, limit)]


# --- storage (PostgreSQL) ------------------------------------------------------------------------

_TEMP_TABLE = "import_checked_rows"
_TEMP_COLUMNS = (
    "kind text, measured_at timestamptz, value numeric, systolic integer, diastolic integer, "
    "pulse integer, irregular_heartbeat boolean, device text, dedup_key text"
)
_READING_COLUMNS = (
    "kind, measured_at, value, systolic, diastolic, pulse, irregular_heartbeat, device, dedup_key"
)
# The batch's own columns, the same for every row; a NOT NULL column added to Measurement must be
# added here or to the temporary table (the import tests fail on it).
# Who brought a file's readings in is the batch's `uploaded_by`, kept once: `entered_by` stays
# empty for imported readings (a key check and an index entry per row less).
_BATCH_COLUMNS = "clinic_id, patient_id, source, source_file, received_at, batch_id"


def copy_into_measurements(
    batch: ImportBatch, lines: Iterable[str], progress: Callable[[int], None]
) -> int:
    """Insert the readings of `lines` (COPY text) for the batch, in the caller's transaction;
    the number inserted. Readings stored meanwhile are skipped (ON CONFLICT DO NOTHING).

    Through a temporary table rather than COPY into the measurements: COPY cannot skip a
    conflicting row, and it costs about as much as the INSERT (the temporary table has no index
    and writes no WAL). In chunks, so that `progress` (rows done) can be shown while it runs.
    """
    table = Measurement._meta.db_table
    insert = (
        f"INSERT INTO {table} ({_BATCH_COLUMNS}, {_READING_COLUMNS}) "  # noqa: S608 (identifiers from this module only)
        f"SELECT %s, %s, %s, %s, %s, %s, {_READING_COLUMNS} FROM {_TEMP_TABLE}"
    )
    params = [batch.clinic_id, batch.patient_id, batch.source, batch.filename, timezone.now(),
              batch.pk]  # fmt: skip
    inserted = done = 0
    lines = iter(lines)
    with connection.cursor() as cursor:
        # Dropped at the end (and at commit at the latest): a test's or caller's outer
        # transaction may run several imports on one connection.
        cursor.execute(f"CREATE TEMPORARY TABLE {_TEMP_TABLE} ({_TEMP_COLUMNS}) ON COMMIT DROP")
        while chunk := list(islice(lines, STORE_CHUNK)):
            with cursor.copy(f"COPY {_TEMP_TABLE} FROM STDIN") as copy:
                copy.write("".join(chunk))
            inserted += _insert(cursor, insert, params)
            cursor.execute(f"TRUNCATE {_TEMP_TABLE}")
            done += len(chunk)
            progress(done)
        cursor.execute(f"DROP TABLE {_TEMP_TABLE}")
    return inserted


def _insert(cursor: CursorWrapper, insert: str, params: list) -> int:
    """A plain INSERT first, in a savepoint: ON CONFLICT's speculative insertion costs a third
    more per row, for a conflict that needs a reading stored since the preview. If there is one,
    the chunk is inserted again, skipping what is stored."""
    try:
        with transaction.atomic():
            cursor.execute(insert, params)
    except IntegrityError:
        cursor.execute(f"{insert} ON CONFLICT (patient_id, dedup_key) DO NOTHING", params)
    return cursor.rowcount
