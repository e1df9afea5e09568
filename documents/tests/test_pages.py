"""Where documents show: the professional's overview panel, the patient's "my records" page,
and the demo's documents."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinics.demo import CLINICS, SeededClinic
from documents.demo import documents_demo_seed
from documents.models import RecordDocument
from documents.tests import samples
from documents.tests.conftest import own_url, staff_url
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_overview_panel_shows_the_newest_five_and_links_to_all(
    client_for, alice, patient_a, add_document
):
    """Six documents: the panel lists the newest five, with links to the list and the upload."""
    titles = [f"Document {n}" for n in range(6)]
    for title in titles:
        add_document(patient_a, by=alice, title=title)
    response = client_for(alice).get(reverse("patients:overview", args=[patient_a.pk]))
    page = response.content.decode()
    assert 'id="documents"' in page
    assert all(title in page for title in titles[1:]) and titles[0] not in page
    assert staff_url("list", patient=patient_a) in page
    assert staff_url("upload", patient=patient_a) in page


def test_the_overview_panel_offers_the_upload_when_there_is_none(client_for, alice, patient_a):
    """An empty record still shows the panel: it is where a document is added."""
    page = client_for(alice).get(reverse("patients:overview", args=[patient_a.pk]))
    assert staff_url("upload", patient=patient_a) in page.content.decode()


def test_my_records_links_to_my_documents(client_for, paul, patient_a):
    """The patient reaches their documents from their records page."""
    page = client_for(paul).get(reverse("patients:my_records")).content.decode()
    assert own_url("list", patient=patient_a) in page


def test_the_patients_list_shows_their_visible_documents(
    client_for, alice, paul, patient_a, add_document
):
    """Title, type and who added it: the clinic, or "you"."""
    add_document(patient_a, by=alice, title="Oefenschema")
    add_document(patient_a, by=paul, title="Mijn foto", content=samples.image("PNG"),
                 name="ik.png", is_from_patient=True)  # fmt: skip
    client = client_for(paul)
    client.cookies["django_language"] = "en"
    page = client.get(own_url("list", patient=patient_a)).content.decode()
    assert "Oefenschema" in page and "Mijn foto" in page and "PNG image" in page


def test_the_demo_gives_every_patient_documents_one_of_them_staff_only(alice, clinic_a):
    """Two or three documents each, a real PDF and PNG among them, one staff-only; a second
    run adds none."""
    patients = [PatientFactory(clinic=clinic_a), PatientFactory(clinic=clinic_a)]
    seeded = SeededClinic(clinic_a, CLINICS[0], {"fysio1": alice})
    documents_demo_seed(seeded)
    for patient in patients:
        documents = RecordDocument.objects.filter(patient=patient)
        assert 2 <= documents.count() <= 3
        assert documents.filter(is_staff_only=True).count() == 1
        assert {"application/pdf", "image/png"} <= set(
            documents.values_list("content_type", flat=True)
        )
    count = RecordDocument.objects.count()
    documents_demo_seed(seeded)
    assert RecordDocument.objects.count() == count
