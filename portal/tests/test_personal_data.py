"""The personal-data registry: every model that points to a subject is declared (portal.E010)."""

from __future__ import annotations

import datetime

import pytest
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.db import models
from django.test.utils import isolate_apps

from portal import personal_data
from portal.personal_data import Erasure, Subject, declaration_for, personal_data_problems


def error_ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id for message in messages]


@pytest.mark.django_db
def test_the_project_passes_the_personal_data_check():
    """Every installed model that points to a user or a patient is declared."""
    assert personal_data.personal_data_declared(None) == []
    assert not [m for m in checks.run_checks() if m.id.startswith("portal.E01")]


def test_subjects_are_the_user_model_the_patient_record_and_the_reporter():
    """The core names no app: the apps register the subject models (a chat reporter is known
    only by their conversation)."""
    assert personal_data.subjects() == {
        Subject.USER: settings.AUTH_USER_MODEL,
        Subject.PATIENT: "patients.Patient",
        Subject.REPORTER: "messaging.Conversation",
    }


@pytest.mark.parametrize(
    "label",
    [
        "account.EmailAddress",
        "otp_totp.TOTPDevice",
        "clinics.AuthenticatorDevice",
        "otp_static.StaticDevice",
        "admin.LogEntry",
        "clinics.AccessLogEntry",
        "patients.Measurement",
    ],
)
def test_third_party_and_own_models_that_point_to_a_subject_are_declared(label):
    """Third-party models with a user foreign key are declared as well as the apps' own."""
    assert declaration_for(apps.get_model(label)).model == label


def test_a_model_whose_declaration_is_removed_fails_the_check(monkeypatch):
    """Forgetting a declaration is an error naming the model and its foreign key."""
    monkeypatch.delitem(personal_data._declarations, "account.emailaddress")
    errors = personal_data.personal_data_declared(None)
    assert error_ids(errors) == ["portal.E010"]
    assert "account.EmailAddress" in errors[0].msg and "user" in errors[0].msg


def test_an_undeclared_subject_model_fails_the_check(monkeypatch):
    """The subject models themselves are declared."""
    monkeypatch.delitem(personal_data._declarations, settings.AUTH_USER_MODEL.lower())
    assert error_ids(personal_data.personal_data_declared(None)) == ["portal.E010"]


@isolate_apps("messaging")
def test_a_new_model_with_a_patient_foreign_key_fails_the_check():
    """A throwaway model pointing to a patient (or a user, one to one) is flagged."""
    patient_model = apps.get_model("patients.Patient")
    user_model = apps.get_model(settings.AUTH_USER_MODEL)

    class ExercisePlan(models.Model):  # noqa: DJ008
        patient = models.ForeignKey(patient_model, on_delete=models.CASCADE)

        class Meta:
            app_label = "messaging"

    class Preferences(models.Model):  # noqa: DJ008
        user = models.OneToOneField(user_model, on_delete=models.CASCADE)

        class Meta:
            app_label = "messaging"

    class Exercise(models.Model):  # noqa: DJ008
        name = models.CharField(max_length=10)

        class Meta:
            app_label = "messaging"

    errors = personal_data_problems([ExercisePlan, Preferences, Exercise])
    assert error_ids(errors) == ["portal.E010", "portal.E010"]
    assert [error.obj for error in errors] == [ExercisePlan, Preferences]


def test_a_declaration_of_a_model_that_is_not_installed_fails_the_check(monkeypatch):
    """A declaration that names no installed model (a typo, a removed model) is an error."""
    ghost = personal_data.PersonalData(
        model="patients.Ghost",
        subject=Subject.PATIENT,
        purpose="nothing",
        retention=datetime.timedelta(days=1),
        retention_note="a day",
        export="not exported",
        erasure=Erasure.DELETE,
        erasure_reason="deleted",
    )
    monkeypatch.setitem(personal_data._declarations, ghost.label, ghost)
    errors = personal_data.personal_data_declared(None)
    assert error_ids(errors) == ["portal.E011"] and "patients.Ghost" in errors[0].msg


def test_a_model_cannot_be_declared_twice_differently():
    """One declaration per model: a second, different one is refused."""
    with pytest.raises(ValueError, match="already declared"):
        personal_data.register(
            "patients.Measurement",
            subject=Subject.PATIENT,
            purpose="other",
            retention=None,
            retention_note="forever",
            export="not exported",
            erasure=Erasure.KEEP,
            erasure_reason="none",
        )


def test_declarations_hold_translatable_texts_and_a_period_or_a_reason():
    """Each declaration has a purpose, an export and an erasure reason, and a retention note."""
    for declaration in personal_data.declarations():
        assert str(declaration.purpose) and str(declaration.export)
        assert str(declaration.retention_note) and str(declaration.erasure_reason)
        assert declaration.retention is None or declaration.retention >= datetime.timedelta(0)
