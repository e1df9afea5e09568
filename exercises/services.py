"""Writes of the exercise library, templates, programs and the patient's logs."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from exercises.models import (
    EXERCISE_CONTENT_FIELDS,
    PRESCRIPTION_FIELDS,
    Exercise,
    ExerciseLog,
    Program,
    ProgramItem,
    ProgramTemplate,
    ProgramVersion,
    SessionLog,
    TemplateItem,
)
from exercises.pain import pain_alert_evaluate
from exercises.selectors import loggable_days, version_items
from patients.models import Patient


@dataclass
class ItemIn:
    """One exercise of a program or template as the builder posted it, already validated."""

    exercise: Exercise
    params: dict[str, Any]
    note: str = ""
    # The item of the previous version this one continues (None: a new entry).
    slot: uuid.UUID | None = None


@dataclass
class ProgramIn:
    title: str
    goal: str
    start_date: datetime.date
    end_date: datetime.date | None
    items: list[ItemIn] = field(default_factory=list)
    template: ProgramTemplate | None = None


# --- the library -----------------------------------------------------------------------------


def exercise_save(clinic: Clinic, user: User, exercise: Exercise | None, fields: dict) -> Exercise:
    """Create the clinic's own exercise or change one of its own (never a base exercise)."""
    if exercise is None:
        exercise = Exercise(clinic=clinic, created_by=user)
    elif exercise.clinic_id != clinic.pk:
        raise ValidationError(_("Only the clinic's own exercises can be changed."))
    for name, value in fields.items():
        setattr(exercise, name, value)
    exercise.full_clean()
    exercise.save()
    return exercise


def exercise_copy(clinic: Clinic, user: User, source: Exercise) -> Exercise:
    """The clinic's own copy of an exercise it can see, to adapt."""
    copy = Exercise(clinic=clinic, created_by=user, based_on=source)
    for name in EXERCISE_CONTENT_FIELDS:
        setattr(copy, name, getattr(source, name))
    copy.name_nl = _copy_name(source.name_nl, "kopie")
    copy.name_en = _copy_name(source.name_en, "copy")
    copy.save()
    return copy


def _copy_name(name: str, word: str) -> str:
    return f"{name} ({word})"[:120]


def exercise_archive(clinic: Clinic, exercise: Exercise) -> None:
    """Take the clinic's own exercise out of the library; programs that use it keep it."""
    if exercise.clinic_id != clinic.pk:
        raise ValidationError(_("Only the clinic's own exercises can be removed."))
    exercise.archived_at = timezone.now()
    exercise.save(update_fields=["archived_at", "updated_at"])


# --- templates -------------------------------------------------------------------------------


@transaction.atomic
def template_save(
    clinic: Clinic,
    user: User,
    template: ProgramTemplate | None,
    *,
    name: str,
    goal: str,
    weeks: int | None,
    items: list[ItemIn],
) -> ProgramTemplate:
    if template is None:
        template = ProgramTemplate(clinic=clinic, created_by=user)
    template.name, template.goal, template.weeks = name, goal, weeks
    template.full_clean()
    template.save()
    template.items.all().delete()
    TemplateItem.objects.bulk_create(
        TemplateItem(
            template=template, position=n, exercise=i.exercise, note=i.note[:300], **i.params
        )
        for n, i in enumerate(items, start=1)
    )
    return template


def template_from_program(
    clinic: Clinic, user: User, version: ProgramVersion, name: str
) -> ProgramTemplate:
    """A clinic template with the version's exercises and parameters, without its notes or goal
    (they are about the patient)."""
    items = [
        ItemIn(exercise=i.exercise, params={f: getattr(i, f) for f in PRESCRIPTION_FIELDS})
        for i in version_items(version)
    ]
    weeks = None
    if version.end_date is not None:
        weeks = max(1, min(104, ((version.end_date - version.start_date).days + 1 + 6) // 7))
    return template_save(clinic, user, None, name=name, goal="", weeks=weeks, items=items)


def template_delete(template: ProgramTemplate) -> None:
    template.delete()


# --- programs --------------------------------------------------------------------------------


@transaction.atomic
def program_create(patient: Patient, user: User, data: ProgramIn) -> Program:
    program = Program.objects.create(clinic_id=patient.clinic_id, patient=patient, created_by=user)
    _version_add(program, user, data, number=1)
    return program


@transaction.atomic
def program_revise(program: Program, user: User, data: ProgramIn) -> ProgramVersion:
    """A change makes a new version; the old ones stay as the patient saw them."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    last = program.versions.order_by("-number").first()
    return _version_add(program, user, data, number=(last.number if last else 0) + 1)


def _version_add(program: Program, user: User, data: ProgramIn, *, number: int) -> ProgramVersion:
    version = ProgramVersion(
        program=program,
        number=number,
        title=data.title,
        goal=data.goal,
        start_date=data.start_date,
        end_date=data.end_date,
        created_by=user,
        template=data.template,
    )
    version.full_clean(exclude=["program"])
    version.save()
    ProgramItem.objects.bulk_create(
        ProgramItem(
            version=version,
            position=n,
            exercise=i.exercise,
            note=i.note,
            slot=i.slot or uuid.uuid4(),
            **i.params,
        )
        for n, i in enumerate(data.items, start=1)
    )
    program.current_version = version
    program.save(update_fields=["current_version"])
    return version


def program_stop(program: Program) -> None:
    program.stopped_at = timezone.now()
    program.save(update_fields=["stopped_at"])


def program_resume(program: Program) -> None:
    program.stopped_at = None
    program.save(update_fields=["stopped_at"])


# --- the patient's logs ----------------------------------------------------------------------


@dataclass
class DayLogIn:
    day: datetime.date
    # How many times each item (by id) was done that day.
    times: dict[int, int]
    pain: int | None
    effort: int | None
    comment: str


@transaction.atomic
def day_log_save(program: Program, version: ProgramVersion, data: DayLogIn) -> None:
    """Save what the patient did on a day of the version they followed then. Only today and the
    7 days before may be filled in, and only items of that version."""
    if data.day not in loggable_days():
        raise ValidationError(_("Only today and the 7 days before can be filled in."))
    # One save of a program's day at a time: the pain rule reads what the saves wrote.
    program = Program.objects.select_for_update().get(pk=program.pk)
    if not version.runs_on(data.day):
        raise ValidationError(_("The program did not run on this day."))
    items = {i.pk: i for i in version.items.all()}
    unknown = set(data.times) - set(items)
    if unknown:
        raise ValidationError(_("An exercise that is not in this program was sent."))
    for item_id, times in data.times.items():
        times = max(0, min(times, items[item_id].times_per_day))
        if times == 0:
            ExerciseLog.objects.filter(item_id=item_id, day=data.day).delete()
            continue
        ExerciseLog.objects.update_or_create(
            item_id=item_id,
            day=data.day,
            defaults={"times": times, "program": program, "clinic_id": program.clinic_id},
        )
    if data.pain is None and data.effort is None and not data.comment:
        SessionLog.objects.filter(program=program, day=data.day).delete()
        return
    session, _created = SessionLog.objects.update_or_create(
        program=program,
        day=data.day,
        defaults={
            "pain": data.pain,
            "effort": data.effort,
            "comment": data.comment,
            "clinic_id": program.clinic_id,
        },
    )
    if session.pain is not None:
        pain_alert_evaluate(program)
