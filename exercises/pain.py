"""The pain rule: a professional is flagged when a patient's pain during their program rises.

Raised as a patients `Alert` of kind PAIN_ALERT_KIND (registered from hooks.py), so it shows on
the dashboard and the record's attention panel like a measurement's alert and is acknowledged
the same way. Two triggers, judged on the pain scores (NPRS 0-10) the patient logged:
- HIGH: the three most recent scores are all 7 or more;
- RISE: the mean of the three most recent scores is 3 or more above the mean of the program's
  first week (at least two scores in that week, and the recent ones all after it).
One open pain alert per patient at a time (a constraint, patients.ONE_OPEN_PER_KIND): a new one
is raised only once it is acknowledged.
"""

from __future__ import annotations

import datetime
from statistics import mean

from django.utils.translation import gettext_lazy as _

from exercises.models import Program, SessionLog
from patients.measurements.alerts import alert_raise
from patients.models import Alert, AlertKind, RuleType

PAIN_ALERT_KIND = "exercise_pain"
PAIN_ALERT = AlertKind(
    label=_("Pain during exercises"),
    rule_text=_("pain 7 or more in the last 3 sessions, or 3 points above the first week's mean"),
)
HIGH_PAIN = 7
RECENT_SESSIONS = 3
RISE = 3


def pain_alert_evaluate(program: Program) -> Alert | None:
    """Raise the patient's pain alert if a trigger holds and none is open; the alert or None."""
    if Alert.objects.filter(
        clinic_id=program.clinic_id,
        patient_id=program.patient_id,
        kind=PAIN_ALERT_KIND,
        acknowledged_at__isnull=True,
    ).exists():
        return None
    scores = list(
        SessionLog.objects.filter(program=program, pain__isnull=False)
        .order_by("-day")
        .values_list("day", "pain")[:RECENT_SESSIONS]
    )
    if len(scores) < RECENT_SESSIONS:
        return None
    recent = [pain for _day, pain in scores]
    if min(recent) >= HIGH_PAIN:
        return _raise(
            program, RuleType.UPPER, "NPRS " + ", ".join(str(p) for p in reversed(recent))
        )
    start = program.versions.order_by("number").values_list("start_date", flat=True).first()
    first_week_end = start + datetime.timedelta(days=6)
    if min(day for day, _pain in scores) <= first_week_end:
        return None
    first_week = list(
        SessionLog.objects.filter(
            program=program, pain__isnull=False, day__gte=start, day__lte=first_week_end
        ).values_list("pain", flat=True)
    )
    if len(first_week) < 2:
        return None
    baseline, now = mean(first_week), mean(recent)
    if now - baseline >= RISE:
        return _raise(program, RuleType.CHANGE, f"NPRS {baseline:.1f} → {now:.1f}")
    return None


def _raise(program: Program, rule_type: str, detail: str) -> Alert | None:
    """The alert, or None when another evaluation raised one first (the constraint decides:
    one open alert of a kind without a rule per patient)."""
    alert = Alert(
        clinic_id=program.clinic_id,
        patient_id=program.patient_id,
        rule=None,
        kind=PAIN_ALERT_KIND,
        rule_type=rule_type,
        detail=detail,
    )
    return alert if alert_raise(alert) else None
