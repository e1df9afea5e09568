"""Patient records: the clinic's list and record pages (staff) and the patient's own pages."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from clinics.forms import AccessLogFilterForm
from clinics.models import AccessPart, Role
from patients.forms import PatientForm, PatientInviteForm, PatientSearchForm
from patients.kinds import KINDS
from patients.measurements.alerts import Triage
from patients.measurements.selectors import DASHBOARD_KINDS, dashboard_summaries
from patients.overview import overview_panels
from patients.record_access import (
    RecordCreated,
    Scope,
    patient_only,
    staff_patient_list,
    staff_record,
    staff_record_create,
)
from patients.selectors import (
    access_log_for_patient_user,
    account_link_of,
    dashboard_patients,
    patient_list,
    patient_records_of_user,
    pending_invitation_of,
)
from patients.services import patient_create, patient_invite, patient_update
from portal.http import posted_data
from portal.qr import qr_data_uri

RECORD_ROLES = (Role.CLINIC_ADMIN, Role.PROFESSIONAL)


def _list_part(request: HttpRequest) -> AccessPart:
    # Measurements and alerts are medical data: only professionals see them on the list.
    if request.membership.role == Role.PROFESSIONAL:
        return AccessPart.MEASUREMENTS
    return AccessPart.PROFILE


@staff_patient_list(*RECORD_ROLES, part=_list_part)
def patient_list_view(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    search = filters.get("q", "").strip()
    shows_measurements = _list_part(request) == AccessPart.MEASUREMENTS
    triage = Triage.for_clinic(request.clinic.pk) if shows_measurements else None
    if triage is not None:
        only_with_alerts = filters.get("alerts", False)
        patients = dashboard_patients(
            clinic=request.clinic,
            triage=triage,
            search=search,
            only_with_alerts=only_with_alerts,
            sort=filters.get("sort") or "attention",
        )
        page = patients.page(request.GET.get("page"), per_page=25)
    else:
        paginator = Paginator(patient_list(clinic=request.clinic, search=search), 25)
        page = paginator.get_page(request.GET.get("page"))
    shown = list(page)
    summaries = (
        dashboard_summaries(clinic_id=request.clinic.pk, patients=shown, triage=triage)
        if triage is not None
        else {}
    )
    query = request.GET.copy()
    query.pop("page", None)
    return TemplateResponse(
        request,
        "patients/patient_list.html",
        {
            "form": form,
            "page": page,
            "search": search,
            "patients_shown": shown,
            "rows": [(p, summaries.get(p.pk)) for p in shown],
            "shows_measurements": shows_measurements,
            "dashboard_kinds": [KINDS[code] for code in DASHBOARD_KINDS],
            "query": query.urlencode(),
        },
    )


@staff_record_create(*RECORD_ROLES, part=AccessPart.PROFILE)
def patient_create_view(request: HttpRequest) -> HttpResponse:
    form = PatientForm(posted_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_create(clinic=request.clinic, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return RecordCreated(patient, reverse("patients:detail", args=[patient.pk]))
    return render(request, "patients/patient_form.html", {"form": form})


@staff_record(Role.PROFESSIONAL, part=AccessPart.MEASUREMENTS)
def patient_overview(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The record's home page for a professional: its panels (measurements, alerts, imports and
    what later features register); contact details are one click away (`patient_detail`)."""
    return render(
        request,
        "patients/patient_overview.html",
        {
            "scope": scope,
            "patient": scope.patient,
            "panels": overview_panels(request, scope),
        },
    )


@staff_record(*RECORD_ROLES, part=AccessPart.PROFILE)
def patient_detail(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": scope.patient,
            "invitation": pending_invitation_of(clinic=request.clinic, patient=scope.patient),
            "account_link": account_link_of(clinic=request.clinic, patient=scope.patient),
            "invite_form": PatientInviteForm(),
        },
    )


@staff_record(*RECORD_ROLES, part=AccessPart.PROFILE)
def patient_edit(request: HttpRequest, scope: Scope) -> HttpResponse:
    patient = scope.patient
    form = PatientForm(posted_data(request), instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient_update(
                clinic=request.clinic, actor=request.user, patient=patient, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The record has been saved."))
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@staff_record(*RECORD_ROLES, part=AccessPart.INVITATION)
def patient_invite_view(request: HttpRequest, scope: Scope) -> HttpResponse:
    """POST makes a new single-use invitation and shows its link and QR code once."""
    patient = scope.patient
    form = PatientInviteForm(posted_data(request), initial={"email": patient.email})
    if request.method == "POST" and form.is_valid():
        try:
            invitation, link = patient_invite(
                clinic=request.clinic,
                actor=request.user,
                patient=patient,
                email=form.cleaned_data["email"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(
                request,
                "patients/patient_invitation.html",
                {
                    "patient": patient,
                    "invitation": invitation,
                    "link": link,
                    "qr_code": qr_data_uri(link),
                },
            )
    return render(request, "patients/patient_invite.html", {"patient": patient, "form": form})


@patient_only
def my_records(request: HttpRequest) -> HttpResponse:
    """The patient's own records, one per clinic that invited them."""
    return render(
        request, "patients/my_records.html", {"records": patient_records_of_user(user=request.user)}
    )


@patient_only
def my_access_log(request: HttpRequest) -> HttpResponse:
    """Who accessed my record, when and from where (NEN 7513: the patient sees their own)."""
    form = AccessLogFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = access_log_for_patient_user(
        user=request.user, since=filters.get("since"), until=filters.get("until")
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "patients/my_access_log.html", {"form": form, "page": page})
