"""What appointments plugs into the layers below it, registered once from
AppointmentsConfig.ready(): the demo appointments (clinics.demo) and the overview's appointments
panel (patients.overview)."""

from appointments.demo import appointments_demo_seed
from appointments.panels import PANEL
from clinics.demo import demo_seeder_register
from patients.overview import overview_panel_register


def register_all() -> None:
    demo_seeder_register(appointments_demo_seed)
    overview_panel_register(PANEL)
