"""Import device export files for one patient, through the same code path as the web upload.

Written for batch scripts: messages are in English unless `--language` asks otherwise, and the
exit status says whether anything was refused (see EXIT_STATUS_HELP, repeated in the README).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from patients.measurements.services import import_check, import_commit, import_upload
from patients.models import ImportStatus, MeasurementSource, Patient

FILE_REFUSED = 1  # also CommandError's default: a missing patient, an unknown option
ROWS_REFUSED = 3  # 2 is argparse's status for a usage error
EXIT_STATUS_HELP = (
    "Exit status: 0 when every row of every file was imported or already present; "
    f"{FILE_REFUSED} when a file was refused as a whole (other files are still imported); "
    f"{ROWS_REFUSED} when every file was read but some rows were refused (listed on stderr "
    "with their line); 2 for a usage error."
)


class Command(BaseCommand):
    help = (
        "Import measurement export files (OMRON, Withings, Apple Health, FHIR) for a patient. "
        + EXIT_STATUS_HELP
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patient", type=int, required=True, help="The patient record's id.")
        parser.add_argument(
            "--language",
            default="en",
            choices=[code for code, _name in settings.LANGUAGES],
            help="The language of the messages (default: en).",
        )
        parser.add_argument("files", nargs="+", type=Path)

    def handle(
        self, *args: object, patient: int, files: list[Path], language: str, **options: object
    ) -> None:
        record = Patient.objects.select_related("clinic").filter(pk=patient).first()
        if record is None:
            raise CommandError(f"No patient record {patient}.")
        with translation.override(language):
            results = [self.import_file(record, path) for path in files]
        refused_files = results.count(None)
        refused_rows = sum(rows for rows in results if rows)
        if refused_files:
            raise CommandError(
                f"{refused_files} of {len(files)} file(s) refused.", returncode=FILE_REFUSED
            )
        if refused_rows:
            raise CommandError(f"{refused_rows} row(s) refused.", returncode=ROWS_REFUSED)

    def import_file(self, patient: Patient, path: Path) -> int | None:
        """The number of rows refused in the file, or None when the file was refused."""
        if not path.is_file():
            self.stderr.write(f"{path}: not a file")
            return None
        with path.open("rb") as handle:
            upload = File(handle, name=path.name)
            try:
                batch = import_upload(
                    clinic=patient.clinic,
                    actor=None,
                    patient=patient,
                    upload=upload,
                    source=MeasurementSource.FILE_IMPORT,
                )
            except ValidationError as exc:
                self.stderr.write(f"{path}: refused: {' '.join(exc.messages)}")
                return None
        batch = import_check(clinic_id=patient.clinic_id, batch_id=batch.pk)
        if batch.status == ImportStatus.FAILED:
            self.stderr.write(f"{path}: refused: {batch.failure}")
            return None
        for error in batch.errors:
            self.stderr.write(f"{path}: line {error['line']}: {error['message']}")
        if batch.rows_rejected > len(batch.errors):
            self.stderr.write(f"{path}: {batch.rows_rejected - len(batch.errors)} more refused")
        batch = import_commit(clinic_id=patient.clinic_id, batch_id=batch.pk)
        if batch.status == ImportStatus.FAILED:
            self.stderr.write(f"{path}: refused: {batch.failure}")
            return None
        self.stdout.write(
            f"{path}: {batch.format}: imported {batch.rows_imported}, "
            f"already present {batch.rows_duplicate}, rows refused {batch.rows_rejected}"
        )
        return batch.rows_rejected
