"""The services' own checks, whatever form called them: the clinic, the professional and the
link are checked again where the row is written."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from appointments.models import Appointment, CalendarFeed
from appointments.services import appointment_plan, calendar_feed_issue

pytestmark = pytest.mark.django_db

SOON = datetime.timedelta(days=3)


def plan_for(patient, actor, **fields):
    return appointment_plan(
        clinic=patient.clinic if "clinic" not in fields else fields.pop("clinic"),
        actor=actor, patient=patient, starts_at=timezone.now() + SOON, duration_minutes=30,
        **fields,
    )  # fmt: skip


def test_a_link_other_than_https_is_refused_by_the_service_too(alice, patient_a):
    with pytest.raises(ValidationError):
        plan_for(patient_a, alice, video_url="javascript:alert(1)")
    assert not Appointment.objects.exists()


def test_a_professional_of_another_clinic_or_a_counsellor_is_refused(
    alice, charlie, cora, patient_a
):
    for professional in (charlie, cora):
        with pytest.raises(ValidationError):
            plan_for(patient_a, alice, professional=professional)
    assert not Appointment.objects.exists()


def test_another_clinics_patient_is_refused(alice, clinic_a, patient_b):
    with pytest.raises(ValidationError):
        plan_for(patient_b, alice, clinic=clinic_a)
    assert not Appointment.objects.exists()


def test_only_the_patient_makes_their_feed_link(alice, clinic_a, patient_a):
    with pytest.raises(ValidationError):
        calendar_feed_issue(clinic=clinic_a, actor=alice, patient=patient_a, language="nl")
    assert not CalendarFeed.objects.exists()
