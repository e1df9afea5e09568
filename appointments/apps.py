from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What this app fills in the registries of the layers below it: they know no feature.
        from appointments import hooks, personal_data, purges

        personal_data.register_all()
        purges.register_all()
        hooks.register_all()
