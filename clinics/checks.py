"""System checks that make forgetting an invariant fail loudly."""

from django.apps import apps
from django.core import checks

from clinics.tenancy import ClinicOwnedModel, ClinicQuerySet


@checks.register()
def clinic_owned_models_are_scoped(app_configs, **kwargs):
    """A model with a `clinic` foreign key must inherit ClinicOwnedModel (for_clinic scoping)."""
    errors = []
    for model in apps.get_models():
        if model._meta.app_label not in ("clinics", "patients", "messaging"):
            continue
        field_names = {f.name for f in model._meta.get_fields()}
        is_scoped = issubclass(model, ClinicOwnedModel) and isinstance(
            model._default_manager.get_queryset(), ClinicQuerySet
        )
        if "clinic" in field_names and not is_scoped:
            errors.append(
                checks.Error(
                    f"{model._meta.label} has a clinic but is not a ClinicOwnedModel.",
                    hint="Inherit clinics.tenancy.ClinicOwnedModel so queries use for_clinic().",
                    obj=model,
                    id="clinics.E001",
                )
            )
    return errors


@checks.register(checks.Tags.database)
def field_key_reads_stored_data(app_configs, **kwargs):
    from portal.crypto import FieldDecryptionError, field_key_verify_against_database

    try:
        field_key_verify_against_database()
    except FieldDecryptionError as exc:
        return [checks.Critical(str(exc), id="clinics.E002")]
    return []
