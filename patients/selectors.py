"""Reads of patient records."""

from __future__ import annotations

import datetime

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from clinics.models import AccessLogEntry, Clinic, User
from clinics.selectors import access_log_in_period
from patients.measurements.alerts import Triage
from patients.models import (
    Alert,
    LatestReading,
    Patient,
    PatientInvitation,
    PatientNameToken,
)
from portal.crypto import query_digests


def patient_list(*, clinic: Clinic, search: str = "") -> QuerySet[Patient]:
    """The clinic's patients, with what the list shows (every other field is encrypted and
    costs a decryption per row); `search` matches name prefixes through the blind index."""
    patients = (
        Patient.objects.for_clinic(clinic)
        .only("clinic_id", "given_name", "family_name", "date_of_birth", "user_id")
        .order_by("id")
    )
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


DASHBOARD_SORTS = ("attention", "number", "alerts", "last_reading")


def dashboard_patient_count(
    *, clinic: Clinic, search: str = "", only_with_alerts: bool = False
) -> int:
    """How many patients `dashboard_patients` lists, counted without its per-patient triage
    (a COUNT of the annotated list would build and plan the triage a second time)."""
    patients = patient_list(clinic=clinic, search=search)
    if only_with_alerts:
        open_alerts = Alert.objects.for_clinic(clinic).open().filter(patient=OuterRef("pk"))
        patients = patients.filter(Exists(open_alerts))
    return patients.count()


def dashboard_patients(
    *,
    clinic: Clinic,
    triage: Triage,
    search: str = "",
    only_with_alerts: bool = False,
    sort: str = "attention",
) -> QuerySet[Patient]:
    """The professional's dashboard list: patients with their open-alert count, last reading
    time and the rules that hold for them now (`triage`), computed in SQL, so filtering, sorting
    and pagination happen in the database.

    By default the patients who need attention come first: an open alert, a latest value
    outside a limit or no reading for longer than a rule allows; most open alerts first, then
    longest without a reading; then everyone else by patient number.
    """
    open_alerts = (
        Alert.objects.for_clinic(clinic)
        .open()
        .filter(patient=OuterRef("pk"))
        .order_by()
        .values("patient")
        .annotate(n=Count("id"))
        .values("n")
    )
    # The newest of the patient's newest reading per kind (LatestReading, kept by the database).
    last_reading = (
        LatestReading.objects.for_clinic(clinic)
        .filter(patient=OuterRef("pk"))
        .order_by("-measured_at")
        .values("measured_at")[:1]
    )
    patients = patient_list(clinic=clinic, search=search).annotate(
        open_alert_count=Coalesce(Subquery(open_alerts), 0),
        last_reading_at=Subquery(last_reading),
        holding_rule_ids=triage.holding_rule_ids(),
    )
    if only_with_alerts:
        patients = patients.filter(open_alert_count__gt=0)
    if sort == "alerts":
        return patients.order_by("-open_alert_count", "id")
    if sort == "last_reading":
        # Longest without a reading first: those need a call.
        return patients.order_by(F("last_reading_at").asc(nulls_first=True), "id")
    if sort == "number":
        return patients.order_by("id")
    needs_attention = Q(open_alert_count__gt=0) | ~Q(holding_rule_ids=[])
    return patients.annotate(
        attention_first=Case(When(needs_attention, then=Value(0)), default=Value(1))
    ).order_by(
        "attention_first",
        "-open_alert_count",
        F("last_reading_at").asc(nulls_first=True),
        "id",
    )


def patient_records_of_user(*, user: User) -> QuerySet[Patient]:
    return Patient.objects.filter(user=user).select_related("clinic").order_by("clinic__name")


def pending_invitation_of(*, clinic: Clinic, patient: Patient) -> PatientInvitation | None:
    return PatientInvitation.objects.for_clinic(clinic).pending().filter(patient=patient).first()


def account_link_of(*, clinic: Clinic, patient: Patient) -> PatientInvitation | None:
    """The accepted invitation that linked the record's account: when, and by which account."""
    if patient.user_id is None:
        return None
    return (
        PatientInvitation.objects.for_clinic(clinic)
        .filter(patient=patient, accepted_by_id=patient.user_id, accepted_at__isnull=False)
        .select_related("accepted_by")
        .order_by("-accepted_at")
        .first()
    )


def access_log_for_patient_user(
    *, user: User, since: datetime.date | None = None, until: datetime.date | None = None
) -> QuerySet[AccessLogEntry]:
    """Who accessed the records linked to this patient's account, in every clinic."""
    entries = AccessLogEntry.objects.filter(
        patient_id__in=Patient.objects.filter(user=user).values("pk")
    ).select_related("clinic", "user")
    return access_log_in_period(entries, since=since, until=until)
