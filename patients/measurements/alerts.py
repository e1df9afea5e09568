"""Threshold rules and alerts: writes (rules, acknowledgement) and the evaluation of readings.

Invariants:
- A reading is evaluated when it is stored, whatever its source (manual entry, file import,
  FHIR): `alerts_evaluate` is called by every service that stores readings.
- A patient's own rule replaces the clinic default of the same kind and type.
- One open alert per rule and patient at a time: a rule crossed again while its alert is still
  open adds nothing, so a year of old readings in one import raises one alert, on the newest
  crossing reading. The database holds the rule (`alert_one_open_per_rule`, a partial unique
  constraint); `_raise` inserts through it, so two evaluations at once make one alert and
  neither fails.
- Alerts are never deleted by the application; acknowledging keeps who and when.
"""

from __future__ import annotations

import datetime
import functools
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Avg,
    BigIntegerField,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.models import Clinic, User
from patients.kinds import BLOOD_PRESSURE, KINDS
from patients.models import (
    ONE_OPEN_PER_KIND,
    ONE_OPEN_PER_RULE,
    Alert,
    LatestReading,
    Measurement,
    Patient,
    RuleType,
    ThresholdRule,
    fixed_decimals,
)

BASELINE_DAYS = 30


# --- reads -------------------------------------------------------------------------------------


def effective_rules(*, clinic_id: int, patient: Patient) -> list[ThresholdRule]:
    """The active rules for this patient: their own, plus clinic defaults they do not override."""
    rules = ThresholdRule.objects.for_clinic(clinic_id).filter(
        Q(patient__isnull=True) | Q(patient=patient), is_active=True
    )
    return _effective_for(rules, patient.pk)


def _effective_for(rules: Iterable[ThresholdRule], patient_id: int) -> list[ThresholdRule]:
    """Of a clinic's rules: this patient's own, and the defaults they do not override."""
    mine = [r for r in rules if r.patient_id in (None, patient_id)]
    own = {(r.kind, r.rule_type) for r in mine if r.patient_id is not None}
    return [r for r in mine if r.patient_id is not None or (r.kind, r.rule_type) not in own]


def open_alerts(*, clinic_id: int, patient: Patient) -> QuerySet[Alert]:
    return Alert.objects.for_clinic(clinic_id).open().filter(patient=patient)


def recent_reading(rule: ThresholdRule, now: datetime.datetime) -> Q:
    """The readings that keep a no-reading rule quiet: of its kind, at most `days` days old."""
    return Q(kind=rule.kind, measured_at__gte=now - datetime.timedelta(days=rule.days))


# The triage rules: a latest value outside a limit, or no reading for longer than allowed.
# (A change from a baseline is judged when the reading is stored and raises an alert then.)
TRIAGE_RULE_TYPES = (RuleType.UPPER, RuleType.LOWER, RuleType.NO_READING)


@dataclass(frozen=True)
class Triage:
    """Which of the clinic's rules hold for a patient now, as SQL over a patient row, so the
    dashboard sorts and pages the patients who need attention in the database.

    A rule holds when the patient's newest reading of its kind crosses it (`crossing`, the
    same definition that raised its alert) or, for a no-reading rule, when a patient with an
    account has no reading of its kind within its days (as `alerts_check_missing_readings`).
    A rule still holds after its alert was acknowledged: the value is still outside the limit.
    """

    clinic_id: int
    now: datetime.datetime
    rules: dict[int, ThresholdRule]

    @classmethod
    def for_clinic(cls, clinic_id: int, now: datetime.datetime | None = None) -> Triage:
        rules = ThresholdRule.objects.for_clinic(clinic_id).filter(
            is_active=True, rule_type__in=TRIAGE_RULE_TYPES
        )
        return cls(clinic_id, now or timezone.now(), {r.pk: r for r in rules})

    def holding_sql(self, patient: str) -> tuple[str, list[object]]:
        """Per patient: the ids of their effective rules that hold now (an empty array if
        none), as SQL over the patient row `patient` (a table name or alias).

        Each rule's test is the ORM's SQL for the clinic's newest readings that cross it
        (`_holding_patients_sql`), joined here as plain SQL: built as a tree of Case/When/Q
        expressions the same test cost the dashboard more to compile than to run. Every value
        is a parameter; the SQL text is the ORM compiler's, `patient` and rule ids (ints).
        """
        overriding: dict[tuple[str, str], list[int]] = {}
        for rule in self.rules.values():
            if rule.patient_id is not None:
                overriding.setdefault((rule.kind, rule.rule_type), []).append(rule.patient_id)
        cases: list[str] = []
        params: list[object] = []
        for rule in self.rules.values():
            compiled = self._holding_patients_sql(rule)
            if compiled is None:
                continue
            subquery, subquery_params = compiled
            overridden_for = overriding.get((rule.kind, rule.rule_type))
            if rule.patient_id is not None:
                applies, applies_params = [f"{patient}.id = %s"], [rule.patient_id]
            elif overridden_for:  # a clinic default, unless the patient has their own rule
                applies = [f"NOT ({patient}.id = ANY(%s::bigint[]))"]
                applies_params = [overridden_for]
            else:
                applies, applies_params = [], []
            if rule.rule_type == RuleType.NO_READING:  # patients with an account, no recent one
                holds = f"{patient}.user_id IS NOT NULL AND {patient}.id NOT IN ({subquery})"
            else:
                holds = f"{patient}.id IN ({subquery})"
            condition = " AND ".join([*applies, holds])
            cases.append(f"CASE WHEN {condition} THEN {int(rule.pk)} END")
            params += [*applies_params, *subquery_params]
        array = f"ARRAY[{', '.join(cases)}]::bigint[]" if cases else "ARRAY[]::bigint[]"
        return f"array_remove({array}, NULL)", params

    def _holding_patients_sql(self, rule: ThresholdRule) -> tuple[str, tuple] | None:
        """The clinic's patients whose newest reading of the rule's kind crosses it or, for a
        no-reading rule, is recent (the patients it does not hold for), as compiled SQL.

        The newest reading of each kind is a row of LatestReading (kept by the database): a
        rule is one pass over the clinic's rows of its kind, with the same filters (`crossing`,
        `recent_reading`) as on the readings themselves, which PostgreSQL hashes once."""
        if rule.rule_type == RuleType.NO_READING:
            if not rule.days:
                return None
            sql, params, since_at = _recent_patients_sql(self.clinic_id, rule.kind)
            since = self.now - datetime.timedelta(days=rule.days)
            return sql, (*params[:since_at], since, *params[since_at + 1 :])
        return _crossing_patients_sql(
            self.clinic_id, rule.kind, rule.rule_type, rule.limit, rule.limit_diastolic
        )

    def holding_for(self, patient: Patient) -> list[int]:
        """The rules that hold for one patient (the overview's; the dashboard's list selects
        them for a page, `patients.selectors.DashboardList`)."""
        sql, params = self.holding_sql('"patients_patient"')
        holding = (
            Patient.objects.for_clinic(self.clinic_id)
            .filter(pk=patient.pk)
            .annotate(
                holding_rule_ids=RawSQL(  # noqa: S611 - values are parameters (holding_sql)
                    sql, params, output_field=ArrayField(BigIntegerField())
                )
            )
            .values_list("holding_rule_ids", flat=True)
            .first()
        )
        return holding or []

    def reasons(self, holding: list[int], alerts: list[Alert]) -> list[AttentionReason]:
        """Why a patient needs attention, in words: their open alerts (`alerts`, newest first),
        then the rules that hold (`holding`, their `holding_rule_ids`) without an open alert."""
        reasons = [AttentionReason.of_alert(alert) for alert in alerts]
        alerted = {alert.rule_id for alert in alerts}
        for rule_id in holding:
            rule = self.rules.get(rule_id)
            if rule is not None and rule_id not in alerted:
                reasons.append(AttentionReason.of_rule(rule))
        return reasons

    def out_of_range(self, holding: list[int]) -> dict[str, str]:
        """Per kind whose newest reading is outside a limit (of the rules in `holding`): "upper"
        or "lower"."""
        marks = {}
        for rule_id in holding:
            rule = self.rules.get(rule_id)
            if rule is not None and rule.rule_type != RuleType.NO_READING:
                marks[rule.kind] = rule.rule_type
        return marks


@functools.lru_cache(maxsize=1024)
def _crossing_patients_sql(
    clinic_id: int, kind: str, rule_type: str, limit: Decimal | None, diastolic: Decimal | None
) -> tuple[str, tuple] | None:
    """The compiled SQL of the clinic's patients whose newest reading crosses a limit rule of
    these values (`crossing`). It depends on nothing else, and compiling it cost each dashboard
    visit more than running it, so it is compiled once per process and set of values."""
    rule = ThresholdRule(kind=kind, rule_type=rule_type, limit=limit, limit_diastolic=diastolic)
    crosses = crossing(rule)
    if crosses is None:
        return None
    newest = LatestReading.objects.for_clinic(clinic_id).filter(kind=kind)
    return newest.filter(crosses).values("patient_id").query.sql_with_params()


# An instant no reading has: compiled in place of a no-reading rule's "since", then replaced.
_SINCE_PLACEHOLDER = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)


@functools.lru_cache(maxsize=1024)
def _recent_patients_sql(clinic_id: int, kind: str) -> tuple[str, tuple, int]:
    """The compiled SQL of the clinic's patients with a reading of `kind` since a moment
    (`recent_reading`), and the position of that moment among its parameters: compiled once per
    process, the moment filled in per request (`Triage`)."""
    rule = ThresholdRule(kind=kind, rule_type=RuleType.NO_READING, days=1)
    recent = recent_reading(rule, _SINCE_PLACEHOLDER + datetime.timedelta(days=1))
    newest = LatestReading.objects.for_clinic(clinic_id).filter(recent).values("patient_id")
    sql, params = newest.query.sql_with_params()
    return sql, params, params.index(_SINCE_PLACEHOLDER)


@dataclass(frozen=True)
class AttentionReason:
    """One line of "why this patient": the text, and whether it is an open alert."""

    text: str
    is_alert: bool

    @classmethod
    def of_alert(cls, alert: Alert) -> AttentionReason:
        kind = KINDS[alert.kind].label if alert.kind in KINDS else alert.kind
        rule = alert.rule_text or alert.get_rule_type_display()
        if alert.detail:
            text = _("%(kind)s %(rule)s: %(value)s") % {
                "kind": kind,
                "rule": rule,
                "value": alert.detail,
            }
        else:
            text = _("%(kind)s: %(rule)s") % {"kind": kind, "rule": rule}
        return cls(text, True)

    @classmethod
    def of_rule(cls, rule: ThresholdRule) -> AttentionReason:
        kind = KINDS[rule.kind].label
        if rule.rule_type == RuleType.NO_READING:
            text = _("%(kind)s: %(rule)s") % {"kind": kind, "rule": rule.describe()}
        else:
            text = _("%(kind)s: latest reading %(rule)s") % {"kind": kind, "rule": rule.describe()}
        return cls(text, False)


def open_alerts_by_patient(*, clinic_id: int, patient_ids: list[int]) -> dict[int, list[Alert]]:
    """The open alerts of a page of patients, newest first, with their rules: one query."""
    alerts: dict[int, list[Alert]] = {}
    rows = (
        Alert.objects.for_clinic(clinic_id)
        .open()
        .filter(patient_id__in=patient_ids)
        .select_related("rule")
        .order_by("-raised_at", "-id")
    )
    for alert in rows:
        alerts.setdefault(alert.patient_id, []).append(alert)
    return alerts


# --- describing values -------------------------------------------------------------------------


def describe_value(m: Measurement) -> str:
    kind = KINDS[m.kind]
    if m.kind == BLOOD_PRESSURE:
        return f"{m.systolic}/{m.diastolic} mmHg"
    return f"{fixed_decimals(m.value, kind.decimals)} {kind.unit_display}".strip()


# --- evaluation --------------------------------------------------------------------------------


def crossing(rule: ThresholdRule) -> Q | None:
    """The readings that cross `rule`, as a filter: the one definition of crossing a rule, used
    for a single manual reading and for the 100,000 readings of an import alike (None: nothing
    can cross it: a no-reading rule, or a rule without a limit).

    Upper/lower: systolic or diastolic (blood pressure), or the value, beyond its limit; a
    missing value crosses nothing (SQL NULL). Change: the systolic or value more than
    `max_change` away from `baseline` (|value − baseline| > max_change, as two comparisons).
    """
    field = "systolic" if rule.kind == BLOOD_PRESSURE else "value"
    if rule.rule_type in (RuleType.UPPER, RuleType.LOWER):
        lookup = "gt" if rule.rule_type == RuleType.UPPER else "lt"
        limits = [(field, rule.limit)]
        if rule.kind == BLOOD_PRESSURE:
            limits.append(("diastolic", rule.limit_diastolic))
        terms = [Q(**{f"{name}__{lookup}": limit}) for name, limit in limits if limit is not None]
    elif rule.rule_type == RuleType.CHANGE and rule.baseline is not None and rule.max_change:
        terms = [
            Q(**{f"{field}__gt": rule.baseline + rule.max_change}),
            Q(**{f"{field}__lt": rule.baseline - rule.max_change}),
        ]
    else:
        return None
    if not terms:
        return None
    return Q(kind=rule.kind) & reduce(operator.or_, terms)


def alerts_evaluate(*, patient: Patient, measurements: QuerySet[Measurement]) -> list[Alert]:
    """Raise alerts for stored readings (`measurements`, the patient's readings just stored)
    that cross the patient's rules: per rule one alert, on its newest crossing reading, unless
    the rule's alert is still open.

    One query per rule for its newest crossing reading, in the database: an import evaluates
    100,000s of readings, which would otherwise each become a model instance.
    """
    rules = [
        r
        for r in effective_rules(clinic_id=patient.clinic_id, patient=patient)
        if r.rule_type != RuleType.NO_READING
    ]
    newest: dict[int, Measurement] = {}
    for rule in rules:
        crosses = crossing(rule)
        if crosses is None:
            continue
        measurement = measurements.filter(crosses).order_by("-measured_at").first()
        if measurement is not None:
            newest[rule.pk] = measurement
    if not newest:
        return []
    already_open = set(
        open_alerts(clinic_id=patient.clinic_id, patient=patient)
        .filter(rule_id__in=newest)
        .values_list("rule_id", flat=True)
    )
    by_id = {r.pk: r for r in rules}
    alerts = [
        Alert(
            clinic_id=patient.clinic_id,
            patient=patient,
            rule=by_id[rule_id],
            kind=m.kind,
            rule_type=by_id[rule_id].rule_type,
            measurement=m,
            detail=describe_value(m)[:200],
        )
        for rule_id, m in newest.items()
        if rule_id not in already_open
    ]
    return [alert for alert in alerts if alert_raise(alert)]


def alert_raise(alert: Alert) -> bool:
    """Insert `alert` unless its rule (or, raised without a rule, its kind) has an open alert
    for the patient; whether it did.

    A check before it is only a shortcut: another evaluation (an import and a manual reading at
    once, a retried task, two days logged at once) may insert between the check and this. The
    constraint decides, in a savepoint, so the caller's transaction goes on either way.
    """
    try:
        with transaction.atomic():
            alert.save(force_insert=True)
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) not in (ONE_OPEN_PER_RULE, ONE_OPEN_PER_KIND):
            raise
        return False
    return True


def alerts_check_missing_readings(*, clinic_id: int, now: datetime.datetime | None = None) -> int:
    """Raise 'no reading for N days' alerts for the clinic's patients (the daily beat task)."""
    now = now or timezone.now()
    raised = 0
    # The clinic's no-reading rules, read once; each patient's effective ones derived from them.
    rules = list(
        ThresholdRule.objects.for_clinic(clinic_id).filter(
            is_active=True, rule_type=RuleType.NO_READING, days__isnull=False
        )
    )
    if not rules:
        return 0
    patients = Patient.objects.for_clinic(clinic_id).filter(user__isnull=False)
    # The newest reading per patient and kind, kept by the database (not a GROUP BY over
    # every reading the clinic has).
    last_by_kind = {
        (patient_id, kind): measured_at
        for patient_id, kind, measured_at in LatestReading.objects.for_clinic(
            clinic_id
        ).values_list("patient_id", "kind", "measured_at")
    }
    for patient in patients:
        for rule in _effective_for(rules, patient.pk):
            last = last_by_kind.get((patient.pk, rule.kind))
            if last is not None and now - last <= datetime.timedelta(days=rule.days):
                continue
            if open_alerts(clinic_id=clinic_id, patient=patient).filter(rule=rule).exists():
                continue
            alert = Alert(
                clinic_id=clinic_id,
                patient=patient,
                rule=rule,
                kind=rule.kind,
                rule_type=rule.rule_type,
                detail="",
                raised_at=now,
            )
            raised += alert_raise(alert)
    return raised


# --- writes ------------------------------------------------------------------------------------


def _validate_rule(kind: str, rule_type: str, fields: dict) -> None:
    if kind not in KINDS:
        raise ValidationError(_("Unknown kind of measurement."))
    if rule_type in (RuleType.UPPER, RuleType.LOWER):
        if fields.get("limit") is None and fields.get("limit_diastolic") is None:
            raise ValidationError(_("Enter a limit."))
        if kind != BLOOD_PRESSURE and fields.get("limit_diastolic") is not None:
            raise ValidationError(_("A diastolic limit applies to blood pressure only."))
    elif rule_type == RuleType.CHANGE:
        if not fields.get("max_change") or fields["max_change"] <= 0:
            raise ValidationError(_("Enter the largest allowed change, above zero."))
    elif rule_type == RuleType.NO_READING:
        if not fields.get("days") or fields["days"] < 1:
            raise ValidationError(_("Enter a number of days, at least 1."))
    else:
        raise ValidationError(_("Unknown rule."))


def _baseline_now(patient: Patient, kind: str) -> Decimal | None:
    since = timezone.now() - datetime.timedelta(days=BASELINE_DAYS)
    field = "systolic" if kind == BLOOD_PRESSURE else "value"
    mean = (
        Measurement.objects.for_clinic(patient.clinic_id)
        .filter(patient=patient, kind=kind, measured_at__gte=since)
        .aggregate(mean=Avg(field))["mean"]
    )
    return None if mean is None else Decimal(mean).quantize(Decimal("0.01"))


@transaction.atomic
def rule_create(
    *,
    clinic: Clinic,
    actor: User,
    patient: Patient | None,
    kind: str,
    rule_type: str,
    limit: Decimal | None = None,
    limit_diastolic: Decimal | None = None,
    baseline: Decimal | None = None,
    max_change: Decimal | None = None,
    days: int | None = None,
) -> ThresholdRule:
    """A new rule replaces the same kind and type for the patient (or the clinic default)."""
    fields = {"limit": limit, "limit_diastolic": limit_diastolic, "max_change": max_change,
              "days": days}  # fmt: skip
    _validate_rule(kind, rule_type, fields)
    if rule_type == RuleType.CHANGE and baseline is None:
        if patient is None:
            raise ValidationError(_("A clinic-wide change rule needs a baseline value."))
        baseline = _baseline_now(patient, kind)
        if baseline is None:
            raise ValidationError(
                _("There are no readings of the last %(days)s days to take as baseline: "
                  "enter one.") % {"days": BASELINE_DAYS}
            )  # fmt: skip
    ThresholdRule.objects.for_clinic(clinic).filter(
        patient=patient, kind=kind, rule_type=rule_type, is_active=True
    ).update(is_active=False)
    return ThresholdRule.objects.create(
        clinic=clinic, patient=patient, kind=kind, rule_type=rule_type, baseline=baseline,
        created_by=actor, **fields,
    )  # fmt: skip


@transaction.atomic
def rule_deactivate(*, clinic: Clinic, actor: User, rule: ThresholdRule) -> None:
    ThresholdRule.objects.for_clinic(clinic).filter(pk=rule.pk).update(is_active=False)


@transaction.atomic
def alert_acknowledge(*, clinic: Clinic, actor: User, alert: Alert) -> Alert:
    alert = Alert.objects.for_clinic(clinic).select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is None:
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = actor
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
