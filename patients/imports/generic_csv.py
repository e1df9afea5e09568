"""Any CSV with a column mapping chosen by the user (a spreadsheet, another app's export).

`read_header` gives the columns (and a few sample rows) so a form can offer them; the user then
says which column holds the date (and time, if separate), its format, and which columns hold
which kinds in the catalogue's units (for blood pressure: systolic, diastolic, optional pulse).
The delimiter is sniffed (`,`, `;` or tab); with `;` or tab a decimal comma is accepted (`72,5`),
as a Dutch Excel writes it. A bad cell is a row error; the other cells of the row still count.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.utils.translation import gettext as _

from patients.kinds import BLOOD_PRESSURE, KINDS

from .base import ImportFormatError, Item, Reading, RowError
from .common import (
    MAX_LINE_CHARS,
    CsvFile,
    cell,
    clean_device,
    head_lines,
    is_blank,
    number_error,
    parse_decimal,
    parse_int,
    short_row,
    sniff_delimiter,
    split_header,
)
from .dates import DateFormatError, parse_clock, parse_numeric_datetime

FORMAT_CODE = "generic_csv"
DATE_FORMATS = {
    "iso": "YYYY-MM-DD HH:MM",
    "dd-mm-yyyy": "DD-MM-YYYY HH:MM",
    "dd/mm/yyyy": "DD/MM/YYYY HH:MM",
}
SAMPLE_ROWS = 5
# More columns than any measurement spreadsheet has: the mapping form would offer them all.
MAX_COLUMNS = 100


@dataclass(frozen=True)
class CsvHeader:
    columns: list[str]
    delimiter: str
    sample_rows: list[list[str]]


@dataclass(frozen=True)
class ColumnMapping:
    datetime_column: str
    date_format: str = "iso"
    time_column: str = ""  # when the time of day is in a column of its own
    values: Mapping[str, str] = field(default_factory=dict)  # kind code → column
    systolic_column: str = ""
    diastolic_column: str = ""
    pulse_column: str = ""
    device_column: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for a Celery task argument or a session."""
        return {
            "datetime_column": self.datetime_column,
            "date_format": self.date_format,
            "time_column": self.time_column,
            "values": dict(self.values),
            "systolic_column": self.systolic_column,
            "diastolic_column": self.diastolic_column,
            "pulse_column": self.pulse_column,
            "device_column": self.device_column,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        return cls(**{**data, "values": dict(data.get("values") or {})})


def sniff(head: bytes) -> bool:
    """Whether a file that is no known export reads as a CSV the user can map: text (not XML or
    JSON), a header line of 2 to MAX_COLUMNS named cells under the sniffed delimiter, and at
    least one line under it. `head` is the start of the file (detect.HEAD_BYTES)."""
    lines = head_lines(head)
    if len(lines) < 2 or len(lines[0]) > MAX_LINE_CHARS:
        return False
    header = lines[0]
    if header.lstrip().startswith(("<", "{", "[")):
        return False
    # cp1252 decodes any byte: control characters in the header mean binary data, not a CSV.
    if any(ord(ch) < 32 and ch != "\t" for ch in header):
        return False
    named = [c for c in split_header(header, sniff_delimiter(header)) if c.strip()]
    return 2 <= len(named) <= MAX_COLUMNS


def read_header(stream: BinaryIO, *, filename: str = "") -> CsvHeader:
    """The column names and the first rows, for a form to offer."""
    source = CsvFile(stream)
    samples = []
    for _line, row in source.rows():
        samples.append(row)
        if len(samples) == SAMPLE_ROWS:
            break
    return CsvHeader([c.strip() for c in source.header], source.delimiter, samples)


def parse_generic(
    stream: BinaryIO, *, filename: str, tz: datetime.tzinfo, mapping: ColumnMapping
) -> Iterator[Item]:
    source = CsvFile(stream)
    col = _columns(mapping, [c.strip() for c in source.header])
    decimal_comma = source.delimiter != ","
    width = len(source.header)
    for line, row in source.rows():
        if all(is_blank(c) for c in row):
            continue
        if len(row) < width:
            yield short_row(line, row, width)
            continue
        date_text = cell(row, col["datetime"])
        try:
            measured_at = parse_numeric_datetime(date_text, tz)
            if "time" in col:
                clock = parse_clock(cell(row, col["time"]))
                measured_at = measured_at.replace(hour=clock.hour, minute=clock.minute, second=0)
            if mapping.date_format == "iso" and not date_text[:4].isdigit():
                raise DateFormatError(date_text)
        except DateFormatError:
            yield RowError(
                line,
                _("The date “%(value)s” does not match the format %(format)s.")
                % {"value": date_text[:40], "format": DATE_FORMATS[mapping.date_format]},
            )
            continue
        device = clean_device(cell(row, col.get("device")))
        if "systolic" in col:
            yield from _blood_pressure(line, row, col, source.header, measured_at, device)
        for kind, index in col.items():
            if kind not in KINDS:
                continue
            text = cell(row, index)
            try:
                value = parse_decimal(text, decimal_comma=decimal_comma)
            except ValueError:
                yield RowError(line, number_error(source.header[index].strip(), text))
                continue
            if value is not None:
                yield Reading(line, kind, measured_at, value=value, device=device)


def _columns(mapping: ColumnMapping, header: list[str]) -> dict[str, int]:
    """Role or kind → column index; ImportFormatError naming what the file lacks."""
    if mapping.date_format not in DATE_FORMATS:
        raise ImportFormatError(_("Choose a date format."))
    wanted = {
        "datetime": mapping.datetime_column,
        "time": mapping.time_column,
        "systolic": mapping.systolic_column,
        "diastolic": mapping.diastolic_column,
        "pulse": mapping.pulse_column,
        "device": mapping.device_column,
    }
    for kind, column in mapping.values.items():
        if kind not in KINDS or kind == BLOOD_PRESSURE:
            raise ImportFormatError(_("“%(kind)s” is not a measurement kind.") % {"kind": kind})
        wanted[kind] = column
    if bool(mapping.systolic_column) != bool(mapping.diastolic_column):
        raise ImportFormatError(_("Blood pressure needs both a systolic and a diastolic column."))
    if not mapping.datetime_column:
        raise ImportFormatError(_("Choose the column with the date."))
    if not mapping.values and not mapping.systolic_column:
        raise ImportFormatError(_("Choose at least one column with measurements."))
    columns = {}
    missing = []
    for role, name in wanted.items():
        if not name:
            continue
        if name.strip() in header:
            columns[role] = header.index(name.strip())
        else:
            missing.append(name)
    if missing:
        raise ImportFormatError(
            _("The file has no column %(columns)s.")
            % {"columns": ", ".join(f"“{m[:40]}”" for m in missing)}
        )
    return columns


def _blood_pressure(
    line: int,
    row: list[str],
    col: dict[str, int],
    header: list[str],
    measured_at: datetime.datetime,
    device: str,
) -> Iterator[Item]:
    values: dict[str, int | None] = {}
    for role in ("systolic", "diastolic", "pulse"):
        text = cell(row, col.get(role))
        try:
            values[role] = parse_int(text)
        except ValueError:
            yield RowError(line, number_error(header[col[role]].strip(), text))
            return
    if values["systolic"] is None and values["diastolic"] is None:
        return
    if values["systolic"] is None or values["diastolic"] is None:
        yield RowError(line, _("The systolic or diastolic pressure is missing."))
        return
    yield Reading(
        line,
        BLOOD_PRESSURE,
        measured_at,
        systolic=values["systolic"],
        diastolic=values["diastolic"],
        pulse=values["pulse"],
        device=device,
    )
