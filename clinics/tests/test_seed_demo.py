import base64
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp

from clinics.models import Clinic, Membership, User
from patients.models import Patient

ROLES = {"clinic_admin", "professional", "counsellor", "patient", "superuser"}
# The counsellor chat's demo (messaging.demo): the counsellor's chat passphrase, the
# organisation's join code and link, the admin's clinic key passphrase.
LOGIN_KEYS = {"email", "password", "role", "clinic", "totp_secret", "patient_id"}
CHAT = {"chat_passphrase", "org_code", "join_link", "clinic_key_passphrase"}


@pytest.fixture
def credentials(db, tmp_path, settings):
    settings.DEMO = True
    out = tmp_path / "logins.json"
    call_command("seed_demo", "--credentials-out", str(out))
    return json.loads(out.read_text())


def test_seed_demo_writes_one_login_per_user_with_the_documented_keys(credentials):
    """Every login has email, password, role; clinic except the superuser; patients their id."""
    assert {c["role"] for c in credentials} == ROLES
    for login in credentials:
        assert (
            set(login)
            <= {"email", "password", "role", "clinic", "totp_secret", "patient_id"} | CHAT
        )
        assert login["email"] and login["password"]
        assert ("clinic" in login) == (login["role"] != "superuser")
        assert ("patient_id" in login) == (login["role"] == "patient")
        if login["role"] == "patient":
            assert Patient.objects.get(pk=login["patient_id"]).user.email == login["email"]


def test_seed_demo_makes_two_clinics_with_the_promised_people(credentials):
    """Two clinics, each with an admin, two professionals, a counsellor and linked patients."""
    assert Clinic.objects.count() == 2
    assert sorted(Clinic.objects.values_list("requires_patient_mfa", flat=True)) == [False, True]
    for clinic in Clinic.objects.all():
        roles = sorted(Membership.objects.for_clinic(clinic).values_list("role", flat=True))
        assert roles == ["clinic_admin", "counsellor", "professional", "professional"]
        patients = Patient.objects.for_clinic(clinic)
        assert patients.count() >= 4 and all(p.user_id for p in patients)


def test_seed_demo_gives_a_device_to_staff_and_to_patients_whose_clinic_requires_it(credentials):
    """A totp_secret for staff and the superuser; for patients only if their clinic requires it."""
    requires = dict(Clinic.objects.values_list("name", "requires_patient_mfa"))
    for login in credentials:
        needs_device = login["role"] != "patient" or requires[login["clinic"]]
        assert ("totp_secret" in login) == needs_device, login["email"]


def test_seed_demo_is_idempotent(credentials, tmp_path):
    """A second run creates nothing new and hands out the same logins."""
    counts = (User.objects.count(), Patient.objects.count(), Membership.objects.count())
    out = tmp_path / "again.json"
    call_command("seed_demo", "--credentials-out", str(out))
    assert json.loads(out.read_text()) == credentials
    assert (User.objects.count(), Patient.objects.count(), Membership.objects.count()) == counts


def test_demo_professional_logs_in_with_the_written_password_and_totp_secret(credentials):
    """The JSON is enough to log in: password, then the code from the TOTP secret."""
    login = next(c for c in credentials if c["role"] == "professional")
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": login["email"], "password": login["password"]}
    )
    assert response.status_code == 302
    assert client.get("/").url.startswith("/mfa/verify/")
    code = str(totp(base64.b32decode(login["totp_secret"]))).zfill(6)
    response = client.post("/mfa/verify/", {"code": code})
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200


def test_seed_demo_refuses_to_run_outside_the_demo(db, settings):
    """Known demo logins must not appear in production by accident."""
    from django.core.management.base import CommandError

    settings.DEMO = False
    with pytest.raises(CommandError):
        call_command("seed_demo")


def test_seed_demo_names_every_staff_member_and_fills_in_a_missing_name(credentials, tmp_path):
    """The team page and the access log show the demo staff by name; a rerun gives a name to an
    account that lost it and keeps one its owner chose."""
    staff = User.objects.filter(memberships__isnull=False).distinct()
    assert staff.count() == 8 and all(user.display_name for user in staff)
    assert len({user.display_name for user in staff}) == 8
    emptied, chosen = staff.order_by("email")[:2]
    User.objects.filter(pk=emptied.pk).update(display_name="")
    User.objects.filter(pk=chosen.pk).update(display_name="Naam Naar Keuze")
    call_command("seed_demo", "--credentials-out", str(tmp_path / "again.json"))
    emptied.refresh_from_db()
    chosen.refresh_from_db()
    assert emptied.display_name and chosen.display_name == "Naam Naar Keuze"
