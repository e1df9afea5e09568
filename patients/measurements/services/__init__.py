"""Writes of measurements, one module per flow: `manual` (entry by hand), `imports` (upload →
mapping → check → confirm → commit), `retention` (abandoned imports). The public names are
re-exported here so callers import them from `patients.measurements.services`."""

from patients.measurements.services.imports import (
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
from patients.measurements.services.retention import ABANDONED_AFTER, imports_purge_abandoned

__all__ = [
    "ABANDONED_AFTER",
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
    "imports_purge_abandoned",
    "measurement_from",
    "measurement_record",
    "progress_key",
]
