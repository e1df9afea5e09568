"""Writes of measurements, one module per flow: `manual` (entry by hand), `imports` (upload →
mapping → check → confirm → commit). Abandoned imports are a retention purge
(patients.purges). The public names are re-exported here so callers import them from
`patients.measurements.services`."""

from patients.measurements.services.imports import (
    IN_PROGRESS,
    import_abandon,
    import_accepts_mapping,
    import_cancel,
    import_check,
    import_commit,
    import_confirm,
    import_header,
    import_is_large,
    import_set_mapping,
    import_start,
    import_upload,
    progress_key,
)
from patients.measurements.services.manual import measurement_from, measurement_record

__all__ = [
    "IN_PROGRESS",
    "import_abandon",
    "import_accepts_mapping",
    "import_cancel",
    "import_check",
    "import_commit",
    "import_confirm",
    "import_header",
    "import_is_large",
    "import_set_mapping",
    "import_start",
    "import_upload",
    "measurement_from",
    "measurement_record",
    "progress_key",
]
