"""What the exercises app fills in the registries of the layers below it."""

from clinics.demo import demo_seeder_register
from exercises.demo import exercises_demo_seed
from exercises.media import MEDIA_FOLDER, media_named
from exercises.pain import PAIN_ALERT, PAIN_ALERT_KIND
from exercises.panels import PANELS
from patients.models import alert_kind_register
from patients.overview import overview_panel_register
from portal import private_files


def register_all() -> None:
    alert_kind_register(PAIN_ALERT_KIND, PAIN_ALERT)
    for panel in PANELS:
        overview_panel_register(panel)
    demo_seeder_register(exercises_demo_seed)
    private_files.folder_owner_register(folder=MEDIA_FOLDER, named=media_named)
