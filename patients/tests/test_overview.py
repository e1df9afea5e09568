"""The patient overview: a professional's home page of a record, built from registered panels."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinics.models import AccessLogEntry, AccessPart
from patients import overview
from patients.measurements.alerts import alerts_evaluate
from patients.models import (
    Alert,
    ImportBatch,
    ImportStatus,
    Measurement,
    MeasurementSource,
)
from patients.overview import Panel
from patients.tests.factories import PatientFactory, add_measurement
from patients.tests.test_alerts import bp_rule

pytestmark = pytest.mark.django_db


def test_a_patients_name_opens_the_overview_with_latest_values_alerts_and_charts(
    client_for, alice, patient_a, clinic_a
):
    bp_rule(clinic_a, alice, systolic=150)
    add_measurement(patient_a, 3, kind="weight", value=Decimal("80.25"))
    add_measurement(patient_a, 0.05, kind="blood_pressure", systolic=168, diastolic=99)
    alerts_evaluate(patient=patient_a, measurements=Measurement.objects.filter(patient=patient_a))
    client = client_for(alice)
    dashboard = client.get(reverse("patients:list")).content.decode()
    url = reverse("patients:overview", args=[patient_a.pk])
    assert f'href="{url}"' in dashboard
    before = AccessLogEntry.objects.count()
    page = client.get(url).content.decode()
    # What needs attention, with its acknowledge button, first.
    assert page.index("Heeft aandacht nodig") < page.index("Laatste waarden")
    assert reverse("patients:alert_ack", args=[patient_a.pk, Alert.objects.get().pk]) in page
    # Latest values, the blood pressure marked as above its limit in words.
    assert re.search(r"boven de grens:</span>\s*168/99", page)
    assert "80,3" in page and "3 dagen geleden" in page
    # The last 30 days of the key kinds, and contact details one click away.
    assert page.count("data-sparkline=") == 2
    assert reverse("patients:detail", args=[patient_a.pk]) in page
    assert AccessLogEntry.objects.count() == before + 1
    entry = AccessLogEntry.objects.latest("id")
    assert entry.part == AccessPart.MEASUREMENTS and entry.patient_id == patient_a.pk


def test_acknowledging_on_the_overview_returns_to_it(client_for, alice, patient_a, clinic_a):
    bp_rule(clinic_a, alice, systolic=150)
    add_measurement(patient_a, 0.05, kind="blood_pressure", systolic=168, diastolic=99)
    alerts_evaluate(patient=patient_a, measurements=Measurement.objects.filter(patient=patient_a))
    alert = Alert.objects.get()
    response = client_for(alice).post(
        reverse("patients:alert_ack", args=[patient_a.pk, alert.pk]), {"back": "overview"}
    )
    assert response.url == reverse("patients:overview", args=[patient_a.pk])
    alert.refresh_from_db()
    assert alert.acknowledged_by == alice
    # Still above the limit: the overview says so, without an acknowledge button.
    page = client_for(alice).get(response.url).content.decode()
    assert "Bloeddruk: laatste meting boven 150/95 mmHg" in page
    assert "alert_ack" not in page and "/acknowledge/" not in page


def test_recent_imports_are_listed_newest_first(client_for, alice, patient_a, clinic_a):
    for name in ("first.csv", "second.csv"):
        ImportBatch.objects.create(
            clinic=clinic_a, patient=patient_a, uploaded_by=alice,
            source=MeasurementSource.FILE_IMPORT,
            filename=name, format="omron", status=ImportStatus.DONE, rows_imported=12,
        )  # fmt: skip
    page = client_for(alice).get(reverse("patients:overview", args=[patient_a.pk])).content
    page = page.decode()
    assert page.index("second.csv") < page.index("first.csv")


def test_a_new_patient_overview_invites_the_first_measurement(client_for, alice, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    page = client_for(alice).get(reverse("patients:overview", args=[patient.pk])).content.decode()
    assert "Nog geen metingen." in page and "Heeft aandacht nodig" not in page


def test_a_registered_panel_appears_in_its_order(client_for, alice, patient_a):
    """Later features add panels (program, messages, documents) without touching the view."""
    panel = Panel("test-panel", 15, "patients/panels/imports.html", lambda request, scope: {
        "batches": [],
    })  # fmt: skip
    overview.overview_panel_register(panel)
    try:
        page = client_for(alice).get(reverse("patients:overview", args=[patient_a.pk]))
        names = [p.name for p, _context in page.context["panels"]]
        assert names.index("test-panel") == names.index("latest") - 1
    finally:
        overview._panels.pop("test-panel")


def test_the_overview_costs_the_same_queries_with_more_data(client_for, alice, clinic_a):
    small, large = PatientFactory(clinic=clinic_a), PatientFactory(clinic=clinic_a)
    bp_rule(clinic_a, alice, systolic=150)
    add_measurement(small, 1, kind="weight", value=Decimal("80"))
    add_measurement(small, 1, kind="blood_pressure", systolic=130, diastolic=80)
    for day in range(40):
        add_measurement(large, day + 0.5, kind="weight", value=Decimal("80"))
        add_measurement(large, day + 0.6, kind="blood_pressure", systolic=130, diastolic=80)
        add_measurement(large, day + 0.7, kind="heart_rate", value=Decimal("60"))
    client = client_for(alice)
    counts = []
    for patient in (small, large):
        url = reverse("patients:overview", args=[patient.pk])
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
