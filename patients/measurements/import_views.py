"""File imports on the measurement pages: upload, column choice, preview, confirm, cancel."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.models import AccessAction, AccessPart, Role
from patients.imports.base import ImportFormatError
from patients.imports.generic_csv import CsvHeader
from patients.measurements.forms import ImportMappingForm, ImportUploadForm
from patients.measurements.import_selectors import import_preview
from patients.measurements.services import (
    import_accepts_mapping,
    import_cancel,
    import_confirm,
    import_header,
    import_set_mapping,
    import_start,
    progress_key,
)
from patients.models import ImportBatch, ImportStatus, MeasurementSource
from patients.record_access import Scope, own_record, staff_record
from portal.http import posted_data
from portal.middleware import upload_limit

# --- file import -----------------------------------------------------------------------------


def _upload(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = ImportUploadForm(posted_data(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            batch = import_start(
                clinic=scope.patient.clinic,
                actor=request.user,
                patient=scope.patient,
                upload=form.cleaned_data["file"],
                source=MeasurementSource.FILE_IMPORT,
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            if batch.status == ImportStatus.NEEDS_MAPPING:
                return redirect(scope.url("import_mapping", batch_id=batch.pk))
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
    if batch.status == ImportStatus.NEEDS_MAPPING:
        return redirect(scope.url("import_mapping", batch_id=batch.pk))
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
            "preview": import_preview(batch=batch)
            if batch.status == ImportStatus.PREVIEWED
            else None,
            "confirm_url": scope.url("import_confirm", batch_id=batch.pk),
            "cancel_url": scope.url("import_cancel", batch_id=batch.pk),
            "mapping_url": scope.url("import_mapping", batch_id=batch.pk)
            if import_accepts_mapping(batch)
            else None,
        },
    )


def _mapping(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    """The columns of a CSV that is no known export: chosen here, then the usual preview."""
    batch = _batch(scope, batch_id)
    if not import_accepts_mapping(batch):
        return redirect(scope.url("import_detail", batch_id=batch.pk))
    try:
        header, problem = import_header(batch=batch), ""
    except ImportFormatError as exc:
        header, problem = CsvHeader([], "", []), str(exc)
    form = ImportMappingForm(
        posted_data(request),
        columns=header.columns,
        initial=ImportMappingForm.initial_for(batch.mapping),
    )
    if request.method == "POST" and not problem and form.is_valid():
        try:
            batch = import_set_mapping(
                clinic=scope.patient.clinic,
                actor=request.user,
                batch=batch,
                mapping=form.cleaned_data["mapping"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(scope.url("import_detail", batch_id=batch.pk))
    return render(
        request,
        "patients/import_mapping.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "batch": batch,
            "form": form,
            "problem": problem,
            "examples": _column_examples(header),
            "cancel_url": scope.url("import_cancel", batch_id=batch.pk),
        },
    )


def _column_examples(header: CsvHeader) -> list[tuple[str, list[str]]]:
    """Each column with its values in the first rows, so the user recognises what it holds."""
    return [
        (name, [row[i].strip() for row in header.sample_rows if i < len(row) and row[i].strip()])
        for i, name in enumerate(header.columns)
    ]


def _confirm(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    batch = _batch(scope, batch_id)
    try:
        import_confirm(clinic=scope.patient.clinic, actor=request.user, batch=batch)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(scope.url("import_detail", batch_id=batch.pk))


def _cancel(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    import_cancel(clinic=scope.patient.clinic, batch=_batch(scope, batch_id))
    messages.info(request, _("The import has been cancelled; nothing was imported."))
    return redirect(scope.url("measurements"))


@upload_limit("IMPORT_MAX_BYTES")
@staff_record(Role.PROFESSIONAL, part=AccessPart.IMPORT, write=AccessAction.CREATE)
def import_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _upload(request, scope)


@staff_record(Role.PROFESSIONAL, part=AccessPart.IMPORT)
def import_detail(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _detail(request, scope, batch_id)


@require_POST
@staff_record(Role.PROFESSIONAL, part=AccessPart.IMPORT, write=AccessAction.CREATE)
def import_confirm_view(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _confirm(request, scope, batch_id)


@require_POST
@staff_record(Role.PROFESSIONAL, part=AccessPart.IMPORT)
def import_cancel_view(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _cancel(request, scope, batch_id)


@staff_record(Role.PROFESSIONAL, part=AccessPart.IMPORT)
def import_mapping(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _mapping(request, scope, batch_id)


@own_record
def my_import_mapping(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _mapping(request, scope, batch_id)


@upload_limit("IMPORT_MAX_BYTES")
@own_record
def my_import_new(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _upload(request, scope)


@own_record
def my_import_detail(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _detail(request, scope, batch_id)


@require_POST
@own_record
def my_import_confirm(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _confirm(request, scope, batch_id)


@require_POST
@own_record
def my_import_cancel(request: HttpRequest, scope: Scope, batch_id: int) -> HttpResponse:
    return _cancel(request, scope, batch_id)
