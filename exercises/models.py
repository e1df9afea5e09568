"""The exercise library, programs built from it, their versions, and what the patient logged.

- `Exercise`: the base library (no clinic; shipped as data in exercises/data/base_library.json,
  loaded by a data migration and refreshed by `load_base_library`) and each clinic's own
  exercises, which may be copies of a base exercise (`based_on`) adapted by the clinic.
- `Program` belongs to one patient record. What it prescribes lives in `ProgramVersion`s: a
  change makes a new version, so the record shows what the patient saw when. A version's
  `ProgramItem`s are the exercises in order with their parameters (a `Prescription`).
- `ProgramTemplate` is a clinic-wide starting point ("knee replacement weeks 1-2") with
  `TemplateItem`s carrying the same parameters.
- `ExerciseLog` is one exercise ticked off on one day (how many times), against the item of the
  version the patient followed that day; `SessionLog` is the day's pain (NPRS 0-10), effort
  (Borg CR10 0-10) and comment.
"""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic
from clinics.tenancy import ClinicOwnedModel, ClinicQuerySet
from patients.models import Patient
from portal.crypto import StrictEncryptedTextField


class Region(models.TextChoices):
    NECK = "neck", _("Neck")
    SHOULDER = "shoulder", _("Shoulder")
    ELBOW_WRIST_HAND = "elbow_wrist_hand", _("Elbow, wrist and hand")
    UPPER_BACK = "upper_back", _("Upper back")
    LOWER_BACK = "lower_back", _("Lower back")
    HIP = "hip", _("Hip")
    KNEE = "knee", _("Knee")
    ANKLE_FOOT = "ankle_foot", _("Ankle and foot")
    CORE = "core", _("Core")
    BALANCE = "balance", _("Balance")
    MOBILITY = "mobility", _("Whole body and mobility")


class Equipment(models.TextChoices):
    MAT = "mat", _("Mat")
    CHAIR = "chair", _("Chair")
    WALL = "wall", _("Wall")
    TABLE = "table", _("Table")
    STEP = "step", _("Step")
    RESISTANCE_BAND = "resistance_band", _("Resistance band")
    DUMBBELL = "dumbbell", _("Dumbbell")
    ANKLE_WEIGHT = "ankle_weight", _("Ankle weight")
    BALL = "ball", _("Ball")
    TOWEL = "towel", _("Towel")
    PILLOW = "pillow", _("Pillow")
    FOAM_ROLLER = "foam_roller", _("Foam roller")
    BALANCE_PAD = "balance_pad", _("Balance pad")


class Tag(models.TextChoices):
    STRENGTH = "strength", _("Strength")
    STRETCH = "stretch", _("Stretch")
    MOBILITY = "mobility", _("Mobility")
    STABILITY = "stability", _("Stability")
    BALANCE = "balance", _("Balance")
    PROPRIOCEPTION = "proprioception", _("Proprioception")
    ISOMETRIC = "isometric", _("Isometric")
    ENDURANCE = "endurance", _("Endurance")
    POSTURE = "posture", _("Posture")
    POST_OP = "post_op", _("After surgery")
    WARM_UP = "warm_up", _("Warm-up")
    FALLS_PREVENTION = "falls_prevention", _("Falls prevention")
    RELAXATION = "relaxation", _("Relaxation")


class Difficulty(models.IntegerChoices):
    EASY = 1, _("Easy")
    MODERATE = 2, _("Moderate")
    HARD = 3, _("Hard")


class Weekday(models.IntegerChoices):
    """ISO weekday numbers, as `date.isoweekday()` gives them."""

    MONDAY = 1, _("Monday")
    TUESDAY = 2, _("Tuesday")
    WEDNESDAY = 3, _("Wednesday")
    THURSDAY = 4, _("Thursday")
    FRIDAY = 5, _("Friday")
    SATURDAY = 6, _("Saturday")
    SUNDAY = 7, _("Sunday")


def in_english() -> bool:
    """Whether texts written in both languages (the library's) are read in English now."""
    return (get_language() or "nl").startswith("en")


def _between(low: int, high: int) -> list:
    return [MinValueValidator(low), MaxValueValidator(high)]


class Prescription(models.Model):
    """How an exercise is to be done: the parameters a program item and a template item share,
    and an exercise's defaults are copied into.

    Frequency is `times_per_day` on the days it is due: either any `days_per_week` days of a
    week (the patient chooses which) or the chosen `weekdays`; exactly one of the two is set.
    """

    sets = models.PositiveSmallIntegerField(_("sets"), default=3, validators=_between(1, 20))
    reps = models.PositiveSmallIntegerField(
        _("repetitions"), default=10, validators=_between(1, 100)
    )
    hold_seconds = models.PositiveSmallIntegerField(
        _("hold (seconds)"), default=0, validators=_between(0, 600)
    )
    rest_seconds = models.PositiveSmallIntegerField(
        _("rest (seconds)"), default=30, validators=_between(0, 600)
    )
    load = models.CharField(
        _("load"), max_length=60, blank=True, help_text=_("e.g. 2 kg, red band")
    )
    times_per_day = models.PositiveSmallIntegerField(
        _("times per day"), default=1, validators=_between(1, 6)
    )
    days_per_week = models.PositiveSmallIntegerField(
        _("days per week"), null=True, blank=True, validators=_between(1, 7)
    )
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=Weekday.choices),
        verbose_name=_("on these days"),
        default=list,
        blank=True,
    )

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=(Q(days_per_week__isnull=False) & Q(weekdays__len=0))
                | (Q(days_per_week__isnull=True) & Q(weekdays__len__gt=0)),
                name="%(app_label)s_%(class)s_one_frequency",
            ),
        ]

    def is_due_on(self, weekday: int) -> bool | None:
        """Due on this ISO weekday: True/False for chosen weekdays, None when any days do."""
        if self.days_per_week is not None:
            return None
        return weekday in self.weekdays

    @property
    def dose_text(self) -> str:
        """ "3 × 10 · hold 5 s · rest 30 s · red band", as the exercise lists show a dose."""
        parts = [f"{self.sets} × {self.reps}"]
        if self.hold_seconds:
            parts.append(str(_("hold %(n)s s") % {"n": self.hold_seconds}))
        if self.rest_seconds:
            parts.append(str(_("rest %(n)s s") % {"n": self.rest_seconds}))
        if self.load:
            parts.append(self.load)
        return " · ".join(parts)

    @property
    def frequency_text(self) -> str:
        per_day = _("%(n)s× a day") % {"n": self.times_per_day}
        if self.days_per_week is not None:
            if self.days_per_week == 7:
                return f"{per_day}, " + str(_("every day"))
            days = ngettext("%(n)s day a week", "%(n)s days a week", self.days_per_week)
            return f"{per_day}, " + days % {"n": self.days_per_week}
        days = ", ".join(str(Weekday(day).label)[:2] for day in sorted(self.weekdays))
        return f"{per_day}, {days}"


# An exercise's usual dose: the Prescription field each `default_*` field starts.
DEFAULT_FIELDS = {
    "sets": "default_sets",
    "reps": "default_reps",
    "hold_seconds": "default_hold_seconds",
    "rest_seconds": "default_rest_seconds",
    "times_per_day": "default_times_per_day",
    "days_per_week": "default_days_per_week",
}
# What a clinic writes of its own exercise, and what a copy takes over from its source.
EXERCISE_CONTENT_FIELDS = (
    "name_nl",
    "name_en",
    "instructions_nl",
    "instructions_en",
    "region",
    "equipment",
    "difficulty",
    "tags",
    "default_sets",
    "default_reps",
    "default_hold_seconds",
    "default_rest_seconds",
    "default_times_per_day",
    "default_days_per_week",
)


# Both names as one text-search document, without stemming or stop words (a name is short and
# in two languages): the library's search matches the start of each word typed.
NAME_SEARCH = SearchVector("name_nl", "name_en", config="simple")


# A Prescription's parameters, as a program item, a template item and the builder copy them.
PRESCRIPTION_FIELDS = (
    "sets",
    "reps",
    "hold_seconds",
    "rest_seconds",
    "load",
    "times_per_day",
    "days_per_week",
    "weekdays",
)


class ExerciseQuerySet(ClinicQuerySet):
    def visible_to(self, clinic: Clinic | int) -> ExerciseQuerySet:
        """The base library and the clinic's own exercises, not archived."""
        clinic_id = clinic if isinstance(clinic, int) else clinic.pk
        return self.filter(
            Q(clinic__isnull=True) | Q(clinic_id=clinic_id), archived_at__isnull=True
        )

    def base(self) -> ExerciseQuerySet:
        return self.filter(clinic__isnull=True)


class Exercise(ClinicOwnedModel):
    """An exercise of the base library (no clinic) or of one clinic. Texts written for every
    patient, never about one. `for_clinic()` gives a clinic's own; `visible_to()` adds the base."""

    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.PROTECT, related_name="exercises"
    )
    # The base library's stable key (from the data file); empty for a clinic's own exercise.
    key = models.SlugField(max_length=80, blank=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    name_nl = models.CharField(_("name (Dutch)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    instructions_nl = models.TextField(_("instructions (Dutch)"))
    instructions_en = models.TextField(_("instructions (English)"))
    region = models.CharField(_("body region"), max_length=20, choices=Region.choices)
    equipment = ArrayField(
        models.CharField(max_length=20, choices=Equipment.choices),
        verbose_name=_("equipment"),
        default=list,
        blank=True,
    )
    difficulty = models.PositiveSmallIntegerField(
        _("difficulty"), choices=Difficulty.choices, default=Difficulty.EASY
    )
    tags = ArrayField(
        models.CharField(max_length=20, choices=Tag.choices),
        verbose_name=_("tags"),
        default=list,
        blank=True,
    )
    default_sets = models.PositiveSmallIntegerField(default=3, validators=_between(1, 20))
    default_reps = models.PositiveSmallIntegerField(default=10, validators=_between(1, 100))
    default_hold_seconds = models.PositiveSmallIntegerField(default=0, validators=_between(0, 600))
    default_rest_seconds = models.PositiveSmallIntegerField(default=30, validators=_between(0, 600))
    default_times_per_day = models.PositiveSmallIntegerField(default=1, validators=_between(1, 6))
    default_days_per_week = models.PositiveSmallIntegerField(default=7, validators=_between(1, 7))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # A clinic's exercise used in a program is archived rather than deleted: the program's
    # versions keep pointing at what the patient was given.
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ExerciseQuerySet.as_manager()

    class Meta:
        ordering = ["name_nl", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(clinic__isnull=True), name="exercise_base_key_unique"
            ),
            models.CheckConstraint(
                condition=Q(clinic__isnull=False) | ~Q(key=""), name="exercise_base_has_key"
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "region"], name="exercise_clinic_region"),
            # The library's search by name (selectors.library): words of either language.
            GinIndex(NAME_SEARCH, name="exercise_name_search"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_base(self) -> bool:
        return self.clinic_id is None

    @property
    def name(self) -> str:
        return self.name_en if in_english() else self.name_nl

    @property
    def instructions(self) -> str:
        return self.instructions_en if in_english() else self.instructions_nl

    @property
    def equipment_labels(self) -> list[str]:
        return [str(Equipment(item).label) for item in self.equipment]

    @property
    def tag_labels(self) -> list[str]:
        return [str(Tag(tag).label) for tag in self.tags]

    @property
    def instruction_steps(self) -> list[str]:
        return [line.strip() for line in self.instructions.splitlines() if line.strip()]

    def defaults(self) -> dict[str, int | list | None]:
        """The parameters a new program item starts from."""
        return {
            **{name: getattr(self, field) for name, field in DEFAULT_FIELDS.items()},
            "weekdays": [],
        }


class ProgramTemplate(ClinicOwnedModel):
    """A clinic-wide starting point for programs. Holds no patient data."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    goal = models.CharField(_("goal"), max_length=300, blank=True)
    weeks = models.PositiveSmallIntegerField(
        _("weeks"), null=True, blank=True, validators=_between(1, 104)
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class TemplateItem(Prescription):
    template = models.ForeignKey(ProgramTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta(Prescription.Meta):
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.exercise}"


class ProgramQuerySet(ClinicQuerySet):
    pass


class Program(ClinicOwnedModel):
    """A patient's exercise program. What it prescribes is its newest version."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="programs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Denormalised from the newest version so lists need no join to it.
    current_version = models.ForeignKey(
        "ProgramVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A stopped program stays on the record; the patient's daily view no longer shows it.
    stopped_at = models.DateTimeField(null=True, blank=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "patient"], name="program_patient")]


class ProgramVersion(models.Model):
    """What the program prescribed from `created_at` until the next version: never changed."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(_("title"), max_length=120)
    # About this patient: encrypted like every free text of the record.
    goal = StrictEncryptedTextField(_("goal"), blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    template = models.ForeignKey(
        ProgramTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["program", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="program_version_number"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="program_version_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.number})"

    def runs_on(self, day) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


def version_followed(
    versions: list[ProgramVersion], day: datetime.date, zone: datetime.tzinfo
) -> ProgramVersion | None:
    """Of a program's versions (sorted by number), the one the patient followed on `day`: the
    newest one made by the end of that day in `zone`, or the first one before any was made (a
    program may be entered with a start date in the past); None when it did not run that day."""
    return versions_followed(versions, day, day, zone).get(day)


def versions_followed(
    versions: list[ProgramVersion],
    first: datetime.date,
    last: datetime.date,
    zone: datetime.tzinfo,
) -> dict[datetime.date, ProgramVersion]:
    """`version_followed` for each day from `first` to `last` that the program ran, in day order,
    in one pass (the adherence asks it for every day of a year). Made by the end of a day in
    `zone` is made on that local day or before."""
    if not versions:
        return {}
    # The versions by the local day they were made; a day follows the highest-numbered one made
    # by then (numbers are the list's order).
    made = sorted(
        (version.created_at.astimezone(zone).date(), n) for n, version in enumerate(versions)
    )
    followed, newest, next_made = {}, 0, 0
    day = first
    while day <= last:
        while next_made < len(made) and made[next_made][0] <= day:
            newest = max(newest, made[next_made][1])
            next_made += 1
        version = versions[newest]  # the first one while none was made yet
        if version.runs_on(day):
            followed[day] = version
        day += datetime.timedelta(days=1)
    return followed


class ProgramItem(Prescription):
    version = models.ForeignKey(ProgramVersion, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    # The same exercise entry across versions keeps its slot, so its history reads as one line.
    slot = models.UUIDField(default=uuid.uuid4)
    note = StrictEncryptedTextField(_("note"), blank=True)

    class Meta(Prescription.Meta):
        ordering = ["position", "id"]
        constraints = [
            *Prescription.Meta.constraints,
            models.UniqueConstraint(fields=["version", "slot"], name="program_item_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.exercise}"


class ExerciseLog(ClinicOwnedModel):
    """The patient did this item `times` times on `day` (their own calendar day)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="exercise_logs")
    item = models.ForeignKey(ProgramItem, on_delete=models.CASCADE, related_name="logs")
    day = models.DateField()
    times = models.PositiveSmallIntegerField(validators=_between(0, 6))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "day"], name="exercise_log_item_day"),
        ]
        indexes = [models.Index(fields=["program", "day"], name="exercise_log_program_day")]


class SessionLog(ClinicOwnedModel):
    """The patient's pain, effort and comment for a day of their program."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="session_logs")
    day = models.DateField()
    pain = models.PositiveSmallIntegerField(
        _("pain (0-10)"), null=True, blank=True, validators=_between(0, 10)
    )
    effort = models.PositiveSmallIntegerField(
        _("effort (0-10)"), null=True, blank=True, validators=_between(0, 10)
    )
    comment = StrictEncryptedTextField(_("comment"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "day"], name="session_log_program_day"),
            models.CheckConstraint(condition=Q(pain__lte=10), name="session_log_pain_range"),
            models.CheckConstraint(condition=Q(effort__lte=10), name="session_log_effort_range"),
        ]


class ExerciseMedia(models.Model):
    """A photo or short video of one of a clinic's own exercises, in private storage under a
    random name (folder MEDIA_FOLDER); its type decided by its content. Served only to the
    clinic's team and to the clinic's patients whose program has the exercise."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="media")
    stored_name = models.CharField(max_length=200, unique=True)
    content_type = models.CharField(max_length=60)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.exercise}: {self.content_type}"

    @property
    def is_video(self) -> bool:
        return self.content_type.startswith("video/")


class ExerciseReminder(ClinicOwnedModel):
    """A patient's choice of days on which to be e-mailed that today's exercises are ready
    (content-free: never an exercise, a diagnosis or the clinic's name). One per record."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.OneToOneField(
        Patient, on_delete=models.CASCADE, related_name="exercise_reminder"
    )
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(choices=Weekday.choices), default=list, blank=True
    )
    # The local day the last reminder went out: at most one a day, whatever runs the task.
    last_sent_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"reminder {self.patient_id}: {self.weekdays}"
