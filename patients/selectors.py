"""Reads of patient records."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from clinics.models import Clinic, User
from patients.models import Patient, PatientNameToken
from portal.crypto import query_digests


def patient_list(*, clinic: Clinic, search: str = "") -> QuerySet[Patient]:
    """The clinic's patients; `search` matches name prefixes through the blind index."""
    patients = Patient.objects.for_clinic(clinic).select_related("user").order_by("id")
    digests = query_digests(search) if search else []
    if search and not digests:
        return patients.none()
    if digests:
        matching = (
            PatientNameToken.objects.for_clinic(clinic)
            .filter(digest__in=digests)
            .values("patient_id")
            .annotate(hits=Count("digest", distinct=True))
            .filter(hits=len(set(digests)))
            .values("patient_id")
        )
        patients = patients.filter(pk__in=matching)
    return patients


def patient_records_of_user(*, user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(user=user).select_related("clinic").order_by("clinic__name")
