from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = _("Clinics and people")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # checks and sessions register checks and receivers on import.
        from clinics import checks, personal_data, purges, sessions  # noqa: F401
        from portal.crypto import field_key_check_configuration

        personal_data.register_all()
        purges.register_all()
        field_key_check_configuration()
