from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.models import Clinic, InvitationBase
from clinics.tenancy import ClinicOwnedModel, ClinicQuerySet
from patients.kinds import BLOOD_PRESSURE, KINDS
from portal.crypto import (
    StrictEncryptedCharField,
    StrictEncryptedDateField,
    StrictEncryptedEmailField,
    StrictEncryptedTextField,
)
from portal.dates import age_on

StrOrPromise = str | Promise


@dataclass(frozen=True)
class AlertKind:
    """An alert that a feature raises besides the measurement kinds' threshold rules (e.g. the
    exercises' pain rule): its name and its rule in the reader's language. Raised on the same
    `Alert` rows, so the dashboard counts it and a professional acknowledges it the same way."""

    label: StrOrPromise
    rule_text: StrOrPromise


_alert_kinds: dict[str, AlertKind] = {}


def alert_kind_register(code: str, kind: AlertKind) -> None:
    if code in KINDS:
        raise ValueError(f"{code} is a measurement kind.")
    _alert_kinds[code] = kind


def kind_label(code: str) -> str:
    kind = KINDS.get(code)
    if kind is not None:
        return str(kind.label)
    alert_kind = _alert_kinds.get(code)
    return str(alert_kind.label) if alert_kind else code


def fixed_decimals(value: Decimal | int | None, decimals: int) -> str:
    if value is None:
        return "–"
    # Half up, like `floatformat` and portal.jinja2.fixed (a format spec rounds half even).
    return str(Decimal(value).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP))


class Patient(ClinicOwnedModel):
    """A clinic's patient record. Identifying fields are encrypted at rest.

    `user` links the record to the patient's own account once they accepted an invitation; a
    record of someone under 16 exists without a login.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    given_name = StrictEncryptedCharField(_("given name"), max_length=100)
    family_name = StrictEncryptedCharField(_("family name"), max_length=100)
    date_of_birth = StrictEncryptedDateField(_("date of birth"))
    email = StrictEncryptedEmailField(_("e-mail address"), max_length=254, blank=True)
    phone = StrictEncryptedCharField(_("phone number"), max_length=40, blank=True)
    notes = StrictEncryptedTextField(_("notes"), blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_records",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "user"],
                condition=models.Q(user__isnull=False),
                name="patient_one_record_per_user_per_clinic",
            ),
            # Redundant as a key (id is unique), needed as the target of the measurements'
            # (patient, clinic) foreign key (migration 0007).
            models.UniqueConstraint(fields=["id", "clinic"], name="patient_id_clinic"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def age(self, today: datetime.date | None = None) -> int:
        return age_on(self.date_of_birth, today or timezone.localdate())


class PatientNameToken(ClinicOwnedModel):
    """Blind index: keyed hashes of name prefixes, to search names that SQL cannot read."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="name_tokens")
    digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "digest"], name="name_token_unique")
        ]
        indexes = [models.Index(fields=["clinic", "digest"], name="name_token_lookup")]


class PatientInvitation(InvitationBase):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patient_invitations")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    email = StrictEncryptedEmailField(_("e-mail address"), max_length=254, blank=True)

    class Meta:
        ordering = ["-created_at"]


class MeasurementSource(models.TextChoices):
    MANUAL_PATIENT = "manual_patient", _("entered by the patient")
    MANUAL_PROFESSIONAL = "manual_professional", _("entered by a professional")
    FILE_IMPORT = "file", _("file import")
    FHIR = "fhir", _("FHIR import")


class ImportStatus(models.TextChoices):
    NEEDS_MAPPING = "needs_mapping", _("waiting for the choice of columns")
    PREVIEWED = "previewed", _("checked, waiting for confirmation")
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("importing")
    DONE = "done", _("imported")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class ImportBatch(ClinicOwnedModel):
    """One uploaded file: its preview, then its all-or-nothing commit.

    The file itself is kept in private storage (never under a public URL) only until it is
    imported or cancelled.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="import_batches")
    # None: imported by an operator with `manage.py import_measurements`.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=MeasurementSource.choices)
    filename = models.CharField(max_length=255)
    stored_name = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=40)
    # The uploader's language: row errors found by a worker are written in it.
    language = models.CharField(max_length=8, default="nl")
    status = models.CharField(max_length=20, choices=ImportStatus.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_valid = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # the first rejected rows: line, message
    # A generic CSV's chosen columns (generic_csv.ColumnMapping.to_dict()); empty for exports.
    mapping = models.JSONField(default=dict, blank=True)
    failure = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename


class Measurement(ClinicOwnedModel):
    """One reading. Blood pressure keeps systolic, diastolic, pulse and the irregular-heartbeat
    flag in one row; every other kind has `value` in the catalogue's unit (patients.kinds)."""

    # Clinic and patient are checked together by one database foreign key, (patient_id,
    # clinic_id) → patients_patient (id, clinic_id) (migration 0007): a reading's clinic is its
    # patient's clinic, and an import pays one check a row instead of two (~1 s per 100,000).
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    # No index of its own: the indexes below lead with the patient; one more only slowed imports
    # and led the planner to read all of a patient's readings to find one kind's.
    patient = models.ForeignKey(
        Patient,
        on_delete=models.CASCADE,
        related_name="measurements",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=32)
    measured_at = models.DateTimeField()
    value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    pulse = models.PositiveSmallIntegerField(null=True, blank=True)
    irregular_heartbeat = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=20, choices=MeasurementSource.choices)
    source_file = models.CharField(max_length=255, blank=True)
    device = models.CharField(max_length=200, blank=True)
    # Who typed the reading in (manual entry). An imported reading has none: who uploaded its file
    # is `batch.uploaded_by`, kept once per file rather than checked and indexed per reading.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    received_at = models.DateTimeField(default=timezone.now)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="measurements"
    )
    # Digest of kind, time and values: importing the same reading twice adds nothing.
    dedup_key = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "dedup_key"], name="measurement_unique")
        ]
        indexes = [
            models.Index(
                fields=["patient", "kind", "-measured_at"], name="measurement_patient_kind_time"
            ),
            # The dashboard's "last reading" of any kind per patient: one index probe each.
            models.Index(fields=["patient", "-measured_at"], name="measurement_patient_time"),
            # For SET_NULL when a user is deleted; imported readings (most of them) have none.
            models.Index(
                fields=["entered_by"],
                condition=models.Q(entered_by__isnull=False),
                name="measurement_entered_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.measured_at:%Y-%m-%d %H:%M}"


class LatestReading(ClinicOwnedModel):
    """The newest reading of each kind per patient, kept by the database itself: statement
    triggers on `patients_measurement` (migration 0012) upsert it after every insert, COPY
    included, and recompute it after an update or delete. Read-only for the application.

    The dashboard's triage asks, for every patient of a clinic, whether the newest reading of a
    kind crosses a rule and when the last reading was: one probe of this small table each,
    instead of a walk down the readings index per patient and kind.
    """

    # Two indexes: the unique (patient, kind) for one patient's rows, (clinic, kind) for the
    # triage's pass over a clinic (Django's index per foreign key would only mislead the planner).
    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    kind = models.CharField(max_length=32)
    measurement = models.ForeignKey(
        Measurement,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    measured_at = models.DateTimeField()
    value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"], name="latest_reading_unique")
        ]
        # The triage's pass over a clinic's newest readings of one kind.
        indexes = [models.Index(fields=["clinic", "kind"], name="latest_reading_clinic_kind")]


# The calendar day of a reading, for the daily sums the database keeps: the clinics' local day.
# The migration that creates the triggers names the zone in SQL; a test holds it equal to
# settings.TIME_ZONE, the zone every page shows days in.
READING_DAY_TIME_ZONE = "Europe/Amsterdam"


class DailyReading(ClinicOwnedModel):
    """Per patient, kind and local calendar day (`READING_DAY_TIME_ZONE`): how many readings
    and their sums, kept by the database itself. Statement triggers on `patients_measurement`
    (migration 0013) add an insert's rows, COPY included, and recompute the days an update or
    delete touched. Read-only for the application.

    The dashboard's 30-day sparklines and weekly trends read at most 30 of these rows per
    patient and kind, instead of grouping a month of readings by day on every visit.
    """

    clinic = models.ForeignKey(
        Clinic, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    kind = models.CharField(max_length=32)
    day = models.DateField()
    # The systolic (blood pressure) or the value: how many readings have one, and their sum.
    main_count = models.PositiveIntegerField()
    main_sum = models.DecimalField(max_digits=18, decimal_places=3)
    # The diastolic (blood pressure only): how many, and their sum.
    second_count = models.PositiveIntegerField()
    second_sum = models.DecimalField(max_digits=18, decimal_places=3)
    # The day's means to two decimals, for the sparklines (float: their text is the shortest).
    main_mean = models.FloatField(null=True)
    second_mean = models.FloatField(null=True)

    class Meta:
        constraints = [
            # Covering: a patient's 30 days of a kind are one index-only scan.
            models.UniqueConstraint(
                fields=["patient", "kind", "day"],
                include=["clinic", "main_count", "main_sum", "main_mean", "second_mean"],
                name="daily_reading_unique",
            )
        ]


class RuleType(models.TextChoices):
    UPPER = "upper", _("above an upper limit")
    LOWER = "lower", _("below a lower limit")
    CHANGE = "change", _("change from a baseline")
    NO_READING = "no_reading", _("no reading for a number of days")


class ThresholdRule(ClinicOwnedModel):
    """A professional's rule for one kind: per patient, or a clinic default when `patient` is
    empty. A patient's own rule replaces the clinic default of the same kind and type.

    For blood pressure `limit` is the systolic and `limit_diastolic` the diastolic limit (either
    crossing counts); `change` compares the systolic value with `baseline`.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.CASCADE, related_name="threshold_rules"
    )
    kind = models.CharField(_("measurement"), max_length=32)
    rule_type = models.CharField(_("rule"), max_length=20, choices=RuleType.choices)
    limit = models.DecimalField(_("limit"), max_digits=9, decimal_places=2, null=True, blank=True)
    limit_diastolic = models.DecimalField(
        _("diastolic limit"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    baseline = models.DecimalField(
        _("baseline"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    max_change = models.DecimalField(
        _("largest allowed change"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    days = models.PositiveSmallIntegerField(_("days"), null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["kind", "rule_type", "id"]
        indexes = [models.Index(fields=["clinic", "kind", "is_active"], name="rule_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.rule_type}"

    def get_kind_label(self) -> str:
        return kind_label(self.kind)

    def describe(self) -> str:
        """The rule in a sentence, as the rule lists and an alert show it."""
        kind = KINDS[self.kind]
        unit = kind.unit_display
        if self.rule_type == RuleType.NO_READING:
            return gettext("no reading for %(days)s days") % {"days": self.days}
        if self.rule_type == RuleType.CHANGE:
            return gettext("more than %(change)s %(unit)s away from %(baseline)s %(unit)s") % {
                "change": fixed_decimals(self.max_change, kind.decimals),
                "baseline": fixed_decimals(self.baseline, kind.decimals),
                "unit": unit,
            }
        if self.kind == BLOOD_PRESSURE:
            limit = (
                f"{fixed_decimals(self.limit, 0)}/{fixed_decimals(self.limit_diastolic, 0)} mmHg"
            )
        else:
            limit = f"{fixed_decimals(self.limit, kind.decimals)} {unit}"
        if self.rule_type == RuleType.UPPER:
            return gettext("above %(limit)s") % {"limit": limit}
        return gettext("below %(limit)s") % {"limit": limit}


ONE_OPEN_PER_RULE = "alert_one_open_per_rule"
ONE_OPEN_PER_KIND = "alert_one_open_per_kind"


class AlertQuerySet(ClinicQuerySet):
    def open(self) -> AlertQuerySet:
        return self.filter(acknowledged_at__isnull=True)


class Alert(ClinicOwnedModel):
    """A rule crossed: shown on the dashboard until a professional acknowledges it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    rule = models.ForeignKey(
        ThresholdRule, null=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    kind = models.CharField(max_length=32)
    rule_type = models.CharField(max_length=20, choices=RuleType.choices)
    measurement = models.ForeignKey(
        Measurement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The value that crossed the rule, language-neutral ("162/98 mmHg"); empty for no-reading
    # alerts. The rule is described at display time, in the reader's language.
    detail = models.CharField(max_length=200, blank=True)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "patient", "acknowledged_at"], name="alert_open"),
        ]
        constraints = [
            # Open means not acknowledged (AlertQuerySet.open). A clinic default rule serves
            # many patients, so the rule is unique per patient.
            models.UniqueConstraint(
                fields=["rule", "patient"],
                condition=models.Q(acknowledged_at__isnull=True),
                name=ONE_OPEN_PER_RULE,
            ),
            # An alert of a registered kind raised without a rule (the exercises' pain alert):
            # one open per patient and kind.
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(acknowledged_at__isnull=True, rule__isnull=True),
                name=ONE_OPEN_PER_KIND,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"

    def get_kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def rule_text(self) -> str:
        if self.rule is not None:
            return self.rule.describe()
        alert_kind = _alert_kinds.get(self.kind)
        return str(alert_kind.rule_text) if alert_kind else ""
