"""NEN 7513 access log: the one writer of entries, and the door for clinic-level pages.

Invariants:
- Entries are appended, never changed or deleted by the application: the model and its
  queryset refuse it, the admin is read-only, and on PostgreSQL a trigger refuses UPDATE/DELETE.
- An entry records the fact, never the data: action, outcome, object type and id, the part of
  the record, who (user and role), for which clinic and patient, when (UTC), from where.
- Views never call the writer. Pages of a patient record declare their access with the
  record-access door (patients.record_access), which writes exactly one entry per request, or
  one per patient a list shows; clinic-level pages (the log itself) declare it with `logs_access`
  below. Only services that create a record without a request-bound page write directly.
- The operator's admin pages are a door too (`clinics.admin.OperatorLoggedAdmin`): every view,
  change, deletion and action on an account or the log is written by `access_log_record_operator`,
  one entry per clinic the account belongs to (as staff or as a patient, then with the patient),
  so each clinic sees what the operator did to its people; an entry without a clinic when it
  belongs to none (a platform-level entry, shown on no clinic page).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import wraps

from django.db import connection, models
from django.http import HttpRequest, HttpResponse

from clinics.models import (
    PATIENT_ROLE,
    AccessAction,
    AccessLogEntry,
    AccessOutcome,
    AccessPart,
    Clinic,
    Membership,
    User,
)
from clinics.security import client_ip, user_agent


def _entry(
    request: HttpRequest,
    clinic: Clinic | None,
    action: AccessAction,
    patient: models.Model | None,
    obj: models.Model | None,
    part: AccessPart | str,
    outcome: AccessOutcome,
) -> AccessLogEntry:
    user = request.user if request.user.is_authenticated else None
    membership = getattr(request, "membership", None)
    in_clinic = membership is not None and clinic is not None and membership.clinic_id == clinic.pk
    role = membership.role if in_clinic else ""
    if not role and user is not None and user.is_superuser:
        role = "superuser"
    elif not role and user is not None and user.is_staff:
        role = "operator"
    if not role and user is not None and getattr(patient, "user_id", None) == user.pk:
        role = PATIENT_ROLE
    target = obj if obj is not None else patient
    return AccessLogEntry(
        clinic=clinic,
        user=user,
        user_label=user.email if user is not None else "",
        role=role,
        patient=patient,
        action=action,
        outcome=outcome,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        part=part,
        ip_address=client_ip(request),
        user_agent=user_agent(request),
        path=request.path[:300],
    )


def access_log_record(
    *,
    request: HttpRequest,
    clinic: Clinic,
    action: AccessAction,
    patient: models.Model | None = None,
    obj: models.Model | None = None,
    part: AccessPart | str = "",
    outcome: AccessOutcome = AccessOutcome.SUCCESS,
) -> AccessLogEntry:
    entry = _entry(request, clinic, action, patient, obj, part, outcome)
    entry.save()
    return entry


# What every entry of one request shares; each patient shown adds its own id.
_PER_PATIENT = ("id", "patient", "object_type", "object_id")
_SHARED_FIELDS = [f for f in AccessLogEntry._meta.concrete_fields if f.name not in _PER_PATIENT]


def access_log_record_many(
    *,
    request: HttpRequest,
    clinic: Clinic,
    action: AccessAction,
    patients: Sequence[models.Model],
    part: AccessPart | str,
) -> int:
    """One entry per patient a page shows, written as one INSERT statement; the number written.

    One statement, not the ORM's bulk_create: building and saving 25 model instances in a
    transaction of their own cost the dashboard more than reading its data.
    """
    if not patients:
        return 0
    shared = _entry(request, clinic, action, None, None, part, AccessOutcome.SUCCESS)
    quote = connection.ops.quote_name
    columns = [f.column for f in _SHARED_FIELDS]
    columns += [AccessLogEntry._meta.get_field(name).column for name in _PER_PATIENT[1:]]
    values = [f.get_db_prep_save(getattr(shared, f.attname), connection) for f in _SHARED_FIELDS]
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(AccessLogEntry._meta.db_table)} "  # noqa: S608 - names from the model
            f"({', '.join(quote(c) for c in columns)}) "
            f"SELECT {placeholders}, p.id, %s, p.id::text FROM unnest(%s::bigint[]) AS p(id)",
            [*values, patients[0]._meta.label_lower, [patient.pk for patient in patients]],
        )
        return cursor.rowcount


# Where an operator entry lands: (clinic id or None, patient id or None).
Place = tuple[int | None, int | None]


def account_places(account: User) -> list[Place]:
    """The clinics an account belongs to: one place per clinic where it is staff (any membership,
    ended ones too) or a patient (then with the record); no clinic: one platform-level place."""
    places: dict[int, int | None] = dict.fromkeys(
        Membership.objects.filter(user=account).values_list("clinic_id", flat=True)
    )
    # Through the account's relation: the patient model lives in a layer above this one.
    for clinic_id, patient_id in account.patient_records.values_list("clinic_id", "id"):
        places[clinic_id] = patient_id
    return sorted(places.items()) or [(None, None)]


def access_log_record_operator(
    *,
    request: HttpRequest,
    action: AccessAction,
    places: Iterable[Place],
    obj: models.Model | None = None,
    part: AccessPart | str = "",
) -> list[AccessLogEntry]:
    """The operator's access in the admin site: one entry per place (see `account_places`)."""
    entries = []
    for clinic_id, patient_id in places:
        entry = _entry(request, None, action, None, obj, part, AccessOutcome.SUCCESS)
        entry.clinic_id, entry.patient_id = clinic_id, patient_id
        entries.append(entry)
    return AccessLogEntry.objects.bulk_create(entries)


def logs_access(
    action: AccessAction, part: AccessPart | str = ""
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Declare that a clinic-level page (no patient record) is itself logged, once a request.
    Stack it under the view's access policy, so only allowed requests reach it."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
            access_log_record(request=request, clinic=request.clinic, action=action, part=part)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
