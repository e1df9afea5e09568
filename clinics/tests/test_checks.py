"""The system checks that make forgetting tenancy fail loudly."""

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from clinics import checks
from clinics.models import Clinic


def test_every_model_with_a_clinic_is_clinic_owned():
    """The tenancy system check reports nothing for the project's models."""
    assert checks.clinic_owned_models_are_scoped(None) == []


@isolate_apps("csp")
def test_a_model_of_any_app_pointing_to_a_clinic_must_be_clinic_owned(monkeypatch):
    """A model of an app no list names, with a plain foreign key to a clinic, fails the check."""

    class Note(models.Model):
        owner = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "csp"  # an installed app that no list in the check names

        def __str__(self) -> str:
            return "note"

    installed = apps.get_models()
    monkeypatch.setattr(checks.apps, "get_models", lambda: [*installed, Note])
    errors = checks.clinic_owned_models_are_scoped(None)
    assert [(e.id, e.obj) for e in errors] == [("clinics.E001", Note)]
