"""Reads of the exercise library, programs and what the patient logged."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from clinics.models import Clinic
from exercises.adherence import program_adherence
from exercises.models import (
    NAME_SEARCH,
    Exercise,
    ExerciseMedia,
    ExerciseReminder,
    Program,
    ProgramItem,
    ProgramTemplate,
    ProgramVersion,
    SessionLog,
    TemplateItem,
    in_english,
    version_followed,
)
from patients.models import Patient
from portal.rows import model_columns

LIBRARY_PAGE_SIZE = 30
# How many days back a patient may still fill in (issue: "up to 7 days back").
LOG_DAYS_BACK = 7


@dataclass(frozen=True)
class LibraryFilter:
    search: str = ""
    region: str = ""
    equipment: str = ""
    tag: str = ""
    own_only: bool = False


def library(clinic: Clinic, wanted: LibraryFilter) -> QuerySet[Exercise]:
    """The base library and the clinic's own exercises, filtered, in the reader's language's
    alphabetical order. A name matches in either language."""
    exercises = Exercise.objects.visible_to(clinic)
    if wanted.own_only:
        exercises = exercises.filter(clinic=clinic)
    if wanted.search:
        # Each word typed must start a word of either name ("brug" finds "Bruggetje"); only
        # letters and digits reach the query, so nothing typed is read as query syntax.
        words = re.findall(r"\w+", wanted.search.lower())
        if not words:
            return exercises.none()
        query = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="simple")
        exercises = exercises.annotate(name_search=NAME_SEARCH).filter(name_search=query)
    if wanted.region:
        exercises = exercises.filter(region=wanted.region)
    if wanted.equipment == "none":
        exercises = exercises.filter(equipment__len=0)
    elif wanted.equipment:
        exercises = exercises.filter(equipment__contains=[wanted.equipment])
    if wanted.tag:
        exercises = exercises.filter(tags__contains=[wanted.tag])
    order = "name_en" if in_english() else "name_nl"
    return exercises.order_by(order, "id")


def exercise_visible(clinic: Clinic, exercise_id: int) -> Exercise | None:
    return Exercise.objects.visible_to(clinic).filter(pk=exercise_id).first()


def exercises_by_id(clinic: Clinic, ids: list[int]) -> dict[int, Exercise]:
    return {e.pk: e for e in Exercise.objects.visible_to(clinic).filter(pk__in=ids)}


def exercise_choices(clinic: Clinic) -> list[tuple[str, list[tuple[int, str]]]]:
    """Every exercise the clinic may prescribe, grouped by body region: the builder's picker
    without JavaScript."""
    groups: dict[str, list[tuple[int, str]]] = {}
    labels: dict[str, str] = {}
    for exercise in library(clinic, LibraryFilter()):
        labels[exercise.region] = str(exercise.get_region_display())
        groups.setdefault(exercise.region, []).append((exercise.pk, exercise.name))
    return [
        (labels[region], options)
        for region, options in sorted(groups.items(), key=lambda g: labels[g[0]])
    ]


def templates_of(clinic: Clinic) -> QuerySet[ProgramTemplate]:
    return ProgramTemplate.objects.for_clinic(clinic).order_by("name", "id")


def template_items(template: ProgramTemplate) -> list[TemplateItem]:
    return list(template.items.select_related("exercise").order_by("position", "id"))


def programs_of(patient: Patient) -> list[Program]:
    return list(
        Program.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient)
        .select_related("current_version")
        .order_by("stopped_at", "-created_at", "-id")
    )


def version_items(version: ProgramVersion) -> list[ProgramItem]:
    return list(version.items.select_related("exercise").order_by("position", "id"))


def program_versions(program: Program) -> list[ProgramVersion]:
    return list(program.versions.select_related("created_by").order_by("-number"))


def local_today() -> datetime.date:
    return timezone.localdate()


def loggable_days(today: datetime.date | None = None) -> list[datetime.date]:
    """Today and the days a patient may still fill in, newest first."""
    today = today or local_today()
    return [today - datetime.timedelta(days=n) for n in range(LOG_DAYS_BACK + 1)]


@dataclass
class DayItem:
    item: ProgramItem
    times_done: int
    # True/False when the item is due on chosen weekdays; None when any days of the week do.
    due: bool | None
    # The exercise's photos and videos, in the order they were added.
    media: list[ExerciseMedia] = field(default_factory=list)
    # What the day's page shows as done: `times_done`, or what the patient just posted.
    shown: int = 0

    @property
    def done(self) -> bool:
        return self.times_done >= self.item.times_per_day


@dataclass
class ProgramDay:
    program: Program
    version: ProgramVersion
    day: datetime.date
    items: list[DayItem] = field(default_factory=list)
    session: SessionLog | None = None

    @property
    def all_done(self) -> bool:
        due = [i for i in self.items if i.due is not False]
        return bool(due) and all(i.done for i in due)


def patient_programs_running(patient: Patient) -> list[Program]:
    """The patient's programs that are not stopped (a version may still start or have ended)."""
    return list(
        Program.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient, stopped_at__isnull=True)
        .select_related("current_version")
        .order_by("created_at", "id")
    )


def patient_days(patient: Patient, day: datetime.date) -> list[ProgramDay]:
    """What each of the patient's running programs asked of them on `day` (the version they
    followed, models.version_followed), with what they logged; programs that did not run that
    day are left out. Three hand-written statements whatever the number of programs and
    exercises (the page a patient opens every day, and the reminders): the programs with their
    versions and the day's scores, the chosen versions' items with their exercises and the
    day's ticks, the exercises' photos and videos. Through the ORM, a query per program and
    per part was most of the day's page."""
    program_columns = model_columns(Program, "p")
    version_columns = model_columns(ProgramVersion, "v", frozenset({"goal"}))  # encrypted, unused
    session_columns = model_columns(SessionLog, "s")
    params = {"clinic": patient.clinic_id, "patient": patient.pk, "day": day}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {program_columns.sql}, {version_columns.sql}, {session_columns.sql}
            FROM exercises_program p
            JOIN exercises_programversion v ON v.program_id = p.id
            LEFT JOIN exercises_sessionlog s ON s.program_id = p.id AND s.day = %(day)s
            WHERE p.clinic_id = %(clinic)s AND p.patient_id = %(patient)s
              AND p.stopped_at IS NULL
            ORDER BY p.created_at, p.id, v.number""",  # noqa: S608 - columns from the models
            params,
        )
        rows = cursor.fetchall()
    programs: dict[int, tuple[Program, list[ProgramVersion], SessionLog | None]] = {}
    split = program_columns.width + version_columns.width
    for row in rows:
        if row[0] not in programs:
            session = session_columns.build(row[split:]) if row[split] is not None else None
            programs[row[0]] = (program_columns.build(row[: program_columns.width]), [], session)
        programs[row[0]][1].append(version_columns.build(row[program_columns.width : split]))
    zone = timezone.get_current_timezone()
    days = []
    for program, versions, session in programs.values():
        if (version := version_followed(versions, day, zone)) is not None:
            days.append(ProgramDay(program=program, version=version, day=day, session=session))
    if days:
        _day_items(days, day)
    return days


def _day_items(days: list[ProgramDay], day: datetime.date) -> None:
    """The items of each day's version, in order, with their exercises, photos and videos and
    the times ticked off that day."""
    item_columns = model_columns(ProgramItem, "i")
    exercise_columns = model_columns(Exercise, "e")
    media_columns = model_columns(ExerciseMedia, "m")
    by_version = {program_day.version.pk: program_day for program_day in days}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {item_columns.sql}, {exercise_columns.sql}, l.times
            FROM exercises_programitem i
            JOIN exercises_exercise e ON e.id = i.exercise_id
            LEFT JOIN exercises_exerciselog l ON l.item_id = i.id AND l.day = %(day)s
            WHERE i.version_id = ANY(%(versions)s)
            ORDER BY i.position, i.id""",  # noqa: S608 - columns from the models
            {"day": day, "versions": list(by_version)},
        )
        rows = cursor.fetchall()
        exercise_ids = list({row[item_columns.width] for row in rows})
        cursor.execute(
            f"""SELECT {media_columns.sql} FROM exercises_exercisemedia m
            WHERE m.exercise_id = ANY(%(exercises)s) ORDER BY m.created_at, m.id""",  # noqa: S608
            {"exercises": exercise_ids},
        )
        media: dict[int, list[ExerciseMedia]] = defaultdict(list)
        for media_row in cursor.fetchall():
            shown = media_columns.build(media_row)
            media[shown.exercise_id].append(shown)
    weekday = day.isoweekday()
    split = item_columns.width + exercise_columns.width
    for row in rows:
        item = item_columns.build(row[: item_columns.width])
        item.exercise = exercise_columns.build(row[item_columns.width : split])
        by_version[item.version_id].items.append(
            DayItem(item, row[split] or 0, item.is_due_on(weekday), media[item.exercise_id])
        )


def program_for_patient(patient: Patient, program_id: int) -> Program | None:
    return (
        Program.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient, pk=program_id)
        .select_related("current_version")
        .first()
    )


def program_with_items(program: Program) -> Program:
    """The program with its current version's items prefetched."""
    return (
        Program.objects.filter(pk=program.pk)
        .select_related("current_version", "current_version__created_by")
        .prefetch_related(
            Prefetch(
                "current_version__items",
                queryset=ProgramItem.objects.select_related("exercise").order_by("position", "id"),
            )
        )
        .get()
    )


def program_comments(program: Program, limit: int = 10) -> list[SessionLog]:
    """The patient's newest comments on their days, with that day's pain and effort."""
    return list(
        SessionLog.objects.filter(program=program).exclude(comment="").order_by("-day")[:limit]
    )


def program_adherence_weeks(program: Program, weeks: int = 12) -> list:
    """The last `weeks` weeks of adherence, newest first (exercises.adherence)."""
    today = local_today()
    since = today - datetime.timedelta(days=today.weekday() + 7 * (weeks - 1))
    found = program_adherence(
        program, today=today, zone=timezone.get_current_timezone(), since=since
    )
    return list(reversed(found))


def reminder_days(patient: Patient) -> list[int]:
    return (
        ExerciseReminder.objects.filter(patient=patient).values_list("weekdays", flat=True).first()
        or []
    )
