"""Who reaches which document (T16, T18, T31): another clinic's is a 404 on every URL, the
patient never sees a staff-only document (not even that it exists) nor another patient's,
counsellors see none, and every staff request is one access-log entry; the patient's own
requests none."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinics.models import AccessAction, AccessLogEntry, AccessOutcome, AccessPart
from documents.models import RecordDocument
from documents.tests import samples
from documents.tests.conftest import own_url, staff_url
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

DOCUMENT_URLS = ("detail", "download", "preview", "staff_only", "delete")
POST_ONLY = {"staff_only", "delete"}


def request(client, name: str, url: str):
    return client.post(url, {"staff_only": "on"}) if name in POST_ONLY else client.get(url)


def test_another_clinics_professional_gets_404_on_every_url_of_a_document(
    client_for, alice, charlie, patient_a, add_document
):
    """Clinic B's professional: 404 everywhere, by the record's id or the document's, and the
    document and its file stay as they were."""
    document = add_document(patient_a, by=alice, content=samples.image("PNG"), name="a.png")
    client = client_for(charlie)
    for name in ("list", "upload"):
        assert client.get(staff_url(name, patient=patient_a)).status_code == 404
    for name in DOCUMENT_URLS:
        assert request(client, name, staff_url(name, document)).status_code == 404, name
    assert RecordDocument.objects.get().is_staff_only is False


def test_a_document_of_another_record_is_a_404_under_this_record(
    client_for, alice, patient_a, add_document
):
    """A document id under a record it is not on: 404, even in the same clinic."""
    other = PatientFactory(clinic=patient_a.clinic)
    document = add_document(other, by=alice)
    url = reverse(
        "documents:download", kwargs={"patient_id": patient_a.pk, "document_id": document.pk}
    )
    assert client_for(alice).get(url).status_code == 404


def test_a_patient_never_sees_a_staff_only_document(
    client_for, alice, paul, patient_a, add_document
):
    """Not in their list, and 404 on its page, download and preview, like a missing one."""
    shown = add_document(patient_a, by=alice, title="Oefenschema")
    hidden = add_document(patient_a, by=alice, title="Interne notitie", is_staff_only=True,
                          content=samples.image("PNG"), name="intern.png")  # fmt: skip
    client = client_for(paul)
    listing = client.get(own_url("list", patient=patient_a))
    assert [d for d, _links in listing.context["rows"]] == [shown]
    assert "Interne notitie" not in listing.content.decode()
    for name in ("detail", "download", "preview", "delete"):
        assert request(client, name, own_url(name, hidden)).status_code == 404, name
    assert RecordDocument.objects.filter(pk=hidden.pk).exists()


def test_a_patient_cannot_reach_another_patients_document(
    client_for, alice, paul, patient_a, add_document
):
    """Another record of the same clinic: 404 by its record id and under Paul's own."""
    other = PatientFactory(clinic=patient_a.clinic)
    document = add_document(other, by=alice)
    client = client_for(paul)
    assert client.get(own_url("download", document)).status_code == 404
    under_mine = reverse(
        "documents:my_download", kwargs={"record_id": patient_a.pk, "document_id": document.pk}
    )
    assert client.get(under_mine).status_code == 404


def test_a_counsellor_is_refused_every_staff_url(client_for, alice, cora, patient_a, add_document):
    """Counsellors see no medical data: 403 on the list and on the document's pages."""
    document = add_document(patient_a, by=alice)
    client = client_for(cora)
    assert client.get(staff_url("list", patient=patient_a)).status_code == 403
    for name in DOCUMENT_URLS:
        assert request(client, name, staff_url(name, document)).status_code == 403, name


def test_a_clinic_admin_works_with_documents_too(client_for, adam, patient_a, add_document):
    """Professionals and admins: the admin sees the list and downloads."""
    document = add_document(patient_a, by=adam)
    client = client_for(adam)
    assert client.get(staff_url("list", patient=patient_a)).status_code == 200
    assert client.get(staff_url("download", document)).status_code == 200


def entries_since(pk: int) -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.filter(pk__gt=pk).order_by("pk"))


def last_entry_pk() -> int:
    return AccessLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_each_staff_download_and_preview_is_its_own_access_log_entry(
    client_for, alice, patient_a, add_document
):
    """One entry per request, part "documents": a download is an export, a preview a read."""
    document = add_document(patient_a, by=alice, content=samples.image("PNG"), name="a.png")
    client = client_for(alice)
    start = last_entry_pk()
    client.get(staff_url("download", document))
    client.get(staff_url("download", document), HTTP_RANGE="bytes=0-9")
    client.get(staff_url("preview", document))
    assert [(e.patient_id, e.part, e.action, e.outcome) for e in entries_since(start)] == [
        (patient_a.pk, AccessPart.DOCUMENTS, AccessAction.EXPORT, AccessOutcome.SUCCESS),
        (patient_a.pk, AccessPart.DOCUMENTS, AccessAction.EXPORT, AccessOutcome.SUCCESS),
        (patient_a.pk, AccessPart.DOCUMENTS, AccessAction.READ, AccessOutcome.SUCCESS),
    ]
    assert all(e.user_id == alice.pk for e in entries_since(start))


def test_the_patients_own_requests_write_no_entry(client_for, alice, paul, patient_a, add_document):
    """A patient reading their own documents is no access by someone else."""
    document = add_document(patient_a, by=alice, content=samples.image("PNG"), name="a.png")
    client = client_for(paul)
    start = last_entry_pk()
    for name in ("detail", "download", "preview"):
        assert client.get(own_url(name, document)).status_code == 200
    assert client.get(own_url("list", patient=patient_a)).status_code == 200
    assert entries_since(start) == []


def test_the_staff_list_costs_a_fixed_number_of_queries(
    client_for, alice, patient_a, add_document, django_assert_max_num_queries
):
    """However many documents: the page's queries do not grow with them."""
    client = client_for(alice)
    url = staff_url("list", patient=patient_a)
    add_document(patient_a, by=alice)
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for _ in range(6):
        add_document(patient_a, by=alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
