"""Tenancy: the one place that scopes data to a clinic.

Invariants:
- Every clinic-owned model inherits `ClinicOwnedModel`; every query on one starts from
  `Model.objects.for_clinic(clinic)`, child lookups included. A system check (clinics.checks)
  fails when a model has a `clinic` foreign key without inheriting it.
- Another clinic's object answers 404, exactly like a missing one: `get_for_clinic_or_404`.
- The active clinic comes from the user's active membership, chosen in the session and checked
  on every request by `ActiveClinicMiddleware`; nothing is read from thread-locals. Celery tasks
  receive `clinic_id` explicitly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db import models
from django.db.models import Exists
from django.http import Http404, HttpRequest, HttpResponse

if TYPE_CHECKING:
    from clinics.models import Clinic, Membership

ACTIVE_CLINIC_SESSION_KEY = "active_clinic_id"

M = TypeVar("M", bound=models.Model)


class ClinicQuerySet(models.QuerySet):
    def for_clinic(self, clinic: Clinic | int) -> ClinicQuerySet:
        clinic_id = clinic if isinstance(clinic, int) else clinic.pk
        if clinic_id is None:
            raise ValueError("for_clinic() needs a saved clinic.")
        return self.filter(clinic_id=clinic_id)


class ClinicOwnedModel(models.Model):
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.PROTECT, related_name="+")

    objects = ClinicQuerySet.as_manager()

    class Meta:
        abstract = True


def get_for_clinic_or_404(model: type[M], clinic: Clinic, **lookup: object) -> M:
    """This clinic's object, or 404: another clinic's object looks exactly like a missing one."""
    try:
        return model.objects.for_clinic(clinic).get(**lookup)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def active_membership(request: HttpRequest) -> Membership | None:
    """The user's membership in the clinic chosen in this session (or the only one they have)."""
    memberships = active_memberships(request)
    chosen = request.session.get(ACTIVE_CLINIC_SESSION_KEY)
    for membership in memberships:
        if membership.clinic_id == chosen:
            return membership
    return memberships[0] if len(memberships) == 1 else None


def active_memberships(request: HttpRequest) -> list[Membership]:
    """All of the user's active memberships, fetched once per request: the active clinic and
    the navigation's clinic switcher both need them."""
    if not hasattr(request, "_active_memberships"):
        user = request.user
        request._active_memberships = (
            list(
                # Through the user's relation: this module is below the models (they inherit
                # ClinicOwnedModel from it), so it never imports them.
                user.memberships.active()
                .select_related("clinic")
                # For the navigation's "my records" links, in the same query (every page).
                .annotate(user_has_patient_records=Exists(user.patient_records.all()))
            )
            if user.is_authenticated
            else []
        )
    return request._active_memberships


def clinic_set_active(request: HttpRequest, membership: Membership) -> None:
    request.session[ACTIVE_CLINIC_SESSION_KEY] = membership.clinic_id


class ActiveClinicMiddleware:
    """Sets `request.membership` and `request.clinic` (or None) from the active membership."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = active_membership(request)
        request.clinic = request.membership.clinic if request.membership else None
        return self.get_response(request)
