"""The triage dashboard: who needs attention first and why, in words; values outside a limit
marked; the last reading in calendar days; a 30-day sparkline per key kind."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from patients.measurements.alerts import Triage, alert_acknowledge, alerts_evaluate, rule_create
from patients.models import Alert, Measurement, RuleType
from patients.selectors import dashboard_patients
from patients.tests.factories import PatientFactory, add_measurement
from patients.tests.test_alerts import bp_rule

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def no_reading(clinic, actor, days, patient=None):
    return rule_create(
        clinic=clinic, actor=actor, patient=patient, kind="blood_pressure",
        rule_type=RuleType.NO_READING, days=days,
    )  # fmt: skip


def listed(client, **query):
    response = client.get(reverse("patients:list"), query)
    return response, [patient for patient, _summary in response.context["rows"]]


def test_patients_who_need_attention_come_first_with_the_reason_in_words(
    client_for, alice, clinic_a, paul, patient_a
):
    """An open alert first, then a latest value still above the limit after its alert was
    acknowledged, then no reading for longer than the rule allows; then everyone else."""
    quiet = PatientFactory(clinic=clinic_a)
    add_measurement(quiet, 1, kind="blood_pressure", systolic=120, diastolic=80)
    acknowledged = PatientFactory(clinic=clinic_a)
    alerting = PatientFactory(clinic=clinic_a)
    bp_rule(clinic_a, alice, systolic=150)
    no_reading(clinic_a, alice, 3)
    add_measurement(patient_a, 5, kind="blood_pressure", systolic=120, diastolic=80)  # overdue
    for patient in (acknowledged, alerting):
        add_measurement(patient, 0.1, kind="blood_pressure", systolic=170, diastolic=100)
    for patient in (acknowledged, alerting):
        alerts_evaluate(patient=patient, measurements=Measurement.objects.filter(patient=patient))
    alert_acknowledge(clinic=clinic_a, actor=alice, alert=Alert.objects.get(patient=acknowledged))

    response, rows = listed(client_for(alice))
    assert rows == [alerting, patient_a, acknowledged, quiet]
    summaries = dict(response.context["rows"])
    assert [r.text for r in summaries[alerting].reasons] == [
        "Bloeddruk boven 150/95 mmHg: 170/100 mmHg"
    ]
    assert summaries[alerting].reasons[0].is_alert
    assert [r.text for r in summaries[acknowledged].reasons] == [
        "Bloeddruk: laatste meting boven 150/95 mmHg"
    ]
    # patient_a has an account (paul): no blood pressure for 5 days breaks the 3-day rule.
    assert [r.text for r in summaries[patient_a].reasons] == ["Bloeddruk: geen meting in 3 dagen"]
    assert summaries[quiet].reasons == []
    page = response.content.decode()
    assert page.count('class="needs-attention"') == 3
    # The value outside the limit: a symbol and words, not colour alone.
    assert re.search(
        r"▲</span><span class=\"visually-hidden\">boven de grens:</span>\s*170/100", page
    )


def test_a_patients_own_rule_replaces_the_clinic_default_in_the_triage(
    client_for, alice, clinic_a, patient_a
):
    """A clinic default of 150/95 is crossed by 155/90; the patient's own 160/100 is not."""
    bp_rule(clinic_a, alice, systolic=150)
    rule_create(
        clinic=clinic_a, actor=alice, patient=patient_a, kind="blood_pressure",
        rule_type=RuleType.UPPER, limit=Decimal(160), limit_diastolic=Decimal(100),
    )  # fmt: skip
    other = PatientFactory(clinic=clinic_a)
    for patient in (patient_a, other):
        add_measurement(patient, 1, kind="blood_pressure", systolic=155, diastolic=90)
    triage = Triage.for_clinic(clinic_a.pk)
    holding = {p.pk: p.holding_rule_ids for p in dashboard_patients(clinic=clinic_a, triage=triage)}
    assert holding[patient_a.pk] == [] and len(holding[other.pk]) == 1


def test_the_other_sorts_still_apply(client_for, alice, clinic_a, patient_a):
    """Patient number is still a choice: lowest first, whatever needs attention."""
    later = PatientFactory(clinic=clinic_a)
    bp_rule(clinic_a, alice, systolic=150)
    add_measurement(later, 1, kind="blood_pressure", systolic=170, diastolic=100)
    _response, by_number = listed(client_for(alice), sort="number")
    assert by_number == [patient_a, later]
    _response, by_attention = listed(client_for(alice))
    assert by_attention == [later, patient_a]


@pytest.mark.parametrize(
    ("reading_at", "now", "shown"),
    [
        # 22:00 yesterday, seen at 08:00: fewer than 24 hours, but yesterday.
        ((2026, 11, 29, 22, 0), (2026, 11, 30, 8, 0), "gisteren"),
        ((2026, 11, 30, 0, 30), (2026, 11, 30, 8, 0), "vandaag"),
        ((2026, 11, 27, 23, 59), (2026, 11, 30, 0, 1), "3 dagen geleden"),
    ],
)
def test_last_reading_counts_calendar_days_in_the_clinics_time_zone(
    client_for, alice, patient_a, reading_at, now, shown
):
    with time_machine.travel(datetime.datetime(*now, tzinfo=AMSTERDAM), tick=False):
        hours = (datetime.datetime(*now) - datetime.datetime(*reading_at)).total_seconds() / 3600
        add_measurement(patient_a, hours / 24, kind="weight", value=Decimal("80"))
        page = client_for(alice).get(reverse("patients:list")).content.decode()
    assert re.search(rf"<time [^>]*>{shown}</time>", page)


def test_sparklines_carry_the_daily_means_of_the_last_30_days(client_for, alice, patient_a):
    """Two readings on one day are one point, their mean; a reading 40 days ago is left out."""
    # At noon, so that 2.1 and 2.0 days ago fall on one local day (soon after midnight they
    # would not).
    with time_machine.travel(datetime.datetime(2026, 11, 30, 12, 0, tzinfo=AMSTERDAM), tick=False):
        add_measurement(patient_a, 2.1, kind="weight", value=Decimal("80"))
        add_measurement(patient_a, 2.0, kind="weight", value=Decimal("81"))
        add_measurement(patient_a, 0.01, kind="weight", value=Decimal("79.25"))
        add_measurement(patient_a, 40, kind="weight", value=Decimal("90"))
        page = client_for(alice).get(reverse("patients:list")).content.decode()
    spark = re.search(r'data-sparkline="([^"]+)"', page).group(1)
    (first_day, first_mean), (last_day, last_mean) = (p.split(":") for p in spark.split(","))
    assert (first_mean, last_mean) == ("80.5", "79.25")
    assert int(last_day) == 29 and int(first_day) in (26, 27)
    assert "sparkline.js" in page


def test_blood_pressure_sparklines_carry_systolic_and_diastolic(client_for, alice, patient_a):
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=140, diastolic=90)
    page = client_for(alice).get(reverse("patients:list")).content.decode()
    assert re.search(r'data-sparkline="\d+:140:90"', page)


def test_the_trend_compares_calendar_weeks_in_the_clinics_time_zone(client_for, alice, patient_a):
    """The last 7 days are today and the 6 before, local days: at 08:00 a reading of 23:30 seven
    days ago (local) belongs to the week before, though it is fewer than 7 × 24 hours old."""
    now = datetime.datetime(2026, 11, 30, 8, 0, tzinfo=AMSTERDAM)
    with time_machine.travel(now, tick=False):
        for when, weight in (
            ((2026, 11, 17, 12, 0), "79"),
            ((2026, 11, 23, 23, 30), "80"),
            ((2026, 11, 28, 9, 0), "79"),
        ):
            days = (now - datetime.datetime(*when, tzinfo=AMSTERDAM)).total_seconds() / 86400
            add_measurement(patient_a, days, kind="weight", value=Decimal(weight))
        row = dict(client_for(alice).get(reverse("patients:list")).context["rows"])[patient_a]
    # 79 this week against 79.5 the week before (by 24-hour periods: 79.5 against 79, up).
    assert row.latest["weight"].trend == -1


def test_the_legend_explains_the_trend(client_for, alice, patient_a):
    add_measurement(patient_a, 1, kind="weight", value=Decimal("80"))
    page = client_for(alice).get(reverse("patients:list")).content.decode()
    assert "vorige week" in page or "week ervoor" in page


def test_the_list_pages_searches_and_filters_in_one_statement_a_page(
    client_for, alice, clinic_a, patient_a
):
    """25 a page, page 2 holds the rest; a name search and the open-alerts filter narrow the
    same list; another clinic's patients never appear."""
    PatientFactory.create_batch(27, clinic=clinic_a)
    PatientFactory(clinic=clinic_a, given_name="Zoë", family_name="Zwartjes")
    client = client_for(alice)
    _response, first = listed(client)
    _response, second = listed(client, page=2)
    assert len(first) == 25 and len(second) == 4 and not set(first) & set(second)
    _response, found = listed(client, q="Zwartjes")
    assert [p.family_name for p in found] == ["Zwartjes"]
    _response, nobody = listed(client, q="Nergens")
    assert nobody == []
    bp_rule(clinic_a, alice, systolic=150)
    add_measurement(patient_a, 0.1, kind="blood_pressure", systolic=170, diastolic=100)
    alerts_evaluate(patient=patient_a, measurements=Measurement.objects.filter(patient=patient_a))
    _response, alerting = listed(client, alerts="on")
    assert alerting == [patient_a]


def test_a_page_of_the_list_and_its_length_are_one_statement(
    client_for, alice, clinic_a, patient_a, django_assert_num_queries
):
    """The page's rows carry the list's length; a page number that is no page's gives the
    first page, one past the end the last (as Django's get_page), with the right page count."""
    PatientFactory.create_batch(27, clinic=clinic_a)
    patients = dashboard_patients(clinic=clinic_a, triage=Triage.for_clinic(clinic_a.pk))
    with django_assert_num_queries(1):
        page = patients.page("2", per_page=25)
        assert page.number == 2 and len(page) == 3 and page.paginator.num_pages == 2
        assert not page.has_next() and page.has_previous()
    for junk in ("", "x", None, "-3", "0"):
        assert patients.page(junk, per_page=25).number == 1
    last = patients.page("9", per_page=25)
    assert last.number == 2 and len(last) == 3
    client = client_for(alice)
    _response, shown = listed(client, page=9)
    assert len(shown) == 3
    _response, shown = listed(client, q="Nergens", page=2)
    assert shown == []
