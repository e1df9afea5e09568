"""Appointments' reads: a record's appointments split into upcoming and past, the next ones for
the overview panel, one appointment for a page, and a calendar feed by its token."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from appointments.models import MAX_DURATION_MINUTES, Appointment, CalendarFeed
from clinics.models import Clinic, Membership, Role, User, token_digest
from clinics.tenancy import get_for_clinic_or_404
from patients.models import Patient

# Who an appointment can be with: the clinic's professionals and admins (not its counsellors).
APPOINTMENT_ROLES = (Role.PROFESSIONAL, Role.CLINIC_ADMIN)
# How far back a calendar feed reaches: a calendar keeps what it has seen before.
FEED_PAST = datetime.timedelta(days=92)


@dataclass(frozen=True)
class AppointmentsSplit:
    upcoming: list[Appointment]  # soonest first; one in progress counts as upcoming
    past: list[Appointment]  # most recent first


def appointment_professionals(*, clinic: Clinic) -> QuerySet[User]:
    """The active professionals and admins of the clinic, by name."""
    members = Membership.objects.active().for_clinic(clinic).filter(role__in=APPOINTMENT_ROLES)
    return User.objects.filter(pk__in=members.values("user_id")).order_by("display_name", "email")


def appointment_list(*, clinic: Clinic | int, patient: Patient) -> QuerySet[Appointment]:
    return (
        Appointment.objects.for_clinic(clinic)
        .filter(patient=patient)
        .select_related("professional")
        .order_by("starts_at", "pk")
    )


def appointments_split(
    *, clinic: Clinic | int, patient: Patient, now: datetime.datetime | None = None
) -> AppointmentsSplit:
    """The record's appointments, upcoming and past (a patient has tens, not thousands)."""
    now = now or timezone.now()
    appointments = list(appointment_list(clinic=clinic, patient=patient))
    return AppointmentsSplit(
        upcoming=[a for a in appointments if a.ends_at > now],
        past=[a for a in reversed(appointments) if a.ends_at <= now],
    )


def appointments_next(*, clinic: Clinic | int, patient: Patient, limit: int) -> list[Appointment]:
    """The next appointments that go ahead (cancelled ones left out), soonest first; one in
    progress included."""
    now = timezone.now()
    # No appointment lasts longer than MAX_DURATION_MINUTES: one started before that has ended.
    candidates = appointment_list(clinic=clinic, patient=patient).filter(
        cancelled_at__isnull=True,
        starts_at__gt=now - datetime.timedelta(minutes=MAX_DURATION_MINUTES),
    )
    return [a for a in candidates if a.ends_at > now][:limit]


def appointment_get(*, clinic: Clinic, patient: Patient, appointment_id: int) -> Appointment:
    """The record's appointment, or 404 (another record's or clinic's looks like a missing one)."""
    return get_for_clinic_or_404(Appointment, clinic, pk=appointment_id, patient=patient)


def calendar_feed_of(*, clinic: Clinic | int, patient: Patient) -> CalendarFeed | None:
    return CalendarFeed.objects.for_clinic(clinic).filter(patient=patient).first()


def calendar_feed_by_token(token: str) -> CalendarFeed | None:
    """The live feed a token opens, looked up by its digest (an indexed equality: no
    comparison of secrets in Python), or None: unknown, revoked, or its record no longer
    linked to the patient's account (the feed was theirs)."""
    return (
        CalendarFeed.objects.select_related("clinic", "patient")
        .filter(token_digest=token_digest(token), patient__user__isnull=False)
        .first()
    )


def feed_appointments(*, feed: CalendarFeed, now: datetime.datetime | None = None) -> QuerySet:
    """What the feed shows: the record's appointments of the last three months and all future
    ones, of the feed's clinic only."""
    since = (now or timezone.now()) - FEED_PAST
    return (
        Appointment.objects.for_clinic(feed.clinic_id)
        .filter(patient_id=feed.patient_id, starts_at__gte=since)
        .order_by("starts_at", "pk")
    )
