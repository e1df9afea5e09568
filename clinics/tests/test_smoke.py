from django.urls import reverse


def test_professional_with_both_factors_reaches_the_patient_list(client_for, alice, patient_a):
    """A verified professional lands on the patient list of their clinic."""
    response = client_for(alice).get(reverse("patients:list"))
    assert response.status_code == 200
    assert "Paul de Vries" in response.content.decode()
