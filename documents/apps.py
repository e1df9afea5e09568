from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What this app fills in the registries of the layers below it: they know no feature.
        from documents import hooks, personal_data

        personal_data.register_all()
        hooks.register_all()
