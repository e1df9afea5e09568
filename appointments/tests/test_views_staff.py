"""The clinic's pages of a record's appointments: plan, change, cancel, in Dutch time; every
request one access-log entry; other clinics and counsellors kept out."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import Appointment
from appointments.tests.factories import plan
from clinics.models import AccessAction, AccessLogEntry, AccessPart

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# A day before both changes of the tests, so both are within the dates the form takes.
BEFORE_THE_CHANGES = datetime.datetime(2026, 9, 15, 12, 0, tzinfo=UTC)


def english(client):
    client.cookies["django_language"] = "en"
    return client


def form_data(**changes: str) -> dict[str, str]:
    return {"date": "2026-10-26", "time": "09:00", "duration_minutes": "30", **changes}


def create_url(patient) -> str:
    return reverse("appointments:create", args=[patient.pk])


@time_machine.travel(BEFORE_THE_CHANGES, tick=False)
@pytest.mark.parametrize(
    ("date", "utc"),
    [
        ("2026-10-24", datetime.datetime(2026, 10, 24, 7, 0, tzinfo=UTC)),
        ("2026-10-26", datetime.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
        ("2027-03-27", datetime.datetime(2027, 3, 27, 8, 0, tzinfo=UTC)),
        ("29-03-2027", datetime.datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),  # typed by hand
    ],
)
def test_planning_at_nine_local_stores_the_right_utc_instant_across_a_clock_change(
    client_for, alice, patient_a, date, utc
):
    """09:00 Dutch time before and after the October and March changes: the instant in UTC."""
    response = client_for(alice).post(create_url(patient_a), form_data(date=date))
    assert response.status_code == 302, response.content.decode()
    appointment = Appointment.objects.get()
    assert appointment.starts_at == utc
    assert appointment.professional == alice and appointment.created_by == alice
    assert appointment.clinic_id == patient_a.clinic_id


@time_machine.travel(BEFORE_THE_CHANGES, tick=False)
@pytest.mark.parametrize(
    ("date", "time", "message"),
    [
        ("2027-03-28", "02:30", "does not exist in Dutch time"),
        ("2026-10-25", "02:30", "happens twice in Dutch time"),
    ],
)
def test_a_skipped_or_repeated_local_time_is_refused_and_nothing_is_stored(
    client_for, alice, patient_a, date, time, message
):
    """No silent guess across a clock change: the form says why, and stores nothing."""
    response = english(client_for(alice)).post(
        create_url(patient_a), form_data(date=date, time=time)
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Appointment.objects.exists()


@time_machine.travel(BEFORE_THE_CHANGES, tick=False)
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"duration_minutes": "0"}, "duration_minutes", "greater than or equal to 5"),
        ({"duration_minutes": "10000"}, "duration_minutes", "less than or equal to 480"),
        ({"video_url": "javascript:alert(1)"}, "video_url", "https://"),
        ({"video_url": "http://video.example/room"}, "video_url", "https://"),
        ({"date": "10/26/2026"}, "date", "dd-mm-yyyy"),
        ({"date": "0001-01-01"}, "date", "Choose a date between"),
        ({"time": "9 uur"}, "time", "hh:mm"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_stored(
    client_for, alice, patient_a, changes, field, message
):
    """Out-of-range durations, unsafe links, malformed or implausible dates: refused."""
    response = english(client_for(alice)).post(create_url(patient_a), form_data(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert not Appointment.objects.exists()


def test_a_professional_of_another_clinic_is_refused_as_not_found(
    client_for, alice, charlie, patient_a
):
    """Clinic B's professional asking for clinic A's record or appointment: 404, nothing written."""
    appointment = plan(patient_a, alice)
    client = client_for(charlie)
    urls = [
        reverse("appointments:list", args=[patient_a.pk]),
        create_url(patient_a),
        reverse("appointments:edit", args=[patient_a.pk, appointment.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url, form_data()).status_code == 404, url
    cancel = reverse("appointments:cancel", args=[patient_a.pk, appointment.pk])
    assert client.post(cancel).status_code == 404
    appointment.refresh_from_db()
    assert not appointment.is_cancelled and Appointment.objects.count() == 1


def test_an_appointment_of_another_clinic_is_not_found_under_ones_own_record(
    client_for, alice, charlie, patient_a, patient_b
):
    """Clinic A's appointment id under clinic B's own record answers 404 too."""
    appointment = plan(patient_a, alice)
    client = client_for(charlie)
    edit = reverse("appointments:edit", args=[patient_b.pk, appointment.pk])
    cancel = reverse("appointments:cancel", args=[patient_b.pk, appointment.pk])
    assert client.get(edit).status_code == 404
    assert client.post(cancel).status_code == 404
    appointment.refresh_from_db()
    assert not appointment.is_cancelled


def test_a_counsellor_is_refused(client_for, cora, alice, patient_a):
    """Counsellors see no medical data: every appointment page of a record is 403 for them."""
    appointment = plan(patient_a, alice)
    client = client_for(cora)
    assert client.get(reverse("appointments:list", args=[patient_a.pk])).status_code == 403
    assert client.post(create_url(patient_a), form_data()).status_code == 403
    cancel = reverse("appointments:cancel", args=[patient_a.pk, appointment.pk])
    assert client.post(cancel).status_code == 403
    assert Appointment.objects.count() == 1 and not Appointment.objects.get().is_cancelled


@time_machine.travel(BEFORE_THE_CHANGES, tick=False)
def test_each_staff_page_writes_one_access_log_entry_with_part_appointments(
    client_for, alice, patient_a
):
    """List, plan, change and cancel: one entry per request, the record and its action."""
    appointment = plan(patient_a, alice)
    client = client_for(alice)
    edit = reverse("appointments:edit", args=[patient_a.pk, appointment.pk])
    requests = [
        ("GET", reverse("appointments:list", args=[patient_a.pk]), AccessAction.READ),
        ("GET", create_url(patient_a), AccessAction.READ),
        ("POST", create_url(patient_a), AccessAction.UPDATE),
        ("GET", edit, AccessAction.READ),
        ("POST", edit, AccessAction.UPDATE),
        ("POST", reverse("appointments:cancel", args=[patient_a.pk, appointment.pk]),
         AccessAction.UPDATE),
    ]  # fmt: skip
    for method, url, action in requests:
        before = AccessLogEntry.objects.count()
        response = client.get(url) if method == "GET" else client.post(url, form_data())
        assert response.status_code in (200, 302), (method, url)
        entry = AccessLogEntry.objects.latest("id")
        assert AccessLogEntry.objects.count() == before + 1, (method, url)
        assert (entry.patient_id, entry.part, entry.action) == (
            patient_a.pk, AccessPart.APPOINTMENTS, action,
        ), (method, url)  # fmt: skip


@time_machine.travel(BEFORE_THE_CHANGES, tick=False)
def test_changing_an_appointment_moves_it_and_keeps_its_calendar_uid(client_for, alice, patient_a):
    """A reschedule is the same calendar event (same UID), one sequence further."""
    appointment = plan(patient_a, alice, note="Oud")
    uid = appointment.uid
    url = reverse("appointments:edit", args=[patient_a.pk, appointment.pk])
    response = client_for(alice).post(url, form_data(time="10:15", note="Nieuw"))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == datetime.datetime(2026, 10, 26, 9, 15, tzinfo=UTC)
    assert (appointment.uid, appointment.sequence, appointment.note) == (uid, 1, "Nieuw")


def test_cancelling_keeps_the_appointment_marked_cancelled_and_it_cannot_be_changed(
    client_for, alice, patient_a
):
    """Cancel instead of delete: the row stays, marked; a later change is refused."""
    appointment = plan(patient_a, alice)
    client = english(client_for(alice))
    cancel = reverse("appointments:cancel", args=[patient_a.pk, appointment.pk])
    assert client.post(cancel).status_code == 302
    assert client.post(cancel).status_code == 302  # again: nothing more changes
    appointment.refresh_from_db()
    assert appointment.is_cancelled and appointment.sequence == 1
    page = client.get(reverse("appointments:list", args=[patient_a.pk])).content.decode()
    assert "Cancelled" in page
    edit = reverse("appointments:edit", args=[patient_a.pk, appointment.pk])
    data = form_data(date=(appointment.starts_at.date().isoformat()))
    response = client.post(edit, data)
    assert "can no longer be changed" in response.content.decode()
    assert Appointment.objects.get().starts_at == appointment.starts_at


def test_the_professional_must_work_in_the_clinic(client_for, alice, charlie, patient_a):
    """A forged choice of clinic B's professional is refused; nothing is stored."""
    with time_machine.travel(BEFORE_THE_CHANGES, tick=False):
        response = client_for(alice).post(
            create_url(patient_a), form_data(professional=str(charlie.pk))
        )
    assert response.status_code == 200
    assert "professional" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_the_overview_shows_the_next_appointments_with_a_link_to_the_page(
    client_for, alice, patient_a
):
    """The "Appointments" panel: upcoming ones that go ahead, and the way to all of them."""
    plan(patient_a, alice, starts_in=datetime.timedelta(days=2))
    plan(patient_a, alice, starts_in=datetime.timedelta(days=3))
    cancelled = plan(patient_a, alice, starts_in=datetime.timedelta(days=4))
    client = english(client_for(alice))
    client.post(reverse("appointments:cancel", args=[patient_a.pk, cancelled.pk]))
    page = client.get(reverse("patients:overview", args=[patient_a.pk])).content.decode()
    assert 'id="appointments"' in page
    assert reverse("appointments:list", args=[patient_a.pk]) in page
    assert page.count("<time datetime=") == 2


def test_the_appointment_page_costs_the_same_queries_for_one_or_many_appointments(
    client_for, alice, patient_a
):
    """No query per appointment: the professional comes with the appointments' one query."""
    client = client_for(alice)
    url = reverse("appointments:list", args=[patient_a.pk])
    plan(patient_a, alice)
    client.get(url)  # session and caches warm
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for days in (-20, -10, 3, 5, 9):
        plan(patient_a, alice, starts_in=datetime.timedelta(days=days))
    with CaptureQueriesContext(connection) as six:
        client.get(url)
    assert len(six) == len(one)
