"""The demo appointments and the retention purge of calendar feeds."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from appointments import purges
from appointments.demo import appointments_demo_seed, demo_schedule, next_clock_change
from appointments.models import Appointment, CalendarFeed
from appointments.services import calendar_feed_issue
from appointments.times import local
from clinics import retention
from clinics.demo import CLINICS, SeededClinic
from clinics.models import Role
from clinics.tests.factories import MembershipFactory, UserFactory
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_next_clock_change_is_the_last_sunday_of_march_or_october():
    assert next_clock_change(datetime.date(2026, 12, 1)) == datetime.date(2027, 3, 28)
    assert next_clock_change(datetime.date(2027, 3, 28)) == datetime.date(2027, 10, 31)
    assert next_clock_change(datetime.date(2026, 5, 1)) == datetime.date(2026, 10, 25)


def test_the_demo_gives_each_patient_two_to_four_appointments_across_a_clock_change(
    clinic_a, alice
):
    """One past, the rest ahead, one on the day after the change; a second run adds none."""
    fysio2 = UserFactory(email="fysio2@noord.example")
    MembershipFactory(clinic=clinic_a, user=fysio2, role=Role.PROFESSIONAL)
    patients = [
        PatientFactory(clinic=clinic_a, user=UserFactory(email=f"p{n}@patient.example"))
        for n in range(3)
    ]
    seeded = SeededClinic(clinic_a, CLINICS[0], {"fysio1": alice, "fysio2": fysio2})
    appointments_demo_seed(seeded)
    appointments_demo_seed(seeded)
    now = timezone.now()
    change = next_clock_change(timezone.localdate())
    for patient in patients:
        theirs = list(Appointment.objects.for_clinic(clinic_a).filter(patient=patient))
        assert 2 <= len(theirs) <= 4
        assert sum(a.starts_at < now for a in theirs) == 1
        assert any(local(a.starts_at).date() == change + datetime.timedelta(days=1) for a in theirs)
        assert all(local(a.starts_at).hour in (9, 10, 14) for a in theirs)


def test_the_demo_schedule_keeps_nine_oclock_on_both_sides_of_the_change():
    """The Friday before and the Monday after the change both start at 09:00 Dutch time."""
    starts = demo_schedule(datetime.date(2027, 3, 1), index=1)
    assert [local(s).time() for s in starts[1:3]] == [datetime.time(9, 0)] * 2
    assert starts[1].utcoffset() == datetime.timedelta(0)
    assert (starts[1] - starts[2]) == datetime.timedelta(days=3, hours=-1)


def test_the_purge_removes_feeds_of_records_without_an_account_only(clinic_a, patient_a):
    """A feed whose record lost its account goes; a linked record's feed stays."""
    other = PatientFactory(clinic=clinic_a, user=UserFactory(email="olga@patient.example"))
    for patient in (patient_a, other):
        calendar_feed_issue(clinic=clinic_a, actor=patient.user, patient=patient, language="nl")
    other.user = None
    other.save(update_fields=["user"])
    purge = next(p for p in retention.purges() if p.name == purges.FEEDS)
    run = retention.purge_run(purge)
    assert run.rows_purged == 1
    assert list(CalendarFeed.objects.values_list("patient_id", flat=True)) == [patient_a.pk]
    assert retention.purge_run(purge).rows_purged == 0


def test_appointments_have_no_purge_they_go_with_the_record():
    """Part of the medical record (WGBO): no purge deletes appointments by age."""
    assert not [p for p in retention.purges() if p.declaration.model == "appointments.Appointment"]
