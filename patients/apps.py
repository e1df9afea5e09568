from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What this app fills in the registries of the layers below it: they know no feature.
        from patients import hooks, personal_data, purges

        hooks.register_all()
        personal_data.register_all()
        purges.register_all()
