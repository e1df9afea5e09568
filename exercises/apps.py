from django.apps import AppConfig


class ExercisesConfig(AppConfig):
    name = "exercises"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What this app fills in the registries of the layers below it: they know no feature.
        from exercises import hooks, personal_data

        personal_data.register_all()
        hooks.register_all()
