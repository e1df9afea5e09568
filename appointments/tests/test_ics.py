"""The .ics files, read back with icalendar: the single download and the calendar feed."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from icalendar import Calendar

from appointments import ics
from appointments.selectors import feed_appointments
from appointments.services import appointment_cancel, appointment_update, calendar_feed_issue
from appointments.tests.factories import plan
from appointments.times import aware_from_local

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
PRIVATE = ("Knie links, rustig opbouwen", "Behandelkamer 3", "video.example/kamer")


def events(body: bytes) -> list:
    return Calendar.from_ical(body).walk("VEVENT")


def private_plan(patient, professional, **fields):
    return plan(
        patient, professional, note=PRIVATE[0], location=PRIVATE[1],
        video_url=f"https://{PRIVATE[2]}", **fields,
    )  # fmt: skip


def test_the_single_download_holds_the_times_summary_and_place_but_not_the_note(
    alice, patient_a, clinic_a
):
    """One VEVENT in UTC, "Appointment at <clinic>", where it is; never the note."""
    starts_at = aware_from_local(datetime.date(2026, 10, 26), datetime.time(9, 0))
    appointment = private_plan(patient_a, alice, starts_at=starts_at, duration_minutes=45)
    body = ics.appointment_ics(appointment, clinic=clinic_a, language="en")
    calendar = Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar
    [event] = events(body)
    assert event.decoded("DTSTART") == datetime.datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime.datetime(2026, 10, 26, 8, 45, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Appointment at Fysio Noord"
    assert str(event["LOCATION"]) == PRIVATE[1]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]) == f"{appointment.uid}@appointments.clinic-portal"
    assert "DTSTAMP" in event
    assert PRIVATE[0].encode() not in body


def test_the_feed_shows_times_and_the_clinic_only(alice, patient_a, clinic_a):
    """No note, place, video link, professional's or patient's name in the feed."""
    before = aware_from_local(datetime.date(2027, 3, 27), datetime.time(9, 0))
    after = aware_from_local(datetime.date(2027, 3, 29), datetime.time(9, 0))
    for starts_at in (before, after):
        private_plan(patient_a, alice, starts_at=starts_at)
    feed, _token = calendar_feed_issue(
        clinic=clinic_a, actor=patient_a.user, patient=patient_a, language="en"
    )
    body = ics.feed_ics(feed_appointments(feed=feed), clinic=clinic_a, language="en")
    found = events(body)
    assert [e.decoded("DTSTART") for e in found] == [
        datetime.datetime(2027, 3, 27, 8, 0, tzinfo=UTC),  # winter time: UTC+1
        datetime.datetime(2027, 3, 29, 7, 0, tzinfo=UTC),  # summer time: UTC+2
    ]
    assert {str(e["SUMMARY"]) for e in found} == {"Appointment at Fysio Noord"}
    assert all("LOCATION" not in e and "URL" not in e and "DESCRIPTION" not in e for e in found)
    text = body.decode()
    names = (alice.email, str(alice), patient_a.given_name, patient_a.family_name)
    leaked = [s for s in (*PRIVATE, *names) if s in text]
    assert leaked == []


def test_a_change_keeps_the_uid_and_a_cancellation_is_status_cancelled(alice, patient_a, clinic_a):
    """Calendars match events by UID: it survives a reschedule; a cancelled one says so."""
    appointment = plan(patient_a, alice)
    uid = str(events(ics.appointment_ics(appointment, clinic=clinic_a, language="en"))[0]["UID"])
    appointment = appointment_update(
        clinic=clinic_a, actor=alice, appointment=appointment,
        starts_at=appointment.starts_at + datetime.timedelta(hours=2), duration_minutes=60,
    )  # fmt: skip
    appointment = appointment_cancel(clinic=clinic_a, actor=alice, appointment=appointment)
    [event] = events(ics.appointment_ics(appointment, clinic=clinic_a, language="en"))
    assert str(event["UID"]) == uid
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 2


def test_the_feed_reaches_three_months_back_and_holds_only_its_own_records_appointments(
    alice, charlie, patient_a, patient_b, clinic_a
):
    """Older appointments, and other records' (of any clinic), are not in it."""
    plan(patient_a, alice, starts_at=timezone.now() - datetime.timedelta(days=120))  # too old
    recent = plan(patient_a, alice, starts_in=-datetime.timedelta(days=30))
    future = plan(patient_a, alice, starts_in=datetime.timedelta(days=400))
    plan(patient_b, charlie)
    feed, _token = calendar_feed_issue(
        clinic=clinic_a, actor=patient_a.user, patient=patient_a, language="en"
    )
    assert list(feed_appointments(feed=feed)) == [recent, future]
