from django.urls import reverse

from patients.tests.factories import PatientFactory


def test_professional_with_both_factors_reaches_the_patient_list(client_for, alice, patient_a):
    """A verified professional lands on the patient list of their clinic."""
    response = client_for(alice).get(reverse("patients:list"))
    assert response.status_code == 200
    assert "Paul de Vries" in response.content.decode()


def test_navigation_offers_my_records_to_staff_who_are_also_patients(client_for, alice, clinic_a):
    """A professional who is a patient of a clinic sees the "my records" links; one who is not
    does not (worked out in the membership query every page makes)."""
    my_records = reverse("patients:my_records")
    client = client_for(alice)
    assert my_records not in client.get(reverse("patients:list")).content.decode()
    PatientFactory(clinic=clinic_a, user=alice)
    assert my_records in client.get(reverse("patients:list")).content.decode()
