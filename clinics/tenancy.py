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

import functools
from typing import TYPE_CHECKING, TypeVar

from django.db import connection, models
from django.http import Http404, HttpRequest, HttpResponse

from portal.rows import ModelColumns, model_columns

if TYPE_CHECKING:
    from clinics.models import Clinic, Membership, User

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
        request._active_memberships, request._has_patient_records = (
            _signed_in_read(request.user) if request.user.is_authenticated else ([], False)
        )
    return request._active_memberships


def has_patient_records(request: HttpRequest) -> bool:
    """Whether the signed-in user is a patient of some clinic: read with the memberships, once
    a request (the navigation, the patients-only pages and the home page all ask)."""
    active_memberships(request)
    return request._has_patient_records


def _signed_in_read(user: User) -> tuple[list[Membership], bool]:
    """The user's active memberships with their clinics, and whether they have patient records,
    in one hand-written statement. Every signed-in request runs it: built by the ORM it cost
    four times the statement (1.7 ms against 0.4 here), more than any other part of a request
    before its view."""
    sql, membership_columns, clinic_columns = signed_in_statement(user.memberships.model)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"user": user.pk})
        rows = cursor.fetchall()
    split = 1 + membership_columns.width
    memberships = []
    for row in rows:
        if row[1] is None:  # the LEFT JOIN's one row for a user without memberships
            continue
        membership = membership_columns.build(row[1:split])
        membership.clinic = clinic_columns.build(row[split:])
        memberships.append(membership)
    return memberships, rows[0][0]


@functools.cache
def signed_in_statement(
    membership_model: type[Membership],
) -> tuple[str, ModelColumns, ModelColumns]:
    """The statement of `_signed_in_read` (the benchmark's floors run it too), built once from
    the models' own metadata. "Active" is `MembershipQuerySet.active()` (the membership and its
    user active); a test holds the two to the same rows. It always answers a row: the first
    column says whether the user has patient records, the others are empty without a
    membership."""
    clinic_model = membership_model._meta.get_field("clinic").related_model
    user_model = membership_model._meta.get_field("user").related_model
    patient_model = user_model._meta.get_field("patient_records").related_model
    membership_columns = model_columns(membership_model, "m")
    clinic_columns = model_columns(clinic_model, "c")
    quote = connection.ops.quote_name
    sql = f"""
        SELECT EXISTS (
                   SELECT 1 FROM {quote(patient_model._meta.db_table)} p
                   WHERE p.{quote(patient_model._meta.get_field("user").column)} = %(user)s
               ),
               {membership_columns.sql}, {clinic_columns.sql}
        FROM (SELECT 1) AS one
        LEFT JOIN ({quote(membership_model._meta.db_table)} m
                   JOIN {quote(clinic_model._meta.db_table)} c ON c.id = m.clinic_id
                   JOIN {quote(user_model._meta.db_table)} u ON u.id = m.user_id AND u.is_active)
               ON m.user_id = %(user)s AND m.is_active
        ORDER BY c.name"""  # noqa: S608 - names from the models' metadata, the user a parameter
    return sql, membership_columns, clinic_columns


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
