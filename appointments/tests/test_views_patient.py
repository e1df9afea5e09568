"""The patient's appointment pages, the .ics download and the private calendar feed."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from appointments.models import CalendarFeed
from appointments.services import appointment_cancel
from appointments.tests.factories import plan
from clinics.tests.factories import UserFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def my_list(patient) -> str:
    return reverse("appointments:my_list", args=[patient.pk])


def issue_feed(client: Client, patient) -> str:
    """Make the feed link on the patient's page; the path shown once."""
    response = client.post(reverse("appointments:my_feed_issue", args=[patient.pk]))
    assert response.status_code == 200
    [url] = re.findall(r'value="(https?://[^"]+\.ics)"', response.content.decode())
    return url.split("testserver", 1)[1]


def test_the_patient_sees_upcoming_and_past_appointments_and_cancelled_ones_as_cancelled(
    client_for, paul, alice, patient_a, clinic_a
):
    """Upcoming and past, each with its .ics link; the note for the patient is on the page."""
    past = plan(patient_a, alice, starts_in=-datetime.timedelta(days=10), note="Goed gedaan")
    upcoming = plan(patient_a, alice, note="Neem schoenen mee")
    cancelled = plan(patient_a, alice, starts_in=datetime.timedelta(days=9))
    appointment_cancel(clinic=clinic_a, actor=alice, appointment=cancelled)
    page = english(client_for(paul)).get(my_list(patient_a)).content.decode()
    upcoming_part, past_part = page.split("<h2>Past</h2>")
    assert "Neem schoenen mee" in upcoming_part and "Cancelled" in upcoming_part
    assert "Goed gedaan" in past_part
    for appointment in (past, upcoming, cancelled):
        assert reverse("appointments:my_ics", args=[patient_a.pk, appointment.pk]) in page


def test_my_records_links_to_my_appointments(client_for, paul, patient_a):
    page = client_for(paul).get(reverse("patients:my_records")).content.decode()
    assert my_list(patient_a) in page


def test_a_patient_sees_only_their_own(client_for, paul, alice, patient_a, clinic_a):
    """Another patient's record, or their appointment under one's own record: 404."""
    other = PatientFactory(clinic=clinic_a, user=UserFactory(email="olga@patient.example"))
    theirs = plan(other, alice, note="Van Olga")
    client = client_for(paul)
    assert client.get(my_list(other)).status_code == 404
    ics_url = reverse("appointments:my_ics", args=[patient_a.pk, theirs.pk])
    assert client.get(ics_url).status_code == 404
    assert client.post(reverse("appointments:my_feed_issue", args=[other.pk])).status_code == 404
    assert "Van Olga" not in client.get(my_list(patient_a)).content.decode()
    assert not CalendarFeed.objects.exists()


def test_the_download_is_an_ics_file_of_the_appointment(client_for, paul, alice, patient_a):
    appointment = plan(patient_a, alice, location="Kamer 2", note="Geheim")
    url = reverse("appointments:my_ics", args=[patient_a.pk, appointment.pk])
    response = client_for(paul).get(url)
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("DTSTART") == appointment.starts_at.replace(microsecond=0)
    assert str(event["LOCATION"]) == "Kamer 2"
    assert b"Geheim" not in response.content


def test_the_feed_link_is_shown_once_stored_as_a_digest_and_read_without_a_session(
    client_for, paul, alice, patient_a
):
    """The URL appears in the answer to making it, never again; the table holds its SHA-256;
    a calendar app with no cookie reads the feed with private, unindexed headers."""
    appointment = plan(patient_a, alice)
    client = english(client_for(paul))
    path = issue_feed(client, patient_a)
    token = path.removeprefix("/appointments/feed/").removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes, URL-safe
    feed = CalendarFeed.objects.get()
    assert feed.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(list(CalendarFeed.objects.values()))
    assert path not in client.get(my_list(patient_a)).content.decode()
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Referrer-Policy"] == "no-referrer"
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert event.decoded("DTSTART") == appointment.starts_at.replace(microsecond=0)
    assert str(event["SUMMARY"]) == "Appointment at Fysio Noord"  # the language it was made in


def test_a_new_link_ends_the_old_one_and_stopping_ends_both(client_for, paul, patient_a):
    """Regenerate: the old URL is a 404; revoke: the new one is too, like a token never made."""
    client = client_for(paul)
    old = issue_feed(client, patient_a)
    new = issue_feed(client, patient_a)
    calendar_app = Client()
    assert calendar_app.get(old).status_code == 404
    assert calendar_app.get(new).status_code == 200
    assert CalendarFeed.objects.count() == 1
    response = client.post(reverse("appointments:my_feed_revoke", args=[patient_a.pk]))
    assert response.status_code == 302
    revoked = calendar_app.get(new)
    never_made = calendar_app.get("/appointments/feed/" + "x" * 43 + ".ics")
    assert revoked.status_code == never_made.status_code == 404
    assert revoked.content == never_made.content
    assert not CalendarFeed.objects.exists()


def test_a_feed_stops_when_its_record_is_unlinked_from_the_account(client_for, paul, patient_a):
    """The feed was the account holder's: a record without an account opens no feed."""
    path = issue_feed(client_for(paul), patient_a)
    patient_a.user = None
    patient_a.save(update_fields=["user"])
    assert Client().get(path).status_code == 404


def test_my_appointments_page_costs_the_same_queries_for_one_or_many(
    client_for, paul, alice, patient_a
):
    client = client_for(paul)
    plan(patient_a, alice)
    client.get(my_list(patient_a))  # session and caches warm
    with CaptureQueriesContext(connection) as one:
        client.get(my_list(patient_a))
    for days in (-20, -10, 3, 5, 9):
        plan(patient_a, alice, starts_in=datetime.timedelta(days=days))
    with CaptureQueriesContext(connection) as six:
        client.get(my_list(patient_a))
    assert len(six) == len(one)
