"""Reads of patient records."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import overload

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, QuerySet

from clinics.models import AccessLogEntry, Clinic, User
from clinics.selectors import access_log_in_period
from patients.measurements.alerts import Triage
from patients.models import (
    Alert,
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


# The dashboard's list in one statement: the clinic's patients (or a search's matches) with
# their open-alert count and last reading (each one hashed pass over the clinic's open alerts
# and newest readings, not a probe per patient) and the rules that hold for them
# (`Triage.holding_sql`), sorted and paged, each row with the length of the whole list (the
# sort has to triage every patient anyway, so counting them costs no second statement). Built
# by the ORM, the same list cost more to build and compile than to run, on every dashboard
# request. Every table is held to the clinic.
_DASHBOARD_LIST_SQL = """
SELECT *, count(*) OVER () AS listed_count FROM (
    SELECT p.id, p.clinic_id, p.given_name, p.family_name, p.date_of_birth, p.user_id,
           coalesce(a.n, 0) AS open_alert_count, l.last_reading_at,
           {holding} AS holding_rule_ids
    FROM patients_patient p
    LEFT JOIN (
        SELECT patient_id, count(*) AS n FROM patients_alert
        WHERE clinic_id = %s AND acknowledged_at IS NULL GROUP BY patient_id
    ) a ON a.patient_id = p.id
    LEFT JOIN (
        SELECT patient_id, max(measured_at) AS last_reading_at FROM patients_latestreading
        WHERE clinic_id = %s GROUP BY patient_id
    ) l ON l.patient_id = p.id
    WHERE p.clinic_id = %s {matching}
    OFFSET 0  -- a fence: each row's rules are worked out once, not again for the sort key
) listed
{only_with_alerts}
ORDER BY {order}
LIMIT %s OFFSET %s
"""
_DASHBOARD_ORDER = {
    # Who needs attention first: an open alert or a rule that holds; most open alerts first,
    # then longest without a reading; then everyone else by patient number.
    "attention": "(open_alert_count > 0 OR cardinality(holding_rule_ids) > 0) DESC, "
    "open_alert_count DESC, last_reading_at ASC NULLS FIRST, id",
    "number": "id",
    "alerts": "open_alert_count DESC, id",
    # Longest without a reading first: those need a call.
    "last_reading": "last_reading_at ASC NULLS FIRST, id",
}


class DashboardList(Sequence):
    """The professional's dashboard list: `page(number)` is one statement
    (`_DASHBOARD_LIST_SQL`) returning that page's patients, each with `open_alert_count`,
    `last_reading_at` and `holding_rule_ids` (the rules of `triage` that hold for them now),
    and the list's length. As a sequence (sliced by a paginator, iterated) each slice is one
    statement too, and its length `dashboard_patient_count`'s."""

    def __init__(
        self, *, clinic: Clinic, triage: Triage, search: str, only_with_alerts: bool, sort: str
    ) -> None:
        self.clinic, self.triage, self.search = clinic, triage, search
        self.only_with_alerts, self.sort = only_with_alerts, sort
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            self._count = dashboard_patient_count(
                clinic=self.clinic, search=self.search, only_with_alerts=self.only_with_alerts
            )
        return self._count

    def page(self, number: object, per_page: int) -> Page:
        """`Paginator(self, per_page).get_page(number)` in one statement, not a count and a
        page: a number that is not a page's gives the first page, one past the end the last."""
        paginator = Paginator(self, per_page)
        try:
            wanted = max(int(str(number)), 1)
        except ValueError:
            wanted = 1
        patients = self._page(offset=(wanted - 1) * per_page, limit=per_page)
        if patients or wanted == 1:
            self._count = patients[0].listed_count if patients else 0
            return paginator._get_page(patients, wanted, paginator)
        return paginator.get_page(wanted)  # past the end (a stale link): count, then the last

    def __iter__(self) -> Iterator[Patient]:
        return iter(self[0 : len(self)])  # one statement, not one per patient

    @overload
    def __getitem__(self, index: int) -> Patient: ...
    @overload
    def __getitem__(self, index: slice) -> list[Patient]: ...
    def __getitem__(self, index: int | slice) -> Patient | list[Patient]:
        if isinstance(index, int):
            return self._page(offset=index, limit=1)[0]
        start, stop, step = index.indices(len(self))
        if step != 1:
            raise ValueError("A dashboard page is a plain slice.")
        return self._page(offset=start, limit=max(stop - start, 0))

    def _page(self, *, offset: int, limit: int) -> list[Patient]:
        holding, holding_params = self.triage.holding_sql("p")
        matching, matching_params = "", []
        if self.search:
            found = patient_list(clinic=self.clinic, search=self.search)
            if found.query.is_empty():  # no name token to look for
                return []
            sql, search_params = found.values("id").query.sql_with_params()
            matching, matching_params = f"AND p.id IN ({sql})", list(search_params)
        statement = _DASHBOARD_LIST_SQL.format(
            holding=holding,
            matching=matching,
            only_with_alerts="WHERE open_alert_count > 0" if self.only_with_alerts else "",
            order=_DASHBOARD_ORDER.get(self.sort, _DASHBOARD_ORDER["attention"]),
        )
        clinic = self.clinic.pk
        params = [*holding_params, clinic, clinic, clinic, *matching_params, limit, offset]
        return list(Patient.objects.raw(statement, params))


def dashboard_patients(
    *,
    clinic: Clinic,
    triage: Triage,
    search: str = "",
    only_with_alerts: bool = False,
    sort: str = "attention",
) -> DashboardList:
    """The professional's dashboard list, for a paginator: patients with their open-alert
    count, last reading time and the rules that hold for them now (`triage`), filtered, sorted
    and paged in the database.

    By default the patients who need attention come first: an open alert, a latest value
    outside a limit or no reading for longer than a rule allows; most open alerts first, then
    longest without a reading; then everyone else by patient number.
    """
    return DashboardList(
        clinic=clinic, triage=triage, search=search, only_with_alerts=only_with_alerts, sort=sort
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
