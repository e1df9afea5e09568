"""The record-access door: how a view reaches a patient record, declared once per view.

Invariants:
- A view of a patient record declares what it does with it by its decorator: `staff_record`
  (a professional's or admin's page of one record, URL parameter `patient_id`), `own_record`
  (the patient's own record, `record_id`), `staff_patient_list` (a page listing patients) or
  `staff_record_create`. The decorator is also the view's access policy (clinics.access), so a
  page cannot declare one without the other.
- Staff pages: the patient is fetched through tenancy (`get_for_clinic_or_404`: another clinic's
  record is a 404, like a missing one) and exactly one access-log entry is written for the
  request, with the declared record part, before the view runs (so an attempt that fails later
  is logged too). The view receives a `Scope`, never a bare id.
- List pages return a TemplateResponse whose context names the `patients_shown`; the door logs
  one entry per patient shown, as one multi-row INSERT. A list that forgets to name them fails.
- A refused attempt on a staff record URL (another clinic's or a missing record: 404; a role
  that may not see the page: 403) is logged too, with the outcome "denied", in the log of the
  clinic the user works in, naming the number asked for but no record.
- The patient's own pages are not logged: the log records access by others (NEN 7513).
- No view calls the access-log writer (clinics.access_log) itself. tests/test_record_access.py
  walks the URL resolver: every staff URL under a patient record must declare its access and
  write exactly one entry with its part, so a new page is covered without anyone remembering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, wraps
from typing import Literal

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from clinics.access import Check, Policy, View, clinic_roles_policy, declare
from clinics.access_log import access_log_record, access_log_record_many
from clinics.models import AccessAction, AccessOutcome, AccessPart, Role
from clinics.tenancy import get_for_clinic_or_404, has_patient_records
from patients.models import MeasurementSource, Patient

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _has_patient_records(request: HttpRequest) -> HttpResponse | None:
    if has_patient_records(request):
        return None
    raise PermissionDenied


PATIENT_ONLY = Policy("patient_only", _has_patient_records)
patient_only = declare(PATIENT_ONLY)


@dataclass(frozen=True)
class Scope:
    """Whose record a page shows, and for whom: staff of the patient's clinic or the patient.
    Pages shared by both take a Scope and differ only in what it says."""

    patient: Patient
    is_staff: bool

    def url(self, name: str, **kwargs: object) -> str:
        # Staff URLs name the clinic's patient, the patient's own URLs their record.
        if self.is_staff:
            return reverse(f"patients:{name}", kwargs={"patient_id": self.patient.pk, **kwargs})
        return reverse(f"patients:my_{name}", kwargs={"record_id": self.patient.pk, **kwargs})

    @cached_property  # a page asks for several of them: reversed once, not once per link
    def links(self) -> dict[str, str]:
        """The scope's measurement pages, for templates."""
        names = ("measurements", "measurement_add", "import_new", "fhir_export")
        return {name: self.url(name) for name in names}

    @property
    def source(self) -> MeasurementSource:
        """Who typed in a reading entered on this page."""
        if self.is_staff:
            return MeasurementSource.MANUAL_PROFESSIONAL
        return MeasurementSource.MANUAL_PATIENT


Kind = Literal["staff", "own", "list", "create"]


@dataclass(frozen=True)
class RecordAccess:
    """What a view declared; read by the door and by the generated tests."""

    kind: Kind
    part: AccessPart | None = None
    read: AccessAction = AccessAction.READ
    write: AccessAction = AccessAction.UPDATE

    def action_for(self, method: str) -> AccessAction:
        return self.read if method in SAFE_METHODS else self.write


def _declared(view: View, policy: Policy, access: RecordAccess) -> View:
    view = declare(policy)(view)
    view.record_access = access
    return view


def staff_record(
    *roles: Role,
    part: AccessPart,
    read: AccessAction = AccessAction.READ,
    write: AccessAction = AccessAction.UPDATE,
) -> Callable[[View], View]:
    """A staff page of one patient record: `view(request, scope, **other_url_kwargs)`."""
    access = RecordAccess("staff", part, read, write)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, patient_id: int, **kwargs: object) -> HttpResponse:
            try:
                patient = get_for_clinic_or_404(Patient, request.clinic, pk=patient_id)
            except Http404:
                _denied(request, access, patient_id)
                raise
            access_log_record(
                request=request,
                clinic=request.clinic,
                action=access.action_for(request.method),
                patient=patient,
                part=part,
            )
            return view(request, Scope(patient, is_staff=True), **kwargs)

        policy = clinic_roles_policy(*roles)
        logged_policy = Policy(policy.name, _denials_logged(policy, access), policy.roles)
        return _declared(wrapped, logged_policy, access)

    return decorator


def _denials_logged(policy: Policy, access: RecordAccess) -> Check:
    """The role check of a record page, with a refusal logged as a denied attempt (a
    counsellor or an admin trying a professional's page of a record)."""

    def check(request: HttpRequest) -> HttpResponse | None:
        try:
            return policy.check_signed_in(request)
        except PermissionDenied:
            match = request.resolver_match
            _denied(request, access, match.kwargs.get("patient_id") if match else None)
            raise

    return check


def _denied(request: HttpRequest, access: RecordAccess, patient_id: object) -> None:
    """A refused attempt on a record URL, in the log of the clinic the user works in: the
    requested number, never a link to a record the user may not see (another clinic's)."""
    if getattr(request, "clinic", None) is None:
        return  # nobody's clinic to log it in: no membership, or several and none chosen
    access_log_record(
        request=request,
        clinic=request.clinic,
        action=access.action_for(request.method),
        obj=Patient(pk=str(patient_id)[:64]),  # names the number asked for, fetches nothing
        part=access.part,
        outcome=AccessOutcome.DENIED,
    )


def own_record(view: View) -> View:
    """The patient's own record (one of theirs, in any clinic): `view(request, scope, ...)`."""

    @wraps(view)
    def wrapped(request: HttpRequest, record_id: int, **kwargs: object) -> HttpResponse:
        patient = get_object_or_404(
            Patient.objects.select_related("clinic"), pk=record_id, user=request.user
        )
        return view(request, Scope(patient, is_staff=False), **kwargs)

    return _declared(wrapped, PATIENT_ONLY, RecordAccess("own"))


PartFor = Callable[[HttpRequest], AccessPart]


def staff_patient_list(
    *roles: Role, part: PartFor, search_param: str = "q"
) -> Callable[[View], View]:
    """A staff page listing patients. The view returns a TemplateResponse with the patients it
    shows as `patients_shown`; each is logged (a search when `search_param` is given)."""
    access = RecordAccess("list")

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if not isinstance(response, TemplateResponse):
                return response
            if "patients_shown" not in (response.context_data or {}):
                raise ImproperlyConfigured(f"{view.__qualname__} does not name patients_shown.")
            shown = response.context_data["patients_shown"]
            searched = bool(request.GET.get(search_param, "").strip())
            action = AccessAction.SEARCH if searched else AccessAction.READ
            if shown:
                access_log_record_many(
                    request=request, clinic=request.clinic, action=action, patients=shown,
                    part=part(request),
                )  # fmt: skip
            elif searched:
                # A search that found nobody still looked for someone: the fact is kept, the
                # searched name is not.
                access_log_record(
                    request=request, clinic=request.clinic, action=action, part=AccessPart.NAME
                )
            return response

        return _declared(wrapped, clinic_roles_policy(*roles), access)

    return decorator


class RecordCreated(HttpResponseRedirect):
    """What a `staff_record_create` view answers once it made a record: where to go next, and
    which record it made, for the door to log."""

    def __init__(self, patient: Patient, redirect_to: str) -> None:
        super().__init__(redirect_to)
        self.patient = patient


def staff_record_create(*roles: Role, part: AccessPart) -> Callable[[View], View]:
    """A staff page that creates a record; its RecordCreated answer is logged as a creation."""
    access = RecordAccess("create", part, write=AccessAction.CREATE)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if isinstance(response, RecordCreated):
                access_log_record(
                    request=request,
                    clinic=request.clinic,
                    action=AccessAction.CREATE,
                    patient=response.patient,
                    part=part,
                )
            return response

        return _declared(wrapped, clinic_roles_policy(*roles), access)

    return decorator


def record_linked(request: HttpRequest, patient: Patient) -> None:
    """An account was linked to a record (a patient invitation accepted): logged in the record's
    clinic, so the clinic sees who linked which record and when (SECURITY.md T40)."""
    access_log_record(
        request=request,
        clinic=patient.clinic,
        action=AccessAction.LINK,
        patient=patient,
        part=AccessPart.INVITATION,
    )
