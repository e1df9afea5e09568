"""NEN 7513 access log: the one door through which entries are written.

Invariants:
- Entries are appended, never changed or deleted by the application: the model and its
  queryset refuse it, the admin is read-only, and on PostgreSQL a trigger refuses UPDATE/DELETE.
- An entry records the fact, never the data: action, outcome, object type and id, the part of
  the record, who (user and role), for which clinic and patient, when (UTC), from where.
- Staff reads and changes of a patient record are recorded by the view helpers in
  patients.views (`staff_patient_or_404`) and by services, not remembered per template.
"""

from __future__ import annotations

from django.db import models
from django.http import HttpRequest

from clinics.models import AccessAction, AccessLogEntry, AccessOutcome, AccessPart, Clinic
from clinics.security import client_ip, user_agent


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
    user = request.user if request.user.is_authenticated else None
    membership = getattr(request, "membership", None)
    role = membership.role if membership is not None and membership.clinic_id == clinic.pk else ""
    if not role and user is not None and user.is_superuser:
        role = "superuser"
    target = obj if obj is not None else patient
    return AccessLogEntry.objects.create(
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
