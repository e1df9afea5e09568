"""Appointments' demo data, added to each demo clinic by `seed_demo` (registered in
appointments.hooks; it runs after patients.demo, so the patients exist): each demo patient
with an account gets two to four appointments with one of the clinic's professionals, one of
them past, and one on the day after the next change of the clocks, so the .ics files and the
feed show times that stay right across it. Idempotent: a patient who has appointments gets no
more."""

from __future__ import annotations

import datetime

from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_plan
from appointments.times import aware_from_local, clinic_time_zone
from clinics.demo import SeededClinic
from patients.models import Patient

LOCATIONS = ("Behandelkamer 1", "Behandelkamer 2", "Oefenzaal")
NOTES = (
    "Neem sportkleding en schoenen mee.",
    "We bespreken de voortgang van uw oefenprogramma.",
    "",
)


def next_clock_change(today: datetime.date) -> datetime.date:
    """The next last Sunday of March or October after `today` (the EU's change days)."""
    for year in (today.year, today.year + 1):
        for month in (3, 10):
            last_day = datetime.date(year, month, 31)
            sunday = last_day - datetime.timedelta(days=(last_day.weekday() + 1) % 7)
            if sunday > today:
                return sunday
    raise AssertionError("unreachable: a change day comes every half year")


def _local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return aware_from_local(day, datetime.time(hour, minute), clinic_time_zone())


def demo_schedule(today: datetime.date, index: int) -> list[datetime.datetime]:
    """Two to four start times for the index-th patient: one past, one on the Monday after the
    next clock change, then the Friday before it and next week for some."""
    change = next_clock_change(today)
    starts = [
        _local(today - datetime.timedelta(days=14 + index), 10),
        _local(change + datetime.timedelta(days=1), 9),  # the Monday after the change
        _local(change - datetime.timedelta(days=2), 9),  # the Friday before it
        _local(today + datetime.timedelta(days=7 + index), 14, 30),
    ]
    return starts[: 2 + index % 3]


def appointments_demo_seed(seeded: SeededClinic) -> list[dict]:
    clinic, staff = seeded.clinic, seeded.staff
    patients = Patient.objects.for_clinic(clinic).filter(user__isnull=False).order_by("pk")
    today = timezone.localdate()
    for index, patient in enumerate(patients):
        if Appointment.objects.for_clinic(clinic).filter(patient=patient).exists():
            continue
        professional = staff["fysio1"] if index % 2 == 0 else staff["fysio2"]
        for number, starts_at in enumerate(demo_schedule(today, index)):
            is_video = number == 2
            video_url = f"https://video.example/consult-{patient.pk}-{number}"
            appointment_plan(
                clinic=clinic,
                actor=professional,
                patient=patient,
                starts_at=starts_at,
                duration_minutes=30 if number else 45,
                location="" if is_video else LOCATIONS[(index + number) % len(LOCATIONS)],
                video_url=video_url if is_video else "",
                note=NOTES[(index + number) % len(NOTES)],
            )
    return []
