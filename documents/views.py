"""Documents on a patient record: the staff's pages and the patient's own, shared through the
record's `Scope` (patients.record_access).

- Staff (professionals and clinic admins; counsellors see no record) name the record by
  `patient_id` and go through `staff_record` with the part DOCUMENTS: every request, each
  download and each preview included, is its own access-log entry.
- The patient names their record by `record_id` (`own_record`, not logged): they see, preview
  and download the documents that are not staff-only, upload their own (never staff-only) and
  delete only what they uploaded themselves.
- Files go back only through `portal.private_files.file_response` (attachment, nosniff,
  private and not cached, byte ranges); only raster images may be previewed inline.
- Upload views declare their limit (`upload_limit`): a body over DOCUMENT_MAX_BYTES is
  refused with 413 before anything reads it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from clinics.models import AccessAction, AccessPart, Role
from documents.forms import DocumentUploadForm, StaffDocumentUploadForm, StaffOnlyForm
from documents.models import RecordDocument
from documents.selectors import document_get, document_list
from documents.services import document_delete, document_set_staff_only, document_upload
from patients.record_access import Scope, own_record, staff_record
from portal import private_files
from portal.http import posted_data
from portal.middleware import upload_limit

STAFF_ROLES = (Role.PROFESSIONAL, Role.CLINIC_ADMIN)
PAGE_SIZE = 25

staff_documents = staff_record(*STAFF_ROLES, part=AccessPart.DOCUMENTS)


def document_url(scope: Scope, name: str, **kwargs: object) -> str:
    """A documents URL of the scope: staff URLs name the clinic's patient, the patient's own
    URLs their record."""
    if scope.is_staff:
        return reverse(f"documents:{name}", kwargs={"patient_id": scope.patient.pk, **kwargs})
    return reverse(f"documents:my_{name}", kwargs={"record_id": scope.patient.pk, **kwargs})


# --- shared by both sides ------------------------------------------------------------------------


def _list(request: HttpRequest, scope: Scope) -> HttpResponse:
    page = Paginator(document_list(scope), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "documents/document_list.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "page": page,
            "rows": [(document, _links(scope, document)) for document in page],
            "upload_url": document_url(scope, "upload"),
        },
    )


def _links(scope: Scope, document: RecordDocument) -> dict[str, str]:
    names = ["detail", "download", "delete"]
    if scope.is_staff:
        names.append("staff_only")
    if document.is_inline_image:
        names.append("preview")
    return {name: document_url(scope, name, document_id=document.pk) for name in names}


def _upload(request: HttpRequest, scope: Scope) -> HttpResponse:
    form_class = StaffDocumentUploadForm if scope.is_staff else DocumentUploadForm
    form = form_class(posted_data(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = document_upload(
                clinic=scope.patient.clinic,
                actor=request.user,
                patient=scope.patient,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                is_staff_only=form.cleaned_data.get("staff_only", False),
                is_from_patient=not scope.is_staff,
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            messages.success(request, _("The document is added to the record."))
            return redirect(document_url(scope, "detail", document_id=document.pk))
    return render(
        request,
        "documents/document_upload.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "form": form,
            "max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
            "list_url": document_url(scope, "list"),
        },
    )


def _detail(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    document = document_get(scope, document_id)
    return render(
        request,
        "documents/document_detail.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "document": document,
            "links": _links(scope, document),
            "list_url": document_url(scope, "list"),
            "may_delete": scope.is_staff or document.is_deletable_by(request.user),
        },
    )


def _file(
    request: HttpRequest, scope: Scope, document_id: uuid.UUID, *, inline: bool
) -> HttpResponse:
    """The stored file: an attachment, or inline for a raster image's preview."""
    document = document_get(scope, document_id)
    if inline and not document.is_inline_image:
        raise Http404
    try:
        return private_files.file_response(
            request=request,
            name=document.stored_name,
            filename=document.original_filename,
            content_type=document.content_type,
            as_attachment=not inline,
        )
    except FileNotFoundError as exc:
        raise Http404 from exc


def _delete(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    document = document_get(scope, document_id)
    if not scope.is_staff and not document.is_deletable_by(request.user):
        raise Http404  # the patient deletes only their own uploads
    document_delete(clinic=scope.patient.clinic, document=document)
    messages.success(request, _("The document is deleted."))
    return redirect(document_url(scope, "list"))


# --- the clinic's staff --------------------------------------------------------------------------


@staff_documents
def document_list_view(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _list(request, scope)


@upload_limit("DOCUMENT_MAX_BYTES")
@staff_record(*STAFF_ROLES, part=AccessPart.DOCUMENTS, write=AccessAction.CREATE)
def document_upload_view(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _upload(request, scope)


@staff_documents
def document_detail(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    return _detail(request, scope, document_id)


@staff_record(*STAFF_ROLES, part=AccessPart.DOCUMENTS, read=AccessAction.EXPORT)
def document_download(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    return _file(request, scope, document_id, inline=False)


@staff_documents
def document_preview(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    return _file(request, scope, document_id, inline=True)


@require_POST
@staff_documents
def document_staff_only(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    """Hide a staff upload from the patient, or show it to them."""
    document = document_get(scope, document_id)
    form = StaffOnlyForm(request.POST)
    form.is_valid()  # a box: ticked or not, nothing to refuse
    is_staff_only = form.cleaned_data.get("staff_only", False)
    try:
        document_set_staff_only(
            clinic=request.clinic, document=document, is_staff_only=is_staff_only
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Only the clinic's staff see the document now.")
            if is_staff_only
            else _("The patient sees the document now."),
        )
    return redirect(document_url(scope, "detail", document_id=document.pk))


@require_POST
@staff_record(*STAFF_ROLES, part=AccessPart.DOCUMENTS, write=AccessAction.DELETE)
def document_delete_view(
    request: HttpRequest, scope: Scope, document_id: uuid.UUID
) -> HttpResponse:
    return _delete(request, scope, document_id)


# --- the patient ---------------------------------------------------------------------------------


@own_record
def my_document_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _list(request, scope)


@upload_limit("DOCUMENT_MAX_BYTES")
@own_record
def my_document_upload(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _upload(request, scope)


@own_record
def my_document_detail(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    return _detail(request, scope, document_id)


@own_record
def my_document_download(
    request: HttpRequest, scope: Scope, document_id: uuid.UUID
) -> HttpResponse:
    return _file(request, scope, document_id, inline=False)


@own_record
def my_document_preview(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    return _file(request, scope, document_id, inline=True)


@require_POST
@own_record
def my_document_delete(request: HttpRequest, scope: Scope, document_id: uuid.UUID) -> HttpResponse:
    return _delete(request, scope, document_id)
