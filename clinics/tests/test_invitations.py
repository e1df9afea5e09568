"""Invitations through real HTTP flows: the staff e-mail link and the patient link/QR code, from
the clinic's side to sign-up, acceptance and the second factor.

SECURITY.md T03 for the invitation login path: a newly invited staff member enrols an
authenticator before reaching any page. Links are single use, expire, and belong to one address;
nobody under 16 gets an account.
"""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import AccessAction, AccessLogEntry, Membership, Role, StaffInvitation
from clinics.tests.factories import DEFAULT_PASSWORD, TOTPDeviceFactory, UserFactory
from clinics.tests.flows import code_for
from patients.models import PatientInvitation
from patients.services import patient_update
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a long and private passphrase 1"
ADULT_BIRTH_DATE = "1985-03-14"


def link_path(text: str, kind: str) -> str:
    """The path of the (single) invitation link in an e-mail body or a page."""
    paths = set(re.findall(rf"https?://[^/\s\"<]+(/invite/{kind}/[^/\s\"<]+/)", text))
    assert len(paths) == 1, text
    return paths.pop()


def sign_up(client: Client, invite_path: str, email: str, *, born: str = ADULT_BIRTH_DATE):
    """Open the invitation link (which remembers it in the session), then sign up."""
    client.get(invite_path)
    return client.post(
        f"{reverse('account_signup')}?next={invite_path}",
        {
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "date_of_birth": born,
            "next": invite_path,
        },
    )


def staff_invitation_pending(email: str) -> bool:
    return StaffInvitation.objects.pending().filter(email=email).exists()


def years_ago(years: int, *, days: int = 0) -> datetime.date:
    """The birth date of someone turning `years` today (`days` earlier); 29 February safe."""
    today = timezone.localdate()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # today is 29 February: someone born on the 28th turned `years` today
        birthday = datetime.date(today.year - years, 2, 28)
    return birthday - datetime.timedelta(days=days)


@pytest.fixture
def invite_staff(client_for, adam, django_capture_on_commit_callbacks):
    """Adam (clinic admin of A) invites someone through the staff page; returns the link path."""

    def invite(email: str = "nina@noord.example", role: Role = Role.PROFESSIONAL) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(adam).post(
                reverse("clinics:staff_invite"), {"email": email, "role": role}
            )
        assert response.status_code == 302
        message = mail.outbox[-1]
        assert message.to == [email]
        return link_path(message.body, "staff")

    return invite


@pytest.fixture
def invite_patient(client_for, alice, django_capture_on_commit_callbacks):
    """Alice (professional in A) invites a patient from the record page; returns the response."""

    def invite(patient, email: str = ""):
        with django_capture_on_commit_callbacks(execute=True):
            return client_for(alice).post(
                reverse("patients:invite", args=[patient.pk]), {"email": email}
            )

    return invite


# --- staff invitations ------------------------------------------------------------------------


def test_staff_invitation_is_mailed_with_a_single_use_expiring_link(invite_staff, clinic_a):
    """The e-mail holds a link; only its digest is stored, valid INVITATION_VALID_DAYS days."""
    path = invite_staff()
    token = path.rstrip("/").rsplit("/", 1)[1]
    invitation = StaffInvitation.objects.get(email="nina@noord.example")
    assert invitation.clinic == clinic_a
    assert token not in invitation.token_digest
    expected = timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS)
    assert abs(invitation.expires_at - expected) < datetime.timedelta(minutes=1)
    assert invitation.is_pending


def test_invited_staff_signs_up_and_must_enrol_before_reaching_any_page(
    invite_staff, clinic_a, patient_a
):
    """Link, sign-up, acceptance: the new member is unverified until they enrol an authenticator."""
    path = invite_staff(role=Role.PROFESSIONAL)
    client = Client()
    landing = client.get(path)
    assert landing.status_code == 200
    assert reverse("account_signup") in landing.content.decode()

    response = sign_up(client, path, "nina@noord.example")
    assert response.status_code == 302
    assert response["Location"] == path
    nina = User.objects.get(email="nina@noord.example")
    assert client.session[SESSION_KEY] == str(nina.pk)

    assert client.get(path).status_code == 200  # the accept page
    response = client.post(path)
    assert response.status_code == 302
    membership = Membership.objects.get(user=nina)
    assert (membership.clinic, membership.role) == (clinic_a, Role.PROFESSIONAL)
    assert DEVICE_ID_SESSION_KEY not in client.session

    for name in ("home", "patients:list", "mfa:verify"):
        assert client.get(reverse(name), follow=True).resolver_match.view_name == "mfa:setup"

    client.get(reverse("mfa:setup"))
    device = AuthenticatorDevice.objects.get(user=nina)
    client.post(reverse("mfa:setup"), {"code": code_for(device)})
    assert DEVICE_ID_SESSION_KEY in client.session
    response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert "Paul de Vries" in response.content.decode()


def test_an_existing_user_accepting_gets_the_invited_role(invite_staff):
    """Someone who already has an account signs in and accepts: they get the invited role."""
    nora = UserFactory(email="nora@noord.example")
    path = invite_staff(email=nora.email, role=Role.COUNSELLOR)
    client = Client()
    client.post(reverse("account_login"), {"login": nora.email, "password": DEFAULT_PASSWORD})
    client.post(path)
    assert Membership.objects.get(user=nora).role == Role.COUNSELLOR


def test_a_staff_link_works_once(invite_staff, client_for, charlie):
    """After acceptance the same link is invalid, for anyone."""
    path = invite_staff()
    client = Client()
    sign_up(client, path, "nina@noord.example")
    client.post(path)
    assert Membership.objects.filter(user__email="nina@noord.example").count() == 1

    assert Client().get(path).status_code == 404
    assert client_for(charlie).post(path).status_code == 404
    assert not Membership.objects.filter(user=charlie, clinic__name="Fysio Noord").exists()


def test_an_invited_colleague_gives_their_name_when_accepting(
    invite_staff, clinic_a, client_for, adam
):
    """Sign-up, then the acceptance page with a name field: the team sees the name."""
    path = invite_staff(email="nina@noord.example")
    client = Client()
    sign_up(client, path, "nina@noord.example")
    page = client.get(path).content.decode()
    assert 'name="display_name"' in page
    client.post(path, {"display_name": "  Nina  Bos "})
    nina = User.objects.get(email="nina@noord.example")
    assert Membership.objects.filter(user=nina, clinic=clinic_a).exists()
    assert nina.display_name == "Nina Bos"
    assert "Nina Bos" in client_for(adam).get(reverse("clinics:staff")).content.decode()


def test_a_bad_name_on_acceptance_accepts_nothing(invite_staff):
    """A name that is refused leaves the invitation open and the account without a clinic."""
    path = invite_staff(email="nina@noord.example")
    client = Client()
    sign_up(client, path, "nina@noord.example")
    response = client.post(path, {"display_name": "N" * 151})
    assert response.status_code == 200 and response.context["form"].errors
    nina = User.objects.get(email="nina@noord.example")
    assert not Membership.objects.filter(user=nina).exists() and nina.display_name == ""


def test_accepting_without_a_name_keeps_the_one_the_account_has(invite_staff):
    """An existing account with a name accepts with the field left empty: the name stays."""
    nora = UserFactory(email="nora@noord.example", display_name="Nora Vos")
    path = invite_staff(email=nora.email, role=Role.COUNSELLOR)
    client = Client()
    client.post(reverse("account_login"), {"login": nora.email, "password": DEFAULT_PASSWORD})
    client.post(path, {"display_name": ""})
    assert Membership.objects.get(user=nora).role == Role.COUNSELLOR
    nora.refresh_from_db()
    assert nora.display_name == "Nora Vos"


def test_an_expired_staff_link_is_refused(invite_staff):
    """Past INVITATION_VALID_DAYS the link answers 404 and sign-up stays closed."""
    path = invite_staff()
    later = timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        client = Client()
        assert client.get(path).status_code == 404
        response = sign_up(client, path, "nina@noord.example")
        assert "signup_closed" in response.templates[0].name
    assert not User.objects.filter(email="nina@noord.example").exists()


def test_a_staff_link_for_another_address_is_refused(invite_staff, client_for, charlie):
    """A signed-in user whose address differs from the invitation cannot accept it."""
    path = invite_staff(email="nina@noord.example")
    client = client_for(charlie)
    response = client.post(path)
    assert response.status_code == 302
    assert not Membership.objects.filter(user=charlie, clinic__name="Fysio Noord").exists()
    assert staff_invitation_pending("nina@noord.example")


def test_signing_up_from_the_link_with_another_address_verifies_only_the_invited_one(
    invite_staff,
):
    """The link proves only the invited address: a differently typed one stays unverified."""
    path = invite_staff(email="nina@noord.example")
    client = Client()
    sign_up(client, path, "someone.else@noord.example")
    user = User.objects.get(pk=client.session[SESSION_KEY])
    # allauth makes the stashed (invited) address the verified primary one.
    assert user.email == "nina@noord.example"
    addresses = dict(EmailAddress.objects.filter(user=user).values_list("email", "verified"))
    assert addresses == {"nina@noord.example": True, "someone.else@noord.example": False}


# --- patient invitations ----------------------------------------------------------------------


@pytest.fixture
def petra(clinic_a):
    """An adult patient record in clinic A without an account yet."""
    return PatientFactory(
        clinic=clinic_a,
        given_name="Petra",
        family_name="Jansen",
        email="petra@patient.example",
        date_of_birth=datetime.date(1990, 2, 1),
    )


def test_patient_invite_shows_a_link_and_a_qr_code_and_mails_the_link(invite_patient, petra):
    """The record page's invite makes a pending invitation, shows link + QR once, mails the link."""
    response = invite_patient(petra, email=petra.email)
    assert response.status_code == 200
    content = response.content.decode()
    path = link_path(content, "patient")
    assert 'src="data:image/svg+xml;base64,' in content
    invitation = PatientInvitation.objects.get(patient=petra)
    assert invitation.is_pending
    assert [m.to for m in mail.outbox] == [[petra.email]]
    assert link_path(mail.outbox[0].body, "patient") == path


def test_invited_patient_signs_up_links_the_record_and_must_enrol(invite_patient, petra):
    """Accepting as a new user links the record; clinic A requires MFA, so enrolment comes next."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    client = Client()
    assert client.get(path).status_code == 200
    response = sign_up(client, path, petra.email)
    assert response["Location"] == path
    client.post(path)

    petra.refresh_from_db()
    assert petra.user == User.objects.get(email=petra.email)
    response = client.get(reverse("patients:my_records"), follow=True)
    assert response.resolver_match.view_name == "mfa:setup"


def test_sign_up_refuses_anyone_under_16(invite_patient, petra):
    """The sign-up form asks a date of birth and refuses someone who is 15."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    client = Client()
    client.get(path)
    born = years_ago(settings.PATIENT_MINIMUM_AGE, days=-1).isoformat()  # 16 tomorrow
    response = sign_up(client, path, petra.email, born=born)
    assert response.status_code == 200
    assert response.context["form"].errors["date_of_birth"]
    assert not User.objects.filter(email=petra.email).exists()

    response = client.post(
        f"{reverse('account_signup')}?next={path}",
        {"email": petra.email, "password1": PASSWORD, "password2": PASSWORD, "next": path},
    )
    assert response.context["form"].errors["date_of_birth"]
    assert not User.objects.filter(email=petra.email).exists()


def test_sign_up_accepts_someone_who_turns_16_today(invite_patient, petra):
    """Exactly 16 is old enough (the counterpart of the under-16 refusal)."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    client = Client()
    client.get(path)
    response = sign_up(client, path, petra.email, born=years_ago(16).isoformat())
    assert response.status_code == 302
    assert User.objects.filter(email=petra.email).exists()


def test_a_record_of_someone_under_16_cannot_be_invited(invite_patient, clinic_a):
    """The invite page refuses a child's record: no invitation, no mail."""
    child = PatientFactory(clinic=clinic_a, date_of_birth=years_ago(12))
    response = invite_patient(child, email="parent@patient.example")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not PatientInvitation.objects.filter(patient=child).exists()
    assert mail.outbox == []


def test_an_invitation_cannot_be_accepted_for_a_record_now_under_16(invite_patient, petra, alice):
    """A corrected date of birth under 16 stops a pending invitation from linking the record."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    patient_update(clinic=petra.clinic, actor=alice, patient=petra, date_of_birth=years_ago(14))
    client = Client()
    sign_up(client, path, petra.email)
    client.post(path)
    petra.refresh_from_db()
    assert petra.user is None
    assert PatientInvitation.objects.get(patient=petra).accepted_at is None


def test_a_patient_link_works_once(invite_patient, petra, client_for, paul):
    """After acceptance the link is dead: it links no second account."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    client = Client()
    sign_up(client, path, petra.email)
    client.post(path)
    petra.refresh_from_db()
    first_owner = petra.user
    assert first_owner is not None

    assert Client().get(path).status_code == 404
    assert client_for(paul).post(path).status_code == 404
    petra.refresh_from_db()
    assert petra.user == first_owner


def test_a_new_patient_invitation_replaces_the_earlier_link(invite_patient, petra):
    """Inviting again revokes the earlier pending link."""
    first = link_path(invite_patient(petra).content.decode(), "patient")
    second = link_path(invite_patient(petra).content.decode(), "patient")
    assert first != second
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200


def test_qr_code_invitation_without_e_mail_needs_a_confirmed_address_first(invite_patient, petra):
    """Handed over in person: the new account confirms its address, signs in, then accepts."""
    path = link_path(invite_patient(petra).content.decode(), "patient")
    assert mail.outbox == []
    client = Client()
    response = sign_up(client, path, "petra.own@patient.example")
    assert response["Location"] == reverse("account_email_verification_sent")
    assert SESSION_KEY not in client.session

    confirm = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mail.outbox[0].body)
    client.post(confirm.group(1))
    assert SESSION_KEY not in client.session  # ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION is off
    client.post(
        reverse("account_login"), {"login": "petra.own@patient.example", "password": PASSWORD}
    )
    assert client.get(path).status_code == 200
    client.post(path)

    petra.refresh_from_db()
    assert petra.user.email == "petra.own@patient.example"
    response = client.get(reverse("patients:my_records"), follow=True)
    assert response.resolver_match.view_name == "mfa:setup"


# --- T40: an invitation belongs to the invited person ------------------------------------------


def test_a_professional_opening_a_patients_link_cannot_take_the_record(
    invite_patient, petra, client_for, alice
):
    """The professional who invited real.patient@ opens the link and accepts: refused, nothing
    linked, the link still waits for the patient."""
    path = link_path(
        invite_patient(petra, email="real.patient@example.org").content.decode(), "patient"
    )
    response = client_for(alice).post(path, follow=True)
    petra.refresh_from_db()
    assert petra.user is None
    assert "Staff of this clinic" in response.content.decode() or "Medewerkers" in (
        response.content.decode()
    )
    assert PatientInvitation.objects.get(patient=petra).accepted_at is None


def test_staff_of_the_clinic_cannot_accept_even_with_the_invited_address(
    invite_patient, petra, clinic_a, client_for
):
    """A staff member whose own verified address was invited still cannot link a record of
    their own clinic to their account."""
    nurse = UserFactory(email="petra@patient.example")
    TOTPDeviceFactory(user=nurse)
    Membership.objects.create(clinic=clinic_a, user=nurse, role=Role.PROFESSIONAL)
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    assert client_for(nurse).post(path).status_code == 302  # past the second factor
    petra.refresh_from_db()
    assert petra.user is None


def test_another_account_cannot_accept_an_e_mailed_invitation(invite_patient, petra):
    """Someone else who got hold of the link signs in with their own verified address: refused."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    other = UserFactory(email="someone.else@example.org")
    client = Client()
    client.force_login(other)
    client.post(path)
    petra.refresh_from_db()
    assert petra.user is None


def test_the_invited_address_must_be_verified_on_the_account(invite_patient, petra):
    """An account that only claims the invited address (unverified) cannot accept."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    claimant = UserFactory(email="claimant@example.org")
    EmailAddress.objects.create(user=claimant, email=petra.email, verified=False, primary=False)
    client = Client()
    client.force_login(claimant)
    client.post(path)
    petra.refresh_from_db()
    assert petra.user is None


def test_linking_an_account_is_logged_and_shown_to_the_clinic(
    invite_patient, petra, client_for, alice
):
    """The invited patient signs up from the link: the link is an access-log entry of the
    clinic (who, which record, when) and the record page says which account linked when."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    client = Client()
    sign_up(client, path, petra.email)
    client.post(path)
    petra.refresh_from_db()
    assert petra.user is not None
    entry = AccessLogEntry.objects.get(action=AccessAction.LINK)
    assert (entry.clinic_id, entry.patient_id, entry.user, entry.role, entry.part) == (
        petra.clinic_id,
        petra.pk,
        petra.user,
        "patient",
        "account invitation",
    )
    page = client_for(alice).get(reverse("patients:detail", args=[petra.pk])).content.decode()
    assert petra.email in page


def test_an_expired_patient_link_links_nothing(invite_patient, petra):
    """Past INVITATION_VALID_DAYS the invited patient's own signed-in account cannot accept."""
    path = link_path(invite_patient(petra, email=petra.email).content.decode(), "patient")
    invited = UserFactory(email=petra.email)
    later = timezone.now() + datetime.timedelta(days=settings.INVITATION_VALID_DAYS, minutes=1)
    with time_machine.travel(later, tick=False):
        client = Client()
        client.force_login(invited)
        assert client.post(path).status_code == 404
    petra.refresh_from_db()
    assert petra.user is None
