from django.apps import AppConfig


class ClinicsConfig(AppConfig):
    name = "clinics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from clinics import checks, sessions  # noqa: F401 - registers checks and receivers
        from portal.crypto import field_key_check_configuration

        field_key_check_configuration()
