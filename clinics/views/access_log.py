"""The clinic's access log (clinic admins): filter and CSV export. Viewing it is itself logged."""

import csv
import datetime

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinics.access import clinic_roles
from clinics.access_log import logs_access
from clinics.forms import AccessLogFilterForm
from clinics.models import AccessAction, AccessPart, Role
from clinics.selectors import access_log_list, clinic_staff_users

CSV_COLUMNS = [
    "occurred_at_utc",
    "user",
    "role",
    "action",
    "outcome",
    "patient_id",
    "object_type",
    "object_id",
    "part",
    "ip_address",
    "user_agent",
    "path",
]


def _filtered(request: HttpRequest):
    form = AccessLogFilterForm(request.GET or None, users=clinic_staff_users(clinic=request.clinic))
    filters = form.cleaned_data if form.is_valid() else {}
    entries = access_log_list(
        clinic=request.clinic,
        patient_id=filters.get("patient"),
        user_id=int(filters["user"]) if filters.get("user") else None,
        since=filters.get("since"),
        until=filters.get("until"),
    )
    return form, entries


@clinic_roles(Role.CLINIC_ADMIN)
@logs_access(AccessAction.LOG_ACCESS)
def access_log(request: HttpRequest) -> HttpResponse:
    form, entries = _filtered(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "clinics/access_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def csv_safe(value: object) -> str:
    """Neutralise spreadsheet formulas (=, +, -, @, tab, CR) in exported cells."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@clinic_roles(Role.CLINIC_ADMIN)
@logs_access(AccessAction.EXPORT, AccessPart.ACCESS_LOG)
def access_log_export(request: HttpRequest) -> HttpResponse:
    _form, entries = _filtered(request)
    entries = entries.select_related(None)  # the export writes numbers: decrypt no names
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    csv_safe(v)
                    for v in (
                        e.occurred_at.astimezone(datetime.UTC).isoformat(),
                        e.user_label,
                        e.role,
                        e.action,
                        e.outcome,
                        e.patient_id or "",
                        e.object_type,
                        e.object_id,
                        e.part,
                        e.ip_address or "",
                        e.user_agent,
                        e.path,
                    )
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    return response
