"""Threshold rules and alerts: raised whatever the source, shown, acknowledged, logged."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from clinics.models import AccessLogEntry, AccessPart
from patients.measurements import alerts
from patients.measurements.alerts import (
    alerts_check_missing_readings,
    alerts_evaluate,
    rule_create,
)
from patients.measurements.services import import_check, import_commit, import_upload
from patients.models import Alert, MeasurementSource, RuleType, ThresholdRule
from patients.tests.factories import PatientFactory, add_measurement

pytestmark = pytest.mark.django_db


def bp_rule(clinic, actor, patient=None, systolic=160, diastolic=95):
    return rule_create(
        clinic=clinic, actor=actor, patient=patient, kind="blood_pressure",
        rule_type=RuleType.UPPER, limit=Decimal(systolic), limit_diastolic=Decimal(diastolic),
    )  # fmt: skip


def record_bp(client, patient, systolic, diastolic):
    return client.post(
        reverse("patients:measurement_add", args=[patient.pk]),
        {
            "kind": "blood_pressure",
            "measured_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "systolic": str(systolic),
            "diastolic": str(diastolic),
        },
    )


def test_a_manual_reading_above_the_limit_raises_an_alert(client_for, alice, patient_a):
    """Systolic or diastolic above the patient's limit: one open alert on that reading."""
    bp_rule(patient_a.clinic, alice, patient_a)
    record_bp(client_for(alice), patient_a, 150, 97)
    alert = Alert.objects.get()
    assert alert.patient == patient_a and alert.measurement.diastolic == 97
    assert "150/97 mmHg" in alert.detail and alert.acknowledged_at is None


def test_a_reading_within_limits_raises_nothing(client_for, alice, patient_a):
    """Below both limits: no alert."""
    bp_rule(patient_a.clinic, alice, patient_a)
    record_bp(client_for(alice), patient_a, 140, 90)
    assert not Alert.objects.exists()


def test_an_imported_file_raises_one_alert_per_rule_on_the_newest_crossing(alice, patient_a):
    """Three high readings in one OMRON file: one alert, about the newest of them."""
    bp_rule(patient_a.clinic, alice, patient_a)
    content = (
        b"Date,Time,Systolic (mmHg),Diastolic (mmHg),Pulse (bpm),Symptoms,Consumed,TruRead,Notes\n"
        b"Jan 8 2025,20:15,171,99,70,-,-,-,-\n"
        b"Jan 7 2025,08:02,168,98,66,-,-,-,-\n"
        b"Jan 6 2025,08:12,166,97,64,-,-,-,-\n"
    )
    batch = import_upload(
        clinic=patient_a.clinic, actor=alice, patient=patient_a,
        upload=SimpleUploadedFile("Your Requested OMRON Report.csv", content),
        source=MeasurementSource.FILE_IMPORT,
    )  # fmt: skip
    import_check(clinic_id=batch.clinic_id, batch_id=batch.pk)
    import_commit(clinic_id=batch.clinic_id, batch_id=batch.pk)
    alert = Alert.objects.get()
    assert alert.measurement.systolic == 171


def test_an_open_alert_is_not_repeated_until_acknowledged(client_for, alice, patient_a):
    """A second high reading while the alert is open adds nothing; after the ack it does."""
    bp_rule(patient_a.clinic, alice, patient_a)
    client = client_for(alice)
    record_bp(client, patient_a, 170, 100)
    add_measurement(patient_a, 0.1, kind="blood_pressure", systolic=180, diastolic=100)
    record_bp(client, patient_a, 175, 100)
    assert Alert.objects.count() == 1
    alert = Alert.objects.get()
    client.post(reverse("patients:alert_ack", args=[patient_a.pk, alert.pk]))
    add_measurement(patient_a, 0.2, kind="blood_pressure", systolic=181, diastolic=101)
    record_bp(client, patient_a, 177, 101)
    assert Alert.objects.count() == 2


def test_a_patients_own_rule_replaces_the_clinic_default(client_for, alice, patient_a):
    """Clinic default 140/90, this patient 170/100: 150/95 raises nothing for them."""
    bp_rule(patient_a.clinic, alice, None, 140, 90)
    bp_rule(patient_a.clinic, alice, patient_a, 170, 100)
    record_bp(client_for(alice), patient_a, 150, 95)
    assert not Alert.objects.exists()


def test_the_clinic_default_applies_to_patients_without_their_own_rule(
    client_for, alice, patient_a, clinic_a
):
    """Another patient of the clinic, no own rule: the default raises the alert."""
    bp_rule(clinic_a, alice, None, 140, 90)
    other = PatientFactory(clinic=clinic_a)
    record_bp(client_for(alice), other, 150, 95)
    assert Alert.objects.get().patient == other


def test_a_lower_limit_and_a_change_from_baseline(client_for, alice, patient_a):
    """Weight below 60 kg, and more than 3 kg away from a baseline of 80 kg."""
    clinic = patient_a.clinic
    rule_create(clinic=clinic, actor=alice, patient=patient_a, kind="spo2",
                rule_type=RuleType.LOWER, limit=Decimal(92))  # fmt: skip
    rule_create(clinic=clinic, actor=alice, patient=patient_a, kind="weight",
                rule_type=RuleType.CHANGE, baseline=Decimal(80), max_change=Decimal(3))  # fmt: skip
    client = client_for(alice)
    url = reverse("patients:measurement_add", args=[patient_a.pk])
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    client.post(url, {"kind": "spo2", "measured_at": now, "value": "90"})
    client.post(url, {"kind": "weight", "measured_at": now, "value": "82.5"})
    assert set(Alert.objects.values_list("rule_type", flat=True)) == {RuleType.LOWER}
    client.post(url, {"kind": "weight", "measured_at": now, "value": "83.5"})
    assert set(Alert.objects.values_list("rule_type", flat=True)) == {
        RuleType.LOWER,
        RuleType.CHANGE,
    }


def test_a_change_rule_without_baseline_takes_the_recent_mean(alice, patient_a):
    """Baseline left empty: the mean of the last 30 days is stored with the rule."""
    add_measurement(patient_a, 2, kind="weight", value=Decimal("80"))
    add_measurement(patient_a, 3, kind="weight", value=Decimal("82"))
    add_measurement(patient_a, 60, kind="weight", value=Decimal("99"))
    rule = rule_create(clinic=patient_a.clinic, actor=alice, patient=patient_a, kind="weight",
                       rule_type=RuleType.CHANGE, max_change=Decimal(2))  # fmt: skip
    assert rule.baseline == Decimal("81.00")


@pytest.mark.parametrize(
    ("rule_type", "fields"),
    [
        (RuleType.UPPER, {}),
        (RuleType.CHANGE, {"max_change": Decimal(0)}),
        (RuleType.NO_READING, {"days": 0}),
    ],
)
def test_an_incomplete_rule_is_refused(alice, patient_a, rule_type, fields):
    """A rule without its values is refused with a message, and nothing is stored."""
    with pytest.raises(ValidationError):
        rule_create(clinic=patient_a.clinic, actor=alice, patient=patient_a, kind="weight",
                    rule_type=rule_type, **fields)  # fmt: skip
    assert not ThresholdRule.objects.exists()


def test_no_reading_for_n_days_raises_one_alert(alice, patient_a, clinic_a):
    """The daily check: a patient silent for longer than the rule allows gets one alert."""
    rule_create(clinic=clinic_a, actor=alice, patient=None, kind="blood_pressure",
                rule_type=RuleType.NO_READING, days=3)  # fmt: skip
    add_measurement(patient_a, 5, kind="blood_pressure", systolic=120, diastolic=80)
    assert alerts_check_missing_readings(clinic_id=clinic_a.pk) == 1
    assert alerts_check_missing_readings(clinic_id=clinic_a.pk) == 0
    alert = Alert.objects.get()
    assert alert.rule_type == RuleType.NO_READING and alert.measurement is None


def test_no_reading_check_leaves_recent_measurers_alone(alice, patient_a, clinic_a):
    """A reading yesterday, a rule of 3 days: nothing raised."""
    rule_create(clinic=clinic_a, actor=alice, patient=None, kind="blood_pressure",
                rule_type=RuleType.NO_READING, days=3)  # fmt: skip
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=120, diastolic=80)
    assert alerts_check_missing_readings(clinic_id=clinic_a.pk) == 0


def test_alerts_are_shown_to_the_professional_and_the_view_is_logged_once(
    client_for, alice, patient_a
):
    """The measurement page lists open alerts; the page view is one access-log entry."""
    bp_rule(patient_a.clinic, alice, patient_a)
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=120, diastolic=80)
    record_bp(client_for(alice), patient_a, 165, 99)
    before = AccessLogEntry.objects.count()
    page = client_for(alice).get(reverse("patients:measurements", args=[patient_a.pk]))
    assert "165/99 mmHg" in page.content.decode()
    entries = list(
        AccessLogEntry.objects.order_by("-pk")[: AccessLogEntry.objects.count() - before]
    )
    assert [(e.part, e.action) for e in entries] == [(AccessPart.MEASUREMENTS, "read")]


def test_acknowledging_keeps_who_and_when_and_is_logged(client_for, alice, patient_a):
    """The acknowledgement records the professional and the time, and lands in the log."""
    bp_rule(patient_a.clinic, alice, patient_a)
    client = client_for(alice)
    record_bp(client, patient_a, 165, 99)
    alert = Alert.objects.get()
    client.post(reverse("patients:alert_ack", args=[patient_a.pk, alert.pk]))
    alert.refresh_from_db()
    assert alert.acknowledged_by == alice and alert.acknowledged_at is not None
    assert AccessLogEntry.objects.filter(part=AccessPart.ALERTS, action="update").exists()
    page = client.get(reverse("patients:measurements", args=[patient_a.pk])).content.decode()
    assert "165/99 mmHg" not in page.split("<h2")[1]  # no longer among the open alerts


def test_patients_do_not_see_alerts(client_for, alice, paul, patient_a):
    """Triage is the professional's: the patient's own page has no alert section."""
    bp_rule(patient_a.clinic, alice, patient_a)
    record_bp(client_for(alice), patient_a, 165, 99)
    page = client_for(paul).get(reverse("patients:my_measurements", args=[patient_a.pk]))
    assert page.context["alerts"] == []


def test_dashboard_counts_open_alerts_and_filters_on_them(client_for, alice, patient_a, clinic_a):
    """Only patients with open alerts, sorted by their number."""
    bp_rule(clinic_a, alice, None)
    quiet = PatientFactory(clinic=clinic_a)
    add_measurement(quiet, 1, kind="blood_pressure", systolic=120, diastolic=80)
    record_bp(client_for(alice), patient_a, 170, 100)
    response = client_for(alice).get(reverse("patients:list"), {"alerts": "on", "sort": "alerts"})
    rows = [patient for patient, _summary in response.context["rows"]]
    assert rows == [patient_a] and rows[0].open_alert_count == 1
    link = reverse("patients:overview", args=[patient_a.pk])
    assert re.search(
        rf'<a class="reasons__link"\s+href="{link}#alerts"><span class="badge">1</span>',
        response.content.decode(),
    )


def test_dashboard_sorts_the_longest_silent_first(client_for, alice, clinic_a):
    """Sorting by last reading puts patients without readings, then the oldest, first."""
    recent, old, never = (PatientFactory(clinic=clinic_a) for _ in range(3))
    add_measurement(recent, 1, kind="weight", value=Decimal(70))
    add_measurement(old, 20, kind="weight", value=Decimal(70))
    response = client_for(alice).get(reverse("patients:list"), {"sort": "last_reading"})
    assert [p for p, _s in response.context["rows"]] == [never, old, recent]


def test_another_clinics_alert_cannot_be_acknowledged(client_for, alice, charlie, patient_b):
    """Clinic A's professional gets a 404 for clinic B's alert; it stays open."""
    bp_rule(patient_b.clinic, charlie, patient_b)
    add_measurement(patient_b, 0, kind="blood_pressure", systolic=190, diastolic=110)
    from patients.measurements.alerts import alerts_evaluate

    alerts_evaluate(patient=patient_b, measurements=patient_b.measurements.all())
    alert = Alert.objects.get()
    url = reverse("patients:alert_ack", args=[patient_b.pk, alert.pk])
    assert client_for(alice).post(url).status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_thresholds_page_adds_and_removes_a_rule(client_for, alice, patient_a):
    """A professional sets a rule on the page and removes it again."""
    client = client_for(alice)
    url = reverse("patients:thresholds", args=[patient_a.pk])
    response = client.post(url, {"kind": "heart_rate", "rule_type": "upper", "limit": "110"})
    assert response.status_code == 302
    rule = ThresholdRule.objects.get(is_active=True)
    assert (rule.patient, rule.limit) == (patient_a, Decimal(110))
    client.post(reverse("patients:threshold_remove", args=[patient_a.pk, rule.pk]))
    assert not ThresholdRule.objects.filter(is_active=True).exists()


def test_alert_timestamps_are_kept_for_the_missing_reading_check(alice, patient_a, clinic_a):
    """The daily check uses the time it is given (time-travel safe)."""
    rule_create(clinic=clinic_a, actor=alice, patient=patient_a, kind="weight",
                rule_type=RuleType.NO_READING, days=2)  # fmt: skip
    later = timezone.now() + datetime.timedelta(days=10)
    assert alerts_check_missing_readings(clinic_id=clinic_a.pk, now=later) == 1
    assert Alert.objects.get().raised_at == later


# --- one open alert per rule, in the database --------------------------------------------------


def open_alert(rule, patient, **fields) -> Alert:
    return Alert.objects.create(
        clinic=patient.clinic, patient=patient, rule=rule, kind=rule.kind,
        rule_type=rule.rule_type, **fields,
    )  # fmt: skip


def test_the_database_refuses_a_second_open_alert_for_a_rule(alice, patient_a):
    """Whatever code writes it: one open alert per rule and patient."""
    rule = bp_rule(patient_a.clinic, alice, patient_a)
    open_alert(rule, patient_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        open_alert(rule, patient_a)
    assert Alert.objects.count() == 1


def test_acknowledged_alerts_and_other_patients_do_not_count(alice, patient_a, clinic_a):
    """An acknowledged alert, or a clinic default rule's alert for another patient, leaves
    room for an open one."""
    rule = bp_rule(clinic_a, alice)  # the clinic default, for every patient
    other = PatientFactory(clinic=clinic_a)
    open_alert(rule, patient_a, acknowledged_at=timezone.now())
    open_alert(rule, patient_a)
    open_alert(rule, other)
    assert Alert.objects.open().count() == 2


def test_evaluating_the_same_readings_twice_raises_one_alert(alice, patient_a):
    """Once evaluated, again: one alert, and the second evaluation raises none."""
    bp_rule(patient_a.clinic, alice, patient_a)
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=170, diastolic=99)
    assert len(alerts_evaluate(patient=patient_a, measurements=patient_a.measurements.all())) == 1
    assert alerts_evaluate(patient=patient_a, measurements=patient_a.measurements.all()) == []
    assert Alert.objects.count() == 1


def test_an_evaluation_racing_another_neither_fails_nor_doubles(alice, patient_a, monkeypatch):
    """The second evaluation saw no open alert (the first had not committed yet when it
    looked): its insert meets the constraint, is skipped, and its transaction goes on."""
    bp_rule(patient_a.clinic, alice, patient_a)
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=170, diastolic=99)
    alerts_evaluate(patient=patient_a, measurements=patient_a.measurements.all())
    monkeypatch.setattr(alerts, "open_alerts", lambda **kwargs: Alert.objects.none())
    with transaction.atomic():
        assert alerts_evaluate(patient=patient_a, measurements=patient_a.measurements.all()) == []
        assert Alert.objects.count() == 1  # the transaction is still usable


def test_a_missing_readings_check_racing_another_neither_fails_nor_doubles(
    alice, patient_a, clinic_a, monkeypatch
):
    """The same for the daily no-reading check: nothing raised the second time, no error."""
    rule_create(clinic=clinic_a, actor=alice, patient=None, kind="blood_pressure",
                rule_type=RuleType.NO_READING, days=3)  # fmt: skip
    assert alerts_check_missing_readings(clinic_id=clinic_a.pk) == 1
    monkeypatch.setattr(alerts, "open_alerts", lambda **kwargs: Alert.objects.none())
    assert alerts_check_missing_readings(clinic_id=clinic_a.pk) == 0
    assert Alert.objects.count() == 1
