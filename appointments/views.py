"""Appointments' pages.

- The clinic's professionals and admins (not its counsellors): a record's appointments, plan,
  change, cancel. Each is a staff page of the record (`staff_record`, part APPOINTMENTS): one
  access-log entry per request, which the patient sees in "who looked at my record".
- The patient (`own_record`): their appointments per record, each as an .ics download, and
  the private calendar feed link: made (shown once), made again (the old one ends) or ended.
- The feed itself, public: calendar apps cannot sign in, so the secret in its URL is the
  credential. An unknown, revoked or unlinked token is the site's ordinary 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from appointments import ics
from appointments.forms import AppointmentForm
from appointments.selectors import (
    appointment_get,
    appointment_professionals,
    appointments_split,
    calendar_feed_by_token,
    calendar_feed_of,
    feed_appointments,
)
from appointments.services import (
    appointment_cancel,
    appointment_plan,
    appointment_update,
    calendar_feed_issue,
    calendar_feed_revoke,
)
from appointments.times import local
from clinics.access import public
from clinics.models import AccessPart, Role
from patients.record_access import Scope, own_record, staff_record
from portal.http import posted_data

STAFF_ROLES = (Role.CLINIC_ADMIN, Role.PROFESSIONAL)
appointments_record = staff_record(*STAFF_ROLES, part=AccessPart.APPOINTMENTS)


# --- the clinic's professionals and admins ------------------------------------------------------


def _list_url(scope: Scope) -> str:
    return reverse("appointments:list", kwargs={"patient_id": scope.patient.pk})


@appointments_record
def appointment_list(request: HttpRequest, scope: Scope) -> HttpResponse:
    return render(
        request,
        "appointments/appointment_list.html",
        {
            "patient": scope.patient,
            "appointments": appointments_split(clinic=request.clinic, patient=scope.patient),
            "sees_overview": request.membership.role == Role.PROFESSIONAL,
        },
    )


@appointments_record
def appointment_create(request: HttpRequest, scope: Scope) -> HttpResponse:
    professionals = appointment_professionals(clinic=request.clinic)
    form = AppointmentForm(posted_data(request), professionals=professionals)
    if request.method == "POST" and form.is_valid():
        try:
            appointment_plan(
                clinic=request.clinic, actor=request.user, patient=scope.patient,
                **_appointment_fields(form),
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The appointment has been planned."))
            return redirect(_list_url(scope))
    return render(
        request, "appointments/appointment_form.html", {"form": form, "patient": scope.patient}
    )


@appointments_record
def appointment_edit(request: HttpRequest, scope: Scope, appointment_id: int) -> HttpResponse:
    appointment = appointment_get(
        clinic=request.clinic, patient=scope.patient, appointment_id=appointment_id
    )
    form = AppointmentForm(
        posted_data(request),
        professionals=appointment_professionals(clinic=request.clinic),
        initial=AppointmentForm.initial_for(appointment),
    )
    if request.method == "POST" and form.is_valid():
        try:
            appointment_update(
                clinic=request.clinic, actor=request.user, appointment=appointment,
                **_appointment_fields(form),
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The appointment has been changed."))
            return redirect(_list_url(scope))
    return render(
        request,
        "appointments/appointment_form.html",
        {"form": form, "patient": scope.patient, "appointment": appointment},
    )


@require_POST
@appointments_record
def appointment_cancel_view(
    request: HttpRequest, scope: Scope, appointment_id: int
) -> HttpResponse:
    appointment = appointment_get(
        clinic=request.clinic, patient=scope.patient, appointment_id=appointment_id
    )
    appointment_cancel(clinic=request.clinic, actor=request.user, appointment=appointment)
    messages.success(request, _("The appointment has been cancelled."))
    return redirect(_list_url(scope))


def _appointment_fields(form: AppointmentForm) -> dict:
    data = form.cleaned_data
    names = ("starts_at", "duration_minutes", "professional", "location", "video_url", "note")
    return {name: data[name] for name in names}


# --- the patient --------------------------------------------------------------------------------


def _my_page(request: HttpRequest, scope: Scope, *, feed_url: str = "") -> HttpResponse:
    patient = scope.patient
    return render(
        request,
        "appointments/my_appointments.html",
        {
            "patient": patient,
            "clinic": patient.clinic,
            "appointments": appointments_split(clinic=patient.clinic_id, patient=patient),
            "has_feed": calendar_feed_of(clinic=patient.clinic_id, patient=patient) is not None,
            "feed_url": feed_url,
        },
    )


@own_record
def my_appointments(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _my_page(request, scope)


@own_record
def my_appointment_ics(request: HttpRequest, scope: Scope, appointment_id: int) -> HttpResponse:
    """One appointment as an .ics file for the patient's calendar (no note in it)."""
    patient = scope.patient
    appointment = appointment_get(
        clinic=patient.clinic, patient=patient, appointment_id=appointment_id
    )
    body = ics.appointment_ics(appointment, clinic=patient.clinic, language=get_language())
    response = HttpResponse(body, content_type=ics.CONTENT_TYPE)
    day = local(appointment.starts_at).date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="appointment-{day}.ics"'
    return response


@require_POST
@own_record
def my_feed_issue(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Make the record's feed link (again: the earlier one stops working) and show it, once."""
    patient = scope.patient
    _feed, token = calendar_feed_issue(
        clinic=patient.clinic, actor=request.user, patient=patient, language=get_language()
    )
    feed_url = request.build_absolute_uri(reverse("appointments:feed", kwargs={"token": token}))
    return _my_page(request, scope, feed_url=feed_url)


@require_POST
@own_record
def my_feed_revoke(request: HttpRequest, scope: Scope) -> HttpResponse:
    patient = scope.patient
    if calendar_feed_revoke(clinic=patient.clinic, actor=request.user, patient=patient):
        messages.success(request, _("The calendar link has been stopped."))
    return redirect("appointments:my_list", record_id=patient.pk)


# --- the calendar feed (public: the token is the credential) -------------------------------------


@public
@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    calendar_feed = calendar_feed_by_token(token)
    if calendar_feed is None:
        raise Http404
    body = ics.feed_ics(
        feed_appointments(feed=calendar_feed),
        clinic=calendar_feed.clinic,
        language=calendar_feed.language,
    )
    response = HttpResponse(body, content_type=ics.CONTENT_TYPE)
    # Nothing keeps a copy on the way, no search engine lists it, and a link followed from a
    # calendar app does not carry the secret URL to another site.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
