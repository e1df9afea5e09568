"""Measurement pages, for a professional (any patient of the active clinic, access logged) and for
the patient (their own record). Both share one implementation; only how the record is found, who
may enter data and the URL names differ (`Scope`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.access import clinic_roles, patient_only
from clinics.models import AccessAction, AccessPart, Role
from patients.kinds import BLOOD_PRESSURE, KINDS
from patients.measurements.charts import chart_series
from patients.measurements.fhir_export import measurements_bundle
from patients.measurements.forms import ImportUploadForm, MeasurementForm, PeriodForm
from patients.measurements.selectors import (
    DEFAULT_PERIOD,
    latest_per_kind,
    period_start,
    period_stats,
    readings,
)
from patients.measurements.services import (
    import_cancel,
    import_check,
    import_commit,
    import_is_large,
    import_upload,
    measurement_record,
    progress_key,
)
from patients.models import ImportBatch, ImportStatus, Measurement, MeasurementSource, Patient
from patients.tasks import import_check_task, import_commit_task
from patients.views import staff_patient_or_404
from portal.http import posted_data


@dataclass(frozen=True)
class Scope:
    patient: Patient
    prefix: str  # "patients:" for staff pages, "patients:my_" for the patient's own
    source: MeasurementSource

    def url(self, name: str, **kwargs: object) -> str:
        # Staff URLs name the clinic's patient, the patient's own URLs their record.
        key = "patient_id" if self.is_staff else "record_id"
        return reverse(f"{self.prefix}{name}", kwargs={key: self.patient.pk, **kwargs})

    @property
    def links(self) -> dict[str, str]:
        """The scope's own pages, for templates."""
        names = ("measurements", "measurement_add", "import_new", "fhir_export")
        return {name: self.url(name) for name in names}

    @property
    def is_staff(self) -> bool:
        return self.prefix == "patients:"


def _staff_scope(request: HttpRequest, patient_id: int, action: AccessAction) -> Scope:
    patient = staff_patient_or_404(request, patient_id, action, AccessPart.MEASUREMENTS)
    return Scope(patient, "patients:", MeasurementSource.MANUAL_PROFESSIONAL)


def _own_scope(request: HttpRequest, record_id: int) -> Scope:
    patient = get_object_or_404(
        Patient.objects.select_related("clinic"), pk=record_id, user=request.user
    )
    return Scope(patient, "patients:my_", MeasurementSource.MANUAL_PATIENT)


# --- the measurement page --------------------------------------------------------------------


def _page(request: HttpRequest, scope: Scope) -> HttpResponse:
    filters = PeriodForm(request.GET or None)
    latest = latest_per_kind(patient=scope.patient)
    kind = filters.kind_or(BLOOD_PRESSURE if BLOOD_PRESSURE in latest else next(iter(latest), ""))
    period = filters.period_or(DEFAULT_PERIOD)
    since = period_start(period)
    rows = readings(patient=scope.patient, kind=kind, since=since) if kind else None
    return render(
        request,
        "patients/measurement_list.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "latest": [(KINDS[k], m) for k, m in latest.items() if k in KINDS],
            "kind": KINDS.get(kind),
            "period": period,
            "periods": filters.fields["period"].choices,
            "stats": period_stats(rows) if rows is not None else None,
            "page": Paginator(rows, 50).get_page(request.GET.get("page")) if rows else None,
            "chart": chart_series(patient=scope.patient, kind=kind, since=since)
            if kind in KINDS
            else None,
        },
    )


@clinic_roles(Role.PROFESSIONAL)
def measurements(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _page(request, _staff_scope(request, patient_id, AccessAction.READ))


@patient_only
def my_measurements(request: HttpRequest, record_id: int) -> HttpResponse:
    return _page(request, _own_scope(request, record_id))


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


@clinic_roles(Role.PROFESSIONAL)
def measurement_add(request: HttpRequest, patient_id: int) -> HttpResponse:
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.READ
    return _add(request, _staff_scope(request, patient_id, action))


@patient_only
def my_measurement_add(request: HttpRequest, record_id: int) -> HttpResponse:
    return _add(request, _own_scope(request, record_id))


# --- file import -----------------------------------------------------------------------------


def _upload(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = ImportUploadForm(posted_data(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = import_upload(
                clinic=scope.patient.clinic,
                actor=request.user,
                patient=scope.patient,
                upload=form.cleaned_data["file"],
                source=MeasurementSource.FILE_IMPORT,
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            if import_is_large(batch):
                ids = (batch.clinic_id, batch.pk)
                transaction.on_commit(lambda: import_check_task.delay(*ids))
            else:
                import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
            return redirect(scope.url("import_detail", batch_id=batch.pk))
    return render(
        request,
        "patients/import_form.html",
        {"scope": scope, "patient": scope.patient, "form": form},
    )


def _batch(scope: Scope, batch_id: int) -> ImportBatch:
    batch = (
        ImportBatch.objects.for_clinic(scope.patient.clinic_id)
        .filter(pk=batch_id, patient=scope.patient)
        .first()
    )
    if batch is None:
        raise Http404
    return batch


def _detail(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    batch = _batch(scope, batch_id)
    in_progress = batch.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
    return render(
        request,
        "patients/import_detail.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "batch": batch,
            "in_progress": in_progress,
            "processed": cache.get(progress_key(batch.pk), 0) if in_progress else None,
            "confirm_url": scope.url("import_confirm", batch_id=batch.pk),
            "cancel_url": scope.url("import_cancel", batch_id=batch.pk),
        },
    )


def _confirm(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    batch = _batch(scope, batch_id)
    if batch.status != ImportStatus.PREVIEWED or batch.rows_valid == 0:
        messages.error(request, _("There is nothing to import in this file."))
    elif import_is_large(batch):
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.QUEUED)
        ids = (batch.clinic_id, batch.pk)
        transaction.on_commit(lambda: import_commit_task.delay(*ids))
    else:
        import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)
    return redirect(scope.url("import_detail", batch_id=batch.pk))


def _cancel(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    import_cancel(clinic=scope.patient.clinic, batch=_batch(scope, batch_id))
    messages.info(request, _("The import has been cancelled; nothing was imported."))
    return redirect(scope.url("measurements"))


@clinic_roles(Role.PROFESSIONAL)
def import_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.READ
    return _upload(request, _staff_scope(request, patient_id, action))


@clinic_roles(Role.PROFESSIONAL)
def import_detail(request: HttpRequest, patient_id: int, batch_id: int) -> HttpResponse:
    return _detail(request, _staff_scope(request, patient_id, AccessAction.READ), batch_id)


@require_POST
@clinic_roles(Role.PROFESSIONAL)
def import_confirm(request: HttpRequest, patient_id: int, batch_id: int) -> HttpResponse:
    return _confirm(request, _staff_scope(request, patient_id, AccessAction.CREATE), batch_id)


@require_POST
@clinic_roles(Role.PROFESSIONAL)
def import_cancel_view(request: HttpRequest, patient_id: int, batch_id: int) -> HttpResponse:
    return _cancel(request, _staff_scope(request, patient_id, AccessAction.UPDATE), batch_id)


@patient_only
def my_import_new(request: HttpRequest, record_id: int) -> HttpResponse:
    return _upload(request, _own_scope(request, record_id))


@patient_only
def my_import_detail(request: HttpRequest, record_id: int, batch_id: int) -> HttpResponse:
    return _detail(request, _own_scope(request, record_id), batch_id)


@require_POST
@patient_only
def my_import_confirm(request: HttpRequest, record_id: int, batch_id: int) -> HttpResponse:
    return _confirm(request, _own_scope(request, record_id), batch_id)


@require_POST
@patient_only
def my_import_cancel(request: HttpRequest, record_id: int, batch_id: int) -> HttpResponse:
    return _cancel(request, _own_scope(request, record_id), batch_id)


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


@clinic_roles(Role.PROFESSIONAL)
def fhir_export(request: HttpRequest, patient_id: int) -> HttpResponse:
    return _fhir_download(_staff_scope(request, patient_id, AccessAction.EXPORT))


@patient_only
def my_fhir_export(request: HttpRequest, record_id: int) -> HttpResponse:
    return _fhir_download(_own_scope(request, record_id))
