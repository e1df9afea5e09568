"""What documents plugs into the layers below it, registered once from DocumentsConfig.ready():
its panel of the patient overview (patients.overview), its demo documents (clinics.demo) and
the owner of its folder of private files (portal.private_files), so the hourly sweep deletes a
file whose row never committed or went with its patient record."""

from clinics.demo import demo_seeder_register
from documents.demo import documents_demo_seed
from documents.models import RecordDocument
from documents.panels import DOCUMENTS_PANEL
from documents.services import DOCUMENT_FOLDER
from patients.overview import overview_panel_register
from portal import private_files


def documents_named(names: list[str]) -> set[str]:
    """Of these files of the documents' folder, those a document names (the rest are
    orphans)."""
    return set(
        RecordDocument.objects.filter(stored_name__in=names).values_list("stored_name", flat=True)
    )


def register_all() -> None:
    overview_panel_register(DOCUMENTS_PANEL)
    demo_seeder_register(documents_demo_seed)
    private_files.folder_owner_register(folder=DOCUMENT_FOLDER, named=documents_named)
