"""Reads of an import: what its preview shows before the user confirms it.

The preview reads what the check left behind (the batch's counts and first row errors, and the
checked file of `import_store`), never the upload: a preview page is shown again and again while
the user decides, and parsing a large file each time would take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from patients.measurements.import_store import CheckedReading, checked_readings
from patients.models import ImportBatch

PREVIEW_READINGS = 20  # new readings shown; the check keeps MAX_STORED_ERRORS row errors


@dataclass(frozen=True)
class ImportPreview:
    readings: list[CheckedReading]  # the first new readings, as they will be stored
    more_readings: int  # new readings not shown
    errors: list[dict]  # the first refused rows: {"line", "message"}
    more_errors: int  # refused rows not shown (counted by the check, not kept)


def import_preview(*, batch: ImportBatch, limit: int = PREVIEW_READINGS) -> ImportPreview:
    """The preview of a checked (PREVIEWED) batch: its first new readings and refused rows."""
    readings = checked_readings(batch, limit=limit) if batch.rows_valid else []
    # No checked file for the upload as it is now (it changed, or was checked before the file
    # existed): the counts stand alone, and the commit checks the upload again.
    shown = readings or []
    return ImportPreview(
        readings=shown,
        more_readings=batch.rows_valid - len(shown) if readings is not None else 0,
        errors=batch.errors,
        more_errors=max(0, batch.rows_rejected - len(batch.errors)),
    )
