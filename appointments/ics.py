"""iCalendar (RFC 5545) files of appointments, built with `icalendar`.

Two shapes, one rule: no note ever leaves the portal in a calendar file.
- A single appointment, downloaded by the signed-in patient: times, "Appointment at <clinic>",
  and where (the location, or the video link).
- The calendar feed, read by calendar apps through a secret link that may be shared or leak:
  times, status and the clinic's name only (no location, note, professional or patient name).

Times are written in UTC (`...Z`): one instant each, right across daylight-saving changes,
with no VTIMEZONE to get wrong. The UID is the appointment's random `uid` with a fixed suffix
that names no host, so it is stable across edits and tells nothing across clinics.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import translation
from django.utils.translation import gettext
from icalendar import Calendar, Event, vDuration

from appointments.models import Appointment
from clinics.models import Clinic

PRODID = "-//Clinic portal//Appointments//EN"
UID_SUFFIX = "@appointments.clinic-portal"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# How often a subscribed calendar should fetch the feed again (RFC 7986, and Outlook's own).
FEED_REFRESH = datetime.timedelta(hours=1)


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


def _event(appointment: Appointment, clinic: Clinic) -> Event:
    """The event every file carries: when, whose clinic, whether it still goes ahead."""
    event = Event()
    event.add("uid", f"{appointment.uid}{UID_SUFFIX}")
    # Without a METHOD, DTSTAMP is when the appointment was last changed (RFC 5545 3.8.7.2).
    event.add("dtstamp", appointment.updated_at.astimezone(datetime.UTC))
    event.add("dtstart", appointment.starts_at.astimezone(datetime.UTC))
    event.add("dtend", appointment.ends_at.astimezone(datetime.UTC))
    event.add("summary", gettext("Appointment at %(clinic)s") % {"clinic": clinic.name})
    event.add("sequence", appointment.sequence)
    event.add("status", "CANCELLED" if appointment.is_cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def appointment_ics(appointment: Appointment, *, clinic: Clinic, language: str) -> bytes:
    """One appointment for the patient's own calendar, with where it takes place."""
    calendar = _calendar()
    with translation.override(language):
        event = _event(appointment, clinic)
    if appointment.location:
        event.add("location", appointment.location)
    elif appointment.video_url:
        event.add("location", appointment.video_url)
    if appointment.video_url:
        event.add("url", appointment.video_url)
    calendar.add_component(event)
    return calendar.to_ical()


def feed_ics(appointments: Iterable[Appointment], *, clinic: Clinic, language: str) -> bytes:
    """The feed: each appointment's times and status and the clinic's name, nothing more."""
    calendar = _calendar()
    with translation.override(language):
        name = gettext("Appointments at %(clinic)s") % {"clinic": clinic.name}
        calendar.add("x-wr-calname", name)
        for appointment in appointments:
            calendar.add_component(_event(appointment, clinic))
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(FEED_REFRESH))
    return calendar.to_ical()
