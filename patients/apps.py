from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The hooks this app fills in the layer below it (clinics and portal know no feature).
        from patients import hooks  # noqa: F401 - registers on import
