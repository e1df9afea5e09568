"""Clinic admin pages: the team, roles, removal, clinic settings."""

import pytest
from django.core import mail
from django.urls import reverse

from clinics.models import Membership, Role, StaffInvitation


def test_clinic_admin_invites_a_colleague_by_email(
    client_for, adam, django_capture_on_commit_callbacks
):
    """The invitation is stored for the clinic with the role and mailed with a single-use link."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(adam).post(
            reverse("clinics:staff_invite"),
            {"email": "New@Noord.example", "role": Role.PROFESSIONAL},
        )
    assert response.status_code == 302
    invitation = StaffInvitation.objects.get()
    assert (invitation.email, invitation.role, invitation.clinic) == (
        "new@noord.example",
        Role.PROFESSIONAL,
        adam.memberships.get().clinic,
    )
    assert len(mail.outbox) == 1 and "/invite/staff/" in mail.outbox[0].body


def test_inviting_someone_already_in_the_team_is_refused(client_for, adam, alice):
    """A clear error and no invitation for a current member."""
    response = client_for(adam).post(
        reverse("clinics:staff_invite"), {"email": alice.email, "role": Role.PROFESSIONAL}
    )
    assert response.status_code == 200
    assert not StaffInvitation.objects.exists()


def test_clinic_admin_changes_a_role(client_for, adam, alice):
    """Alice becomes a counsellor."""
    membership = alice.memberships.get()
    client_for(adam).post(
        reverse("clinics:membership_role", args=[membership.pk]), {"role": Role.COUNSELLOR}
    )
    membership.refresh_from_db()
    assert membership.role == Role.COUNSELLOR


def test_clinic_admin_removes_a_colleague_who_then_loses_access(client_for, adam, alice):
    """After removal the colleague's next request to the patient list is denied."""
    alice_client = client_for(alice)
    membership = alice.memberships.get()
    client_for(adam).post(reverse("clinics:membership_remove", args=[membership.pk]))
    membership.refresh_from_db()
    assert not membership.is_active and membership.ended_at is not None
    assert alice_client.get(reverse("patients:list")).status_code == 403


@pytest.mark.parametrize("action", ["remove", "demote"])
def test_the_last_clinic_admin_cannot_be_removed_or_demoted(client_for, adam, action):
    """A clinic always keeps an admin; the attempt changes nothing."""
    membership = adam.memberships.get()
    client = client_for(adam)
    if action == "remove":
        client.post(reverse("clinics:membership_remove", args=[membership.pk]))
    else:
        client.post(
            reverse("clinics:membership_role", args=[membership.pk]), {"role": Role.PROFESSIONAL}
        )
    membership.refresh_from_db()
    assert membership.is_active and membership.role == Role.CLINIC_ADMIN


def test_an_invalid_role_is_refused_and_changes_nothing(client_for, adam, alice):
    """A forged role value gets an error message; the membership keeps its role."""
    membership = alice.memberships.get()
    client_for(adam).post(
        reverse("clinics:membership_role", args=[membership.pk]), {"role": "superuser"}
    )
    membership.refresh_from_db()
    assert membership.role == Role.PROFESSIONAL


def test_clinic_admin_switches_patient_mfa_off_and_on(client_for, adam, clinic_a):
    """The clinic setting drives whether patients need a second factor."""
    client = client_for(adam)
    client.post(reverse("clinics:settings"), {})
    clinic_a.refresh_from_db()
    assert clinic_a.requires_patient_mfa is False
    client.post(reverse("clinics:settings"), {"requires_patient_mfa": "on"})
    clinic_a.refresh_from_db()
    assert clinic_a.requires_patient_mfa is True


def test_user_with_two_clinics_picks_the_active_one(client_for, alice, clinic_b):
    """Without a choice the role pages ask to pick; after picking, the chosen clinic is shown."""
    Membership.objects.create(clinic=clinic_b, user=alice, role=Role.PROFESSIONAL)
    client = client_for(alice)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302 and response.url.startswith(reverse("clinics:switch"))
    client.post(reverse("clinics:switch"), {"clinic": clinic_b.pk, "next": "/patients/"})
    assert "Fysio Zuid" in client.get(reverse("patients:list")).content.decode()


def test_a_clinic_cannot_be_picked_without_a_membership(client_for, alice, clinic_b):
    """Posting another clinic's id to the switch is a 404 and changes nothing."""
    client = client_for(alice)
    assert client.post(reverse("clinics:switch"), {"clinic": clinic_b.pk}).status_code == 404
    assert "Fysio Noord" in client.get(reverse("patients:list")).content.decode()
