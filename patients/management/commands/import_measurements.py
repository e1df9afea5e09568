"""Import device export files for one patient, through the same code path as the web upload.

Exits with status 1 when a file is refused as a whole; rows refused inside a file are listed.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patients.measurements.services import import_check, import_commit, import_upload
from patients.models import ImportStatus, MeasurementSource, Patient


class Command(BaseCommand):
    help = "Import measurement export files (OMRON, Withings, Apple Health, FHIR) for a patient."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patient", type=int, required=True, help="The patient record's id.")
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: object, patient: int, files: list[Path], **options: object) -> None:
        record = Patient.objects.select_related("clinic").filter(pk=patient).first()
        if record is None:
            raise CommandError(f"No patient record {patient}.")
        refused = [path for path in files if not self.import_file(record, path)]
        if refused:
            raise CommandError(f"{len(refused)} of {len(files)} file(s) refused.")

    def import_file(self, patient: Patient, path: Path) -> bool:
        if not path.is_file():
            self.stderr.write(f"{path}: not a file")
            return False
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
                return False
        batch = import_check(clinic_id=patient.clinic_id, batch_id=batch.pk)
        if batch.status == ImportStatus.FAILED:
            self.stderr.write(f"{path}: refused: {batch.failure}")
            return False
        for error in batch.errors:
            self.stderr.write(f"{path}: line {error['line']}: {error['message']}")
        batch = import_commit(clinic_id=patient.clinic_id, batch_id=batch.pk)
        if batch.status == ImportStatus.FAILED:
            self.stderr.write(f"{path}: refused: {batch.failure}")
            return False
        self.stdout.write(
            f"{path}: {batch.format}: imported {batch.rows_imported}, "
            f"already present {batch.rows_duplicate}, rows refused {batch.rows_rejected}"
        )
        return True
