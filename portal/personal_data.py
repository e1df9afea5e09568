"""The personal-data registry: for every model that holds someone's data, whose data, why, for
how long, how it is exported and how it is erased. One declaration per model, in one place.

Invariants:
- Every installed model (third-party ones included) with a foreign key or one-to-one field to a
  registered subject model is declared, and every declaration names an installed model: the
  system check `portal.E010`/`portal.E011` fails otherwise, so a new model cannot forget it.
- Subjects are registered by the apps that own their models (the user account by the app of
  `AUTH_USER_MODEL`, the patient record by `patients`): this module names no app.
- Each app declares its models in `<app>/personal_data.py`, imported from its AppConfig.ready().
  Models of third-party apps are declared by the app that owns the subject they point to.
- A retention period is a `timedelta` here and nowhere else: the retention service
  (`clinics.retention`) computes its cutoffs from these declarations.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.core import checks
from django.db import models
from django.utils.functional import Promise

Text = str | Promise  # a plain or a lazily translated string


class Subject(enum.StrEnum):
    PATIENT = "patient"  # a clinic's patient record
    USER = "user"  # a sign-in account (staff, patient or operator)
    REPORTER = "reporter"  # a pseudonymous chat reporter (no account)


class Erasure(enum.StrEnum):
    """What happens to a row at the subject's request or at the end of its retention."""

    DELETE = "delete"
    ANONYMISE = "anonymise"
    KEEP = "keep"


@dataclass(frozen=True)
class PersonalData:
    model: str  # "app_label.ModelName"
    subject: Subject
    purpose: Text
    # None: kept for as long as `retention_note` says (an account's or a record's lifetime).
    retention: datetime.timedelta | None
    # From when the period counts, or why there is no fixed period.
    retention_note: Text
    export: Text
    erasure: Erasure
    erasure_reason: Text
    # Identifying values this model keeps unencrypted, and why (SECURITY.md T43: every
    # identifier in clear is an exception listed here, with its reason); empty: none.
    in_clear: Text = ""

    @property
    def label(self) -> str:
        return self.model.lower()


_declarations: dict[str, PersonalData] = {}
_subjects: dict[Subject, str] = {}


def _label(model: type[models.Model] | str) -> str:
    return (model if isinstance(model, str) else model._meta.label).lower()


def register_subject(subject: Subject, model: str) -> None:
    """Name the model whose rows are `subject`s (e.g. `settings.AUTH_USER_MODEL`)."""
    known = _subjects.get(subject)
    if known is not None and known.lower() != model.lower():
        raise ValueError(f"Subject {subject} is already {known}.")
    _subjects[subject] = model


def register(
    model: str,
    *,
    subject: Subject,
    purpose: Text,
    retention: datetime.timedelta | None,
    retention_note: Text,
    export: Text,
    erasure: Erasure,
    erasure_reason: Text,
    in_clear: Text = "",
) -> PersonalData:
    declaration = PersonalData(
        model=model,
        subject=subject,
        purpose=purpose,
        retention=retention,
        retention_note=retention_note,
        export=export,
        erasure=erasure,
        erasure_reason=erasure_reason,
        in_clear=in_clear,
    )
    known = _declarations.get(declaration.label)
    if known is not None and known != declaration:
        raise ValueError(f"{model} is already declared.")
    _declarations[declaration.label] = declaration
    return declaration


def declarations() -> list[PersonalData]:
    return sorted(_declarations.values(), key=lambda d: d.label)


def declaration_for(model: type[models.Model] | str) -> PersonalData:
    """The declaration of a model (class or "app_label.ModelName"); KeyError if undeclared."""
    return _declarations[_label(model)]


def subjects() -> dict[Subject, str]:
    return dict(_subjects)


def _installed(label: str) -> type[models.Model] | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _points_to_subject(model: type[models.Model], subject_models: set) -> list[str]:
    return [
        field.name
        for field in model._meta.get_fields()
        if field.concrete
        and (field.many_to_one or field.one_to_one)
        and field.related_model in subject_models
    ]


def personal_data_problems(candidates: Iterable[type[models.Model]]) -> list[checks.CheckMessage]:
    """Undeclared models among `candidates` that point to a subject; declarations and subjects
    naming no installed model."""
    errors: list[checks.CheckMessage] = []
    subject_models = set()
    for subject, label in _subjects.items():
        model = _installed(label)
        if model is None:
            errors.append(
                checks.Error(
                    f"The subject {subject} names {label}, which is not installed.",
                    id="portal.E011",
                )
            )
        else:
            subject_models.add(model)
    for model in candidates:
        fields = _points_to_subject(model, subject_models)
        if (fields or model in subject_models) and _label(model) not in _declarations:
            errors.append(
                checks.Error(
                    f"{model._meta.label} holds personal data ({', '.join(fields) or 'subject'})"
                    " but has no personal-data declaration.",
                    hint="Declare it with portal.personal_data.register() in the personal_data"
                    " module of the app that owns the model or the subject it points to.",
                    obj=model,
                    id="portal.E010",
                )
            )
    for declaration in _declarations.values():
        if _installed(declaration.model) is None:
            errors.append(
                checks.Error(
                    f"The personal-data declaration of {declaration.model} names no installed"
                    " model.",
                    id="portal.E011",
                )
            )
    return errors


@checks.register()
def personal_data_declared(app_configs, **kwargs) -> list[checks.CheckMessage]:
    return personal_data_problems(apps.get_models())
