"""System checks that make forgetting an invariant fail loudly."""

from django.apps import apps
from django.conf import settings
from django.core import checks

from clinics.encryption import field_key_verify_against_database
from clinics.models import Clinic
from clinics.tenancy import ClinicOwnedModel, ClinicQuerySet
from portal.crypto import FieldDecryptionError


@checks.register()
def clinic_owned_models_are_scoped(app_configs, **kwargs):
    """A model that points to a clinic must inherit ClinicOwnedModel (for_clinic scoping).

    Every installed model is looked at, whatever its app: a new app is checked the day it is
    added, without anyone adding it to a list.
    """
    errors = []
    for model in apps.get_models():
        points_to_clinic = any(
            f.many_to_one and f.related_model is Clinic for f in model._meta.concrete_fields
        )
        is_scoped = issubclass(model, ClinicOwnedModel) and isinstance(
            model._default_manager.get_queryset(), ClinicQuerySet
        )
        if points_to_clinic and not is_scoped:
            errors.append(
                checks.Error(
                    f"{model._meta.label} points to a clinic but is not a ClinicOwnedModel.",
                    hint="Inherit clinics.tenancy.ClinicOwnedModel so queries use for_clinic().",
                    obj=model,
                    id="clinics.E001",
                )
            )
    return errors


@checks.register(checks.Tags.database)
def field_key_reads_stored_data(app_configs, **kwargs):
    try:
        field_key_verify_against_database()
    except FieldDecryptionError as exc:
        return [checks.Critical(str(exc), id="clinics.E002")]
    return []


LOCKOUT_SETTINGS = {
    "AXES_HANDLER": "clinics.lockout.LockoutHandler",
    "AXES_LOCKOUT_PARAMETERS": ["username", "ip_address"],
    "AXES_USERNAME_CALLABLE": "clinics.security.login_identifier",
    "AXES_DISABLE_ACCESS_LOG": True,
}


@checks.register()
def lockout_is_configured_as_the_handler_expects(app_configs, **kwargs):
    """clinics.lockout counts per account and per address, in that order, on hashed names."""
    return [
        checks.Error(
            f"{name} must be {expected!r} (T39 lockout isolation, clinics/lockout.py).",
            id="clinics.E003",
        )
        for name, expected in LOCKOUT_SETTINGS.items()
        if getattr(settings, name, None) != expected
    ]
