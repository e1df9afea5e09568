"""Threshold rules (per patient and clinic defaults) and alert acknowledgement: professionals."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.access import clinic_roles
from clinics.models import AccessPart, Role
from clinics.tenancy import get_for_clinic_or_404
from patients.measurements.alerts import (
    alert_acknowledge,
    effective_rules,
    rule_create,
    rule_deactivate,
)
from patients.measurements.forms import ThresholdRuleForm
from patients.models import Alert, ThresholdRule
from patients.record_access import Scope, staff_record
from portal.http import posted_data


def _rule_rows(rules: list[ThresholdRule]) -> list[tuple[ThresholdRule, str]]:
    return [(rule, rule.describe()) for rule in rules]


def _create_from(form: ThresholdRuleForm, request: HttpRequest, patient) -> bool:
    try:
        rule_create(clinic=request.clinic, actor=request.user, patient=patient, **form.cleaned_data)
    except ValidationError as exc:
        form.add_error(None, exc)
        return False
    messages.success(request, _("The rule has been saved."))
    return True


@staff_record(Role.PROFESSIONAL, part=AccessPart.ALERTS)
def patient_thresholds(request: HttpRequest, scope: Scope) -> HttpResponse:
    patient = scope.patient
    form = ThresholdRuleForm(posted_data(request))
    if request.method == "POST" and form.is_valid() and _create_from(form, request, patient):
        return redirect("patients:thresholds", patient_id=patient.pk)
    return render(
        request,
        "patients/thresholds.html",
        {
            "patient": patient,
            "form": form,
            "rules": _rule_rows(effective_rules(clinic_id=request.clinic.pk, patient=patient)),
        },
    )


@require_POST
@staff_record(Role.PROFESSIONAL, part=AccessPart.ALERTS)
def patient_threshold_remove(request: HttpRequest, scope: Scope, rule_id: int) -> HttpResponse:
    patient = scope.patient
    rule = get_for_clinic_or_404(ThresholdRule, request.clinic, pk=rule_id, patient=patient)
    rule_deactivate(clinic=request.clinic, actor=request.user, rule=rule)
    messages.success(request, _("The rule has been removed."))
    return redirect("patients:thresholds", patient_id=patient.pk)


@clinic_roles(Role.PROFESSIONAL)
def clinic_thresholds(request: HttpRequest) -> HttpResponse:
    """The clinic's default rules, for every patient without a rule of their own."""
    form = ThresholdRuleForm(posted_data(request))
    if request.method == "POST" and form.is_valid() and _create_from(form, request, None):
        return redirect("patients:clinic_thresholds")
    rules = ThresholdRule.objects.for_clinic(request.clinic).filter(
        patient__isnull=True, is_active=True
    )
    return render(
        request,
        "patients/thresholds.html",
        {"patient": None, "form": form, "rules": _rule_rows(list(rules))},
    )


@require_POST
@clinic_roles(Role.PROFESSIONAL)
def clinic_threshold_remove(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_for_clinic_or_404(ThresholdRule, request.clinic, pk=rule_id, patient=None)
    rule_deactivate(clinic=request.clinic, actor=request.user, rule=rule)
    messages.success(request, _("The rule has been removed."))
    return redirect("patients:clinic_thresholds")


@require_POST
@staff_record(Role.PROFESSIONAL, part=AccessPart.ALERTS)
def alert_ack(request: HttpRequest, scope: Scope, alert_id: int) -> HttpResponse:
    patient = scope.patient
    alert = get_for_clinic_or_404(Alert, request.clinic, pk=alert_id, patient=patient)
    alert_acknowledge(clinic=request.clinic, actor=request.user, alert=alert)
    messages.success(request, _("The alert has been acknowledged."))
    # Back where it was acknowledged: the overview or the measurement page (the default).
    back = (
        "patients:overview" if request.POST.get("back") == "overview" else "patients:measurements"
    )
    return redirect(back, patient_id=patient.pk)
