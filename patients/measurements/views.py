"""Measurement pages, for a professional (any patient of the active clinic, access logged) and for
the patient (their own record). Both share one implementation; only how the record is found, who
may enter data and the URL names differ (`Scope`)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from clinics.models import AccessAction, AccessPart, Role
from patients.kinds import BLOOD_PRESSURE, KINDS
from patients.measurements.alerts import open_alerts
from patients.measurements.charts import chart_and_stats
from patients.measurements.fhir_export import measurements_bundle
from patients.measurements.forms import MeasurementForm, PeriodForm
from patients.measurements.home_bp import esh_home_average
from patients.measurements.selectors import (
    DEFAULT_PERIOD,
    latest_per_kind,
    period_start,
    readings,
)
from patients.measurements.services import measurement_record
from patients.models import Alert, Measurement
from patients.record_access import Scope, own_record, staff_record
from portal.http import CountedPaginator, posted_data

# --- the measurement page --------------------------------------------------------------------


def _page(request: HttpRequest, scope: Scope) -> HttpResponse:
    filters = PeriodForm(request.GET or None)
    latest = latest_per_kind(patient=scope.patient)
    kind = filters.kind_or(BLOOD_PRESSURE if BLOOD_PRESSURE in latest else next(iter(latest), ""))
    period = filters.period_or(DEFAULT_PERIOD)
    since = period_start(period)
    context = {
        "scope": scope,
        "patient": scope.patient,
        "latest": [(KINDS[k], m) for k, m in latest.items() if k in KINDS],
        "kind": KINDS.get(kind),
        "period": period,
        "periods": filters.fields["period"].choices,
        "alerts": _shown_alerts(scope),
    }
    if kind in KINDS:
        chart, stats = chart_and_stats(patient=scope.patient, kind=kind, since=since)
        rows = readings(patient=scope.patient, kind=kind, since=since)
        context |= {
            "chart": chart,
            "stats": stats,
            # The period's count is known from the statistics: no COUNT query for the pages.
            "page": CountedPaginator(rows, 50, count=stats.count).get_page(request.GET.get("page")),
            "home_average": esh_home_average(patient=scope.patient)
            if kind == BLOOD_PRESSURE
            else None,
        }
    return render(request, "patients/measurement_list.html", context)


def _shown_alerts(scope: Scope) -> list[Alert]:
    """Open alerts, for professionals only (part of the measurements the page logs)."""
    if not scope.is_staff:
        return []
    return list(open_alerts(clinic_id=scope.patient.clinic_id, patient=scope.patient))


@staff_record(Role.PROFESSIONAL, part=AccessPart.MEASUREMENTS)
def measurements(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _page(request, scope)


@own_record
def my_measurements(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _page(request, scope)


# --- manual entry ----------------------------------------------------------------------------


def _add(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = MeasurementForm(posted_data(request), initial=MeasurementForm.initial_now())
    if request.method == "POST" and form.is_valid():
        try:
            measurement_record(
                clinic=scope.patient.clinic,
                actor=request.user,
                patient=scope.patient,
                reading=form.cleaned_data["reading"],
                source=scope.source,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The measurement has been saved."))
            kind = form.cleaned_data["kind"]
            return redirect(f"{scope.url('measurements')}?kind={kind}")
    return render(
        request,
        "patients/measurement_form.html",
        {"scope": scope, "patient": scope.patient, "form": form},
    )


@staff_record(Role.PROFESSIONAL, part=AccessPart.MEASUREMENTS, write=AccessAction.CREATE)
def measurement_add(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _add(request, scope)


@own_record
def my_measurement_add(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _add(request, scope)


# --- FHIR export -----------------------------------------------------------------------------


def _fhir_download(scope: Scope) -> HttpResponse:
    bundle = measurements_bundle(
        patient=scope.patient,
        measurements=Measurement.objects.for_clinic(scope.patient.clinic_id)
        .filter(patient=scope.patient)
        .order_by("measured_at"),
    )
    response = JsonResponse(bundle, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/fhir+json; charset=utf-8"
    filename = f"measurements-{scope.patient.pk}.fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_record(Role.PROFESSIONAL, part=AccessPart.MEASUREMENTS, read=AccessAction.EXPORT)
def fhir_export(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _fhir_download(scope)


@own_record
def my_fhir_export(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _fhir_download(scope)
