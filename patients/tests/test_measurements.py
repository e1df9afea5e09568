"""Manual entry, the measurement page and the clinic dashboard."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from clinics.models import AccessLogEntry, AccessPart
from patients.measurements.selectors import dashboard_summaries
from patients.models import Measurement, MeasurementSource
from patients.tests.factories import PatientFactory, add_measurement

NOW_INPUT = "%Y-%m-%dT%H:%M"


def bp_form(**overrides):
    data = {
        "kind": "blood_pressure",
        "measured_at": timezone.localtime().strftime(NOW_INPUT),
        "systolic": "128",
        "diastolic": "84",
        "pulse": "66",
    }
    return {**data, **overrides}


def test_professional_records_a_blood_pressure_for_a_patient(client_for, alice, patient_a):
    """The reading is stored with provenance: source, who entered it, when received."""
    url = reverse("patients:measurement_add", args=[patient_a.pk])
    response = client_for(alice).post(url, bp_form(irregular_heartbeat="on"))
    assert response.status_code == 302
    m = Measurement.objects.get()
    assert (m.systolic, m.diastolic, m.pulse, m.irregular_heartbeat) == (128, 84, 66, True)
    assert m.source == MeasurementSource.MANUAL_PROFESSIONAL and m.entered_by == alice
    assert m.clinic_id == patient_a.clinic_id and m.received_at is not None


def test_patient_records_their_own_weight(client_for, paul, patient_a):
    """A patient's entry is marked as entered by the patient."""
    url = reverse("patients:my_measurement_add", args=[patient_a.pk])
    data = {"kind": "weight", "measured_at": bp_form()["measured_at"], "value": "81.46"}
    assert client_for(paul).post(url, data).status_code == 302
    m = Measurement.objects.get()
    assert m.value == Decimal("81.46") and m.source == MeasurementSource.MANUAL_PATIENT


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"systolic": "80", "diastolic": "90"}, "systolic pressure must be higher"),
        ({"systolic": "400"}, "between 50 and 300"),
        ({"diastolic": ""}, "both a systolic and a diastolic"),
        ({"measured_at": "2999-01-01T10:00"}, "in the future"),
        # The ends of the calendar: outside UTC's range in the patient's zone (T44).
        ({"measured_at": "0001-01-01T00:00"}, "too far in the past"),
        ({"measured_at": "1899-12-31T23:59"}, "too far in the past"),
        ({"measured_at": "9999-12-31T23:59"}, "in the future"),
        ({"kind": "weight", "value": "80", "measured_at": "0001-01-01T00:00"}, "too far in"),
        ({"kind": "spo2", "value": "130"}, "between 50 and 100"),
        ({"kind": "weight", "value": ""}, "value is missing"),
    ],
)
def test_implausible_entries_get_a_clear_error_and_change_nothing(
    client_for, alice, patient_a, overrides, message
):
    """Range, systolic above diastolic, not in the future: a clear message, nothing stored."""
    client = client_for(alice)
    client.cookies["django_language"] = "en"
    url = reverse("patients:measurement_add", args=[patient_a.pk])
    response = client.post(url, bp_form(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Measurement.objects.exists()


def test_the_same_reading_twice_is_refused(client_for, alice, patient_a):
    """An exact duplicate is not stored again."""
    client = client_for(alice)
    url = reverse("patients:measurement_add", args=[patient_a.pk])
    data = bp_form()
    client.post(url, data)
    assert client.post(url, data).status_code == 200
    assert Measurement.objects.count() == 1


def test_measurement_page_shows_latest_values_statistics_and_logs_the_read(
    client_for, alice, patient_a
):
    """Latest per kind, the period's readings and statistics; the read lands in the access log."""
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=140, diastolic=90)
    add_measurement(patient_a, 2, kind="blood_pressure", systolic=120, diastolic=80)
    add_measurement(patient_a, 40, kind="blood_pressure", systolic=200, diastolic=100)
    add_measurement(patient_a, 3, kind="weight", value=Decimal("80.0"))
    url = reverse("patients:measurements", args=[patient_a.pk])
    page = client_for(alice).get(url, {"kind": "blood_pressure", "period": "30d"})
    body = page.content.decode()
    assert "140/90" in body and "120/80" in body and "200/100" not in body.split("<table")[1]
    assert page.context["stats"].count == 2 and page.context["stats"].systolic_mean == 130
    entry = AccessLogEntry.objects.get(part=AccessPart.MEASUREMENTS)
    assert entry.patient == patient_a and entry.user == alice


def test_patient_sees_only_their_own_measurement_pages(client_for, paul, patient_a, clinic_a):
    """Another record's measurement page is a 404 for the patient."""
    other = PatientFactory(clinic=clinic_a)
    client = client_for(paul)
    assert client.get(reverse("patients:my_measurements", args=[patient_a.pk])).status_code == 200
    assert client.get(reverse("patients:my_measurements", args=[other.pk])).status_code == 404


def test_dashboard_shows_latest_values_trend_and_days_since(client_for, alice, patient_a):
    """The professional's list shows each patient's latest blood pressure with its trend."""
    add_measurement(patient_a, 3, kind="blood_pressure", systolic=150, diastolic=95)
    add_measurement(patient_a, 5, kind="blood_pressure", systolic=130, diastolic=85)
    response = client_for(alice).get(reverse("patients:list"))
    row = dict(response.context["rows"])[patient_a]
    assert row.latest["blood_pressure"].systolic == 150
    assert row.latest["blood_pressure"].trend == 1
    assert row.days_since_last_reading == 3


def test_clinic_admin_does_not_see_measurements_on_the_list(client_for, adam, patient_a):
    """Measurements are medical data: the admin's list has no measurement columns."""
    add_measurement(patient_a, 1, kind="blood_pressure", systolic=150, diastolic=95)
    response = client_for(adam).get(reverse("patients:list"))
    assert "150/95" not in response.content.decode()


def test_dashboard_query_count_does_not_grow_with_patients(
    client_for, alice, clinic_a, django_assert_max_num_queries
):
    """Twenty patients with readings cost the same number of queries as two."""
    client = client_for(alice)

    def queries_for(count: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for _ in range(count):
            p = PatientFactory(clinic=clinic_a)
            add_measurement(p, 1, kind="weight", value=Decimal("70"))
            add_measurement(p, 2, kind="weight", value=Decimal("71"))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("patients:list")).status_code == 200
        return len(ctx.captured_queries)

    assert queries_for(2) == queries_for(18)


def test_fhir_export_is_a_valid_r4_bundle_with_codes_units_patient_and_device(
    client_for, alice, patient_a
):
    """Observations with LOINC and UCUM, the blood-pressure panel's components, a Device entry."""
    from fhir.resources.R4B.bundle import Bundle

    add_measurement(patient_a, 1, kind="blood_pressure", systolic=132, diastolic=85, pulse=70,
                    irregular_heartbeat=False, device="OMRON M7")  # fmt: skip
    add_measurement(patient_a, 2, kind="weight", value=Decimal("80.4"))
    response = client_for(alice).get(reverse("patients:fhir_export", args=[patient_a.pk]))
    assert response["Content-Type"].startswith("application/fhir+json")
    assert "attachment" in response["Content-Disposition"]
    bundle = Bundle.model_validate_json(response.content)
    resources = {e.resource.get_resource_type(): e.resource for e in bundle.entry}
    observations = [
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "Observation"
    ]
    bp = next(o for o in observations if o.code.coding[0].code == "85354-9")
    codes = {c.code.coding[0].code: c for c in bp.component}
    assert codes["8480-6"].valueQuantity.value == 132
    assert codes["8480-6"].valueQuantity.code == "mm[Hg]"
    assert codes["8462-4"].valueQuantity.value == 85
    weight = next(o for o in observations if o.code.coding[0].code == "29463-7")
    assert (float(weight.valueQuantity.value), weight.valueQuantity.code) == (80.4, "kg")
    assert resources["Device"].deviceName[0].name == "OMRON M7"
    assert bp.device.reference == next(
        e.fullUrl for e in bundle.entry if e.resource.get_resource_type() == "Device"
    )
    assert bp.subject.reference == next(
        e.fullUrl for e in bundle.entry if e.resource.get_resource_type() == "Patient"
    )
    assert "de Vries" not in response.content.decode()  # no identifying data in the file
    entry = AccessLogEntry.objects.filter(action="export", patient=patient_a).get()
    assert entry.user == alice


def test_dashboard_trend_compares_the_last_week_with_the_week_before(client_for, alice, patient_a):
    """Mean of the last 7 days against the 7 days before, not just the last two readings."""
    for days_ago, weight in ((12, "80.0"), (10, "80.0"), (5, "82.0"), (2, "81.0"), (1, "79.9")):
        add_measurement(patient_a, days_ago, kind="weight", value=Decimal(weight))
    response = client_for(alice).get(reverse("patients:list"))
    row = dict(response.context["rows"])[patient_a]
    # The last reading fell (81.0 -> 79.9), but the week's mean (80.97) is above 80.0: up.
    assert row.latest["weight"].trend == 1


def test_table_rows_escape_names_and_device_names(client_for, alice, clinic_a):
    """The dashboard's and the readings table's rows (Jinja2 partials) escape what a patient or
    a device export put in a name: it reaches the page as text, never as HTML."""
    patient = PatientFactory(clinic=clinic_a, given_name="<b>Bold</b>", family_name='"Quote')
    add_measurement(patient, 1, kind="weight", value=Decimal("70"), device="<img src=x>")
    add_measurement(patient, 2, kind="blood_pressure", systolic=120, diastolic=80,
                    device="<script>x</script> & co")  # fmt: skip
    client = client_for(alice)
    listing = client.get(reverse("patients:list")).content.decode()
    assert "&lt;b&gt;Bold&lt;/b&gt; &#34;Quote" in listing and "<b>Bold" not in listing
    url = reverse("patients:measurements", args=[patient.pk])
    readings = client.get(url + "?kind=weight").content.decode()
    assert "&lt;img src=x&gt;" in readings and "<img src=x>" not in readings
    readings = client.get(url + "?kind=blood_pressure").content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in readings and "<script>x" not in readings


def test_readings_table_speaks_the_language_with_its_numbers_dates_and_sources(
    client_for, alice, patient_a
):
    """Dutch: decimal comma, dd-mm-yyyy, Dutch wording; English: point, dd/mm/yyyy (en-GB)."""
    bp = add_measurement(patient_a, 1, kind="blood_pressure", systolic=132, diastolic=85,
                         pulse=70, irregular_heartbeat=True, device="OMRON M7")  # fmt: skip
    add_measurement(patient_a, 2, kind="weight", value=Decimal("80.5"))
    when = timezone.localtime(bp.measured_at)
    client = client_for(alice)
    url = reverse("patients:measurements", args=[patient_a.pk])
    dutch = client.get(url + "?kind=blood_pressure").content.decode()
    assert "132/85 mmHg · 70 /min · onregelmatige hartslag" in dutch
    assert "ingevoerd door een zorgverlener · OMRON M7" in dutch
    assert f">{when:%d-%m-%Y %H:%M}<" in dutch
    assert 'data-label="Gemeten op"' in dutch and 'data-label="Bron"' in dutch
    assert "80,5 kg" in client.get(url + "?kind=weight").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(url + "?kind=blood_pressure").content.decode()
    assert "132/85 mmHg · 70 /min · irregular heartbeat" in english
    assert "entered by a professional · OMRON M7" in english
    assert f">{when:%d/%m/%Y %H:%M}<" in english
    assert 'data-label="Measured at"' in english
    assert "80.5 kg" in client.get(url + "?kind=weight").content.decode()


def test_dashboard_rows_show_age_trend_alerts_and_account_in_dutch(client_for, alice, patient_a):
    """The last reading's age in days (Dutch plural), the trend's words and the account state."""
    for days_ago, weight in ((12, "80.0"), (10, "80.0"), (5, "82.0"), (3, "81.0")):
        add_measurement(patient_a, days_ago, kind="weight", value=Decimal(weight))
    page = client_for(alice).get(reverse("patients:list")).content.decode()
    assert "3 dagen geleden" in page
    assert '<span class="trend" title="hoger dan de week ervoor" aria-hidden="true">↑' in page
    assert 'data-label="Laatste meting"' in page and 'data-label="Gewicht"' in page
    assert re.search(r'data-label="Account" class="optional-cell">\s*gekoppeld\s*</td>', page)


def test_dashboard_summaries_hold_to_the_clinic_they_are_asked_for(db, patient_a, clinic_b):
    """Asked for another clinic, a patient's readings are not summarised (defence in depth
    beside the page's own scoping)."""
    add_measurement(patient_a, 1, kind="weight", value=Decimal("70"))
    patient_a.last_reading_at = None
    summary = dashboard_summaries(clinic_id=clinic_b.pk, patients=[patient_a])[patient_a.pk]
    assert summary.latest == {}
    own = dashboard_summaries(clinic_id=patient_a.clinic_id, patients=[patient_a])[patient_a.pk]
    assert own.latest["weight"].value == Decimal("70")


def test_dashboard_numbers_and_links_follow_the_language_and_the_patient(
    client_for, alice, patient_a
):
    """Dutch shows a decimal comma, English a point; each row links to its own patient."""
    add_measurement(patient_a, 1, kind="weight", value=Decimal("80.5"))
    add_measurement(patient_a, 1, kind="heart_rate", value=Decimal("61"))
    client = client_for(alice)
    dutch = client.get(reverse("patients:list")).content.decode()
    assert "80,5 kg" in dutch and "61 /min" in dutch and "gisteren" in dutch
    assert f'href="{reverse("patients:overview", args=[patient_a.pk])}"' in dutch
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(reverse("patients:list")).content.decode()
    assert "80.5 kg" in english and "yesterday" in english


def test_values_are_shown_rounded_half_up_in_the_users_language(client_for, alice, patient_a):
    """A stored 77.85 kg reads 77,9 kg in Dutch and 77.9 kg in English (never 77,8)."""
    add_measurement(patient_a, 1, kind="weight", value=Decimal("77.85"))
    stored = Measurement.objects.get(kind="weight")
    assert stored.value == Decimal("77.85")
    client = client_for(alice)
    url = reverse("patients:measurements", args=[patient_a.pk]) + "?kind=weight"
    assert "77,9 kg" in client.get(url).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "77.9 kg" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("value", "places", "language", "shown"),
    [("77.85", 1, "en", "77.9"), ("77.85", 1, "nl", "77,9"), ("3.05", 1, "en", "3.1"),
     ("2.5", 0, "en", "3"), ("55.71", 1, "nl", "55,7")],
)  # fmt: skip
def test_display_helpers_round_half_up(value, places, language, shown):
    """`fixed` (Jinja2 tables) and `fixed_decimals` (alerts) round half up, not half even."""
    from django.utils import translation

    from patients.models import fixed_decimals
    from portal.numbers import fixed

    with translation.override(language):
        assert fixed(Decimal(value), places) == shown
    assert fixed_decimals(Decimal(value), places) == shown.replace(",", ".")


def test_chart_points_are_rounded_half_up(db, patient_a):
    """The chart's raw points of 77.85 kg are 77.9 at the catalogue's one decimal."""
    from patients.measurements.charts import chart_and_stats

    add_measurement(patient_a, 1, kind="weight", value=Decimal("77.85"))
    chart, _stats = chart_and_stats(patient=patient_a, kind="weight", since=None)
    assert chart["series"][0]["mean"] == [77.9]


@pytest.mark.parametrize(("language", "typed"), [("nl", "81,5"), ("nl", "81.5"), ("en", "81.5")])
def test_a_decimal_is_typed_in_the_users_language(client_for, alice, patient_a, language, typed):
    """A Dutch decimal comma is read as a comma, never dropped (81,5 is not 815)."""
    client = client_for(alice)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    form = client.get(reverse("patients:measurement_add", args=[patient_a.pk])).content.decode()
    assert re.search(r'<input type="text" name="value"[^>]*inputmode="decimal"', form)
    response = client.post(
        reverse("patients:measurement_add", args=[patient_a.pk]),
        {"kind": "weight", "measured_at": f"{timezone.localdate():%Y-%m-%d}T00:01", "value": typed},
    )
    assert response.status_code == 302
    assert Measurement.objects.get(patient=patient_a).value == Decimal("81.5")
