"""What patients plugs into the layers below it, registered once from PatientsConfig.ready():
the patient invitation kind (clinics.invitations), the demo patients (clinics.demo) and the
rebuild of the name index after a key rotation (portal.crypto); and its own measurement panels
of the patient overview (patients.overview), where later features add theirs."""

from clinics.demo import demo_seeder_register
from clinics.invitations import invitation_kind_register
from patients.demo import patients_demo_seed
from patients.measurements.panels import PANELS
from patients.models import PatientInvitation
from patients.overview import overview_panel_register
from patients.record_access import record_linked
from patients.services import patient_invitation_accept, patients_reindex_names
from portal.crypto import field_key_rotated_hook_register


def register_all() -> None:
    invitation_kind_register(
        "patient",
        model=PatientInvitation,
        accept=patient_invitation_accept,
        accepted=record_linked,
    )
    field_key_rotated_hook_register(patients_reindex_names)
    demo_seeder_register(patients_demo_seed)
    for panel in PANELS:
        overview_panel_register(panel)
