"""The second factor through real HTTP flows: enrolment, verification, replay, throttling,
backup codes, re-authentication and the patients' clinic policy.

SECURITY.md T05 (replay, stale codes, throttling) and T06 (re-authentication for sensitive
account changes, no way to switch MFA off), plus first-login enrolment and patient MFA.
"""

from __future__ import annotations

import base64
import importlib
import time

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice  # the old, plain table (migration)

from clinics.mfa import backup_code_digest, backup_codes_regenerate, match_code
from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import Role
from clinics.tests.factories import (
    DEFAULT_PASSWORD,
    ClinicFactory,
    MembershipFactory,
    TOTPDeviceFactory,
    UserFactory,
)
from clinics.tests.flows import code_for, current_code, password_login, submit_code
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    """Time stands still 10 s into a fresh 30 s TOTP window; `frozen.shift(s)` moves it."""
    window_start = (int(time.time()) // 30 + 1) * 30
    with time_machine.travel(window_start + 10, tick=False) as traveller:
        yield traveller


def device_of(user) -> AuthenticatorDevice:
    return AuthenticatorDevice.objects.get(user=user, confirmed=True)


def is_verified(client: Client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


def signed_in_with_password(user) -> Client:
    client = Client()
    assert password_login(client, user.email).status_code == 302
    return client


def new_staff_without_device(clinic, email: str = "nina@noord.example"):
    user = UserFactory(email=email)
    MembershipFactory(clinic=clinic, user=user, role=Role.PROFESSIONAL)
    return user


# --- first login: enrolment -------------------------------------------------------------------


def test_staff_without_an_authenticator_is_sent_to_enrolment_from_every_page(clinic_a):
    """Staff with no device reach only the enrolment page after the password."""
    nina = new_staff_without_device(clinic_a)
    client = signed_in_with_password(nina)
    for name in ("home", "patients:list", "clinics:staff", "mfa:verify"):
        response = client.get(reverse(name), follow=True)
        assert response.resolver_match.view_name == "mfa:setup", name


def test_enrolment_page_shows_a_qr_code_and_the_secret_of_a_new_device(clinic_a):
    """The setup page shows an inline SVG QR code and the base32 key of an unconfirmed device."""
    nina = new_staff_without_device(clinic_a)
    client = signed_in_with_password(nina)
    response = client.get(reverse("mfa:setup"))
    assert response.status_code == 200
    device = AuthenticatorDevice.objects.get(user=nina)
    assert device.confirmed is False
    content = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in content
    secret = base64.b32encode(device.bin_key).decode("ascii")
    assert response.context["secret"].replace(" ", "") == secret
    assert response.context["secret"] in content
    svg = base64.b64decode(response.context["qr_code"].split(",", 1)[1])
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    # Reloading the page keeps the same key: the phone already scanned it.
    client.get(reverse("mfa:setup"))
    assert AuthenticatorDevice.objects.filter(user=nina).count() == 1


def test_confirming_enrolment_verifies_the_session_and_shows_backup_codes_once(clinic_a, patient_a):
    """A valid first code confirms the device, verifies the session and shows backup codes once."""
    nina = new_staff_without_device(clinic_a)
    client = signed_in_with_password(nina)
    client.get(reverse("mfa:setup"))
    device = AuthenticatorDevice.objects.get(user=nina)

    response = client.post(
        reverse("mfa:setup"), {"code": code_for(device), "next": reverse("patients:list")}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa:backup_codes"))
    device.refresh_from_db()
    assert device.confirmed is True
    assert is_verified(client)

    response = client.get(response["Location"])
    shown = response.context["codes"]
    assert len(shown) == settings.MFA_BACKUP_CODE_COUNT
    stored = StaticToken.objects.filter(device__user=nina).values_list("token", flat=True)
    assert sorted(backup_code_digest(c) for c in shown) == sorted(stored)
    assert all(code in response.content.decode() for code in shown)

    again = client.get(reverse("mfa:backup_codes"))
    assert again.context["codes"] is None
    assert not any(code in again.content.decode() for code in shown)
    assert client.get(reverse("patients:list")).status_code == 200


def test_enrolment_refuses_a_wrong_code(clinic_a):
    """A wrong first code leaves the device unconfirmed and the session unverified."""
    nina = new_staff_without_device(clinic_a)
    client = signed_in_with_password(nina)
    client.get(reverse("mfa:setup"))
    device = AuthenticatorDevice.objects.get(user=nina)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa:setup"), {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    device.refresh_from_db()
    assert device.confirmed is False
    assert not is_verified(client)
    assert not StaticToken.objects.filter(device__user=nina).exists()


def test_enrolled_staff_cannot_enrol_a_second_authenticator(client_for, alice):
    """With a confirmed device, the setup page only sends on; no new key is made."""
    device = device_of(alice)
    for verified in (False, True):
        client = client_for(alice, verified=verified)
        assert client.get(reverse("mfa:setup")).status_code == 302
        response = client.post(reverse("mfa:setup"), {"code": code_for(device)})
        assert response.status_code == 302
    assert list(AuthenticatorDevice.objects.filter(user=alice)) == [device]


# --- T05: replay, stale codes, throttling, backup codes ---------------------------------------


def test_a_totp_code_cannot_be_used_twice(frozen, alice):
    """The same code, in the same window, fails the second time; the next window's code works."""
    device = device_of(alice)
    code = code_for(device)
    first = signed_in_with_password(alice)
    assert submit_code(first, code).status_code == 302
    assert is_verified(first)

    second = signed_in_with_password(alice)
    response = submit_code(second, code)
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert not is_verified(second)

    frozen.shift(30)
    assert submit_code(second, code_for(device)).status_code == 302
    assert is_verified(second)


@pytest.mark.parametrize("steps", [-20, -3, 3, 20])
def test_a_code_from_far_outside_the_window_is_refused(frozen, alice, steps):
    """Codes from minutes ago or ahead do not verify."""
    client = signed_in_with_password(alice)
    response = submit_code(client, code_for(device_of(alice), steps=steps))
    assert response.status_code == 200
    assert not is_verified(client)


def test_a_code_from_the_previous_window_is_still_accepted(frozen, alice):
    """One window of tolerance for clock skew (the counterpart of the stale-code test)."""
    client = signed_in_with_password(alice)
    assert submit_code(client, code_for(device_of(alice), steps=-1)).status_code == 302
    assert is_verified(client)


def test_a_wrong_code_throttles_even_the_correct_code_for_a_moment(frozen, alice):
    """Right after a failure the correct code is refused; a little later it works."""
    device = device_of(alice)
    client = signed_in_with_password(alice)
    wrong = f"{(int(code_for(device)) + 1) % 1_000_000:06d}"
    submit_code(client, wrong)

    assert submit_code(client, code_for(device)).status_code == 200
    assert not is_verified(client)
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1

    frozen.shift(5)
    assert submit_code(client, code_for(device)).status_code == 302
    assert is_verified(client)
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_too_many_wrong_codes_end_the_session(frozen, alice):
    """After MFA_MAX_CODE_FAILURES wrong codes the session is logged out."""
    client = signed_in_with_password(alice)
    for attempt in range(1, settings.MFA_MAX_CODE_FAILURES + 1):
        frozen.shift(60)  # past the throttle: every attempt is a real guess
        response = submit_code(client, "000000" if attempt % 2 else "999999")
        if attempt < settings.MFA_MAX_CODE_FAILURES:
            assert response.status_code == 200
            assert client.session[SESSION_KEY] == str(alice.pk)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert SESSION_KEY not in client.session
    # The logged-out session cannot simply go on with a correct code.
    response = submit_code(client, code_for(device_of(alice)))
    assert response["Location"].startswith(reverse("account_login"))


def test_each_backup_code_works_exactly_once(frozen, alice):
    """A backup code verifies once; reusing it fails; another one still works."""
    first_code, second_code = backup_codes_regenerate(alice)[:2]
    client = signed_in_with_password(alice)
    assert submit_code(client, first_code).status_code == 302
    assert is_verified(client)

    client = signed_in_with_password(alice)
    assert submit_code(client, first_code).status_code == 200
    assert not is_verified(client)

    frozen.shift(60)
    assert submit_code(client, second_code).status_code == 302
    assert is_verified(client)
    assert StaticToken.objects.filter(device__user=alice).count() == (
        settings.MFA_BACKUP_CODE_COUNT - 2
    )


def test_a_totp_login_leaves_the_backup_codes_untouched(alice):
    """A successful TOTP login consumes no backup code and bumps no counter on them."""
    codes = backup_codes_regenerate(alice)
    backup = StaticDevice.objects.get(user=alice)
    client = signed_in_with_password(alice)
    assert submit_code(client, code_for(device_of(alice))).status_code == 302
    assert is_verified(client)

    after = StaticDevice.objects.get(pk=backup.pk)
    assert after.throttling_failure_count == 0
    assert after.last_used_at == backup.last_used_at
    stored = after.token_set.values_list("token", flat=True)
    assert sorted(stored) == sorted(backup_code_digest(c) for c in codes)


# --- T06: re-authentication and no way to switch MFA off ---------------------------------------


def test_regenerating_backup_codes_needs_a_recent_password(frozen, alice):
    """POST without re-authentication goes to account_reauthenticate; the old codes stay."""
    codes = backup_codes_regenerate(alice)
    client = signed_in_with_password(alice)
    submit_code(client, code_for(device_of(alice)))

    response = client.post(reverse("mfa:backup_codes"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    tokens = StaticToken.objects.filter(device__user=alice).values_list("token", flat=True)
    assert sorted(tokens) == sorted(backup_code_digest(c) for c in codes)

    response = client.post(
        f"{reverse('account_reauthenticate')}?next={reverse('mfa:backup_codes')}",
        {"password": DEFAULT_PASSWORD},
    )
    response = client.post(reverse("mfa:backup_codes"))
    assert response.status_code == 200
    fresh = response.context["codes"]
    assert len(fresh) == settings.MFA_BACKUP_CODE_COUNT
    assert not set(fresh) & set(codes)

    # The re-authentication is only recent for ACCOUNT_REAUTHENTICATION_TIMEOUT seconds.
    frozen.shift(settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)
    response = client.post(reverse("mfa:backup_codes"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_reauthentication_refuses_a_wrong_password(client_for, alice):
    """A wrong password on the re-authentication page does not unlock the sensitive action."""
    client = client_for(alice)
    response = client.post(reverse("account_reauthenticate"), {"password": "not it at all"})
    assert response.status_code == 200
    response = client.post(reverse("mfa:backup_codes"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_changing_the_e_mail_address_needs_a_recent_password(client_for, alice):
    """Adding an e-mail address without re-authentication is refused."""
    client = client_for(alice)
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "alice.new@noord.example"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not EmailAddress.objects.filter(email="alice.new@noord.example").exists()

    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    client.post(reverse("account_email"), {"action_add": "", "email": "alice.new@noord.example"})
    assert EmailAddress.objects.filter(user=alice, email="alice.new@noord.example").exists()


def _url_names(resolver: URLResolver, prefix: str = "") -> list[str]:
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names += _url_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.append(f"{prefix}{entry.name}")
    return names


def test_there_is_no_way_to_switch_the_second_factor_off():
    """No URL disables, deactivates or deletes a second factor; allauth's MFA app is absent."""
    names = _url_names(get_resolver())
    assert names, "the resolver walk found nothing"
    # A removal word in a second factor's URL (documents and exercises delete their own things).
    factor_words = ("mfa", "device", "factor", "totp", "authenticator", "otp", "backup")
    suspicious = [
        n
        for n in names
        if any(w in n.lower() for w in ("disable", "deactivate", "remove", "delete"))
        and (any(w in n.lower() for w in factor_words) or "remove_device" in n.lower())
        and not n.startswith("admin:")
    ]
    assert suspicious == []
    assert sorted(n for n in names if n.startswith("mfa:")) == [
        "mfa:backup_codes",
        "mfa:setup",
        "mfa:verify",
    ]
    assert "allauth.mfa" not in settings.INSTALLED_APPS


# --- patients: MFA by clinic policy; an e-mailed code is never a factor -------------------------


def test_patient_of_a_clinic_requiring_mfa_must_give_the_code(paul):
    """Clinic A requires MFA for patients: the password alone reaches nothing."""
    client = signed_in_with_password(paul)
    response = client.get(reverse("patients:my_records"))
    assert response["Location"].startswith(reverse("mfa:verify"))
    submit_code(client, code_for(device_of(paul)))
    assert client.get(reverse("patients:my_records")).status_code == 200


def test_patient_without_a_device_in_a_clinic_requiring_mfa_must_enrol(clinic_a):
    """A patient of an MFA clinic without an authenticator is sent to enrolment."""
    user = UserFactory(email="petra@patient.example")
    PatientFactory(clinic=clinic_a, user=user)
    client = signed_in_with_password(user)
    response = client.get(reverse("patients:my_records"), follow=True)
    assert response.resolver_match.view_name == "mfa:setup"


def test_patient_of_a_clinic_without_mfa_uses_the_password_only():
    """With requires_patient_mfa=False the patient reaches their pages after the password."""
    relaxed = ClinicFactory(name="Fysio Oost", requires_patient_mfa=False)
    user = UserFactory(email="piet@patient.example")
    PatientFactory(clinic=relaxed, user=user, given_name="Piet", family_name="Oost")
    client = signed_in_with_password(user)
    response = client.get(reverse("patients:my_records"))
    assert response.status_code == 200
    assert "Piet" in response.content.decode()


def test_one_clinic_requiring_mfa_is_enough_for_a_patient_of_two(clinic_a):
    """A patient with records in a relaxed clinic and an MFA clinic needs the second factor."""
    relaxed = ClinicFactory(name="Fysio Oost", requires_patient_mfa=False)
    user = UserFactory(email="piet@patient.example")
    TOTPDeviceFactory(user=user)
    PatientFactory(clinic=relaxed, user=user)
    PatientFactory(clinic=clinic_a, user=user)
    client = signed_in_with_password(user)
    response = client.get(reverse("patients:my_records"))
    assert response["Location"].startswith(reverse("mfa:verify"))


def test_an_e_mailed_login_code_is_never_a_factor(paul):
    """Login by e-mailed code is off; its confirmation URL answers 404 before and after login."""
    assert settings.ACCOUNT_LOGIN_BY_CODE_ENABLED is False
    with pytest.raises(NoReverseMatch):
        reverse("account_request_login_code")
    confirm = reverse("account_confirm_login_code")
    assert Client().get(confirm).status_code == 404
    assert Client().post(confirm, {"code": "ABCDEF"}).status_code == 404

    client = signed_in_with_password(paul)
    assert client.post(confirm, {"code": "ABCDEF"}).status_code in (302, 404)
    assert not is_verified(client)
    assert client.get(reverse("patients:my_records"))["Location"].startswith(reverse("mfa:verify"))


# --- F8: the owner hears when someone with the password guesses codes --------------------------


def test_the_owner_is_told_once_when_someone_guesses_codes(
    frozen, alice, mailoutbox, django_capture_on_commit_callbacks
):
    """Crossing MFA_MAX_CODE_FAILURES sends one e-mail, without any code; a second burst in
    another session soon after sends none."""
    guesses = []
    for burst in range(2):
        client = signed_in_with_password(alice)
        with django_capture_on_commit_callbacks(execute=True):
            for attempt in range(settings.MFA_MAX_CODE_FAILURES):
                frozen.shift(60)
                guess = f"{(123457 + attempt) % 1_000_000:06d}"
                guesses.append(guess)
                submit_code(client, guess)
        assert len(mailoutbox) == 1, burst
    [mail] = mailoutbox
    assert mail.to == [alice.email]
    text = mail.subject + mail.body
    assert "password" in text and "wachtwoord" in text
    for code in (*guesses, code_for(device_of(alice))):
        assert code not in text


# --- T43: backup codes are not stored in clear ----------------------------------------------------


def test_no_backup_code_is_stored_in_clear(alice):
    """Every column of the backup-code tables holds no code (raw, upper case or hex); the codes
    still verify through the stored keyed digests."""
    codes = backup_codes_regenerate(alice)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.*, d.* FROM otp_static_statictoken t "
            "JOIN otp_static_staticdevice d ON d.id = t.device_id"
        )
        dump = repr(cursor.fetchall()).lower()
    for code in codes:
        for form in (code, code.upper(), code.encode().hex()):
            assert form.lower() not in dump
    assert StaticToken.objects.filter(device__user=alice).count() == len(codes)
    assert match_code(alice, codes[0]) is not None
    assert match_code(alice, codes[0]) is None


def test_the_migration_replaces_plain_backup_codes_by_their_digests(alice):
    """Codes stored in clear before T43 become digests, and still verify once."""
    migration = importlib.import_module("clinics.migrations.0013_backup_codes_hashed")
    device = StaticDevice.objects.create(user=alice, name="backup", confirmed=True)
    device.token_set.create(token="abcdefghjk")
    migration.hash_plain_backup_codes(django_apps, None)
    migration.hash_plain_backup_codes(django_apps, None)  # a second run changes nothing
    assert list(device.token_set.values_list("token", flat=True)) == [
        backup_code_digest("abcdefghjk")
    ]
    assert match_code(alice, "abcdefghjk") == device
    assert match_code(alice, "abcdefghjk") is None


# --- T43: TOTP keys are encrypted at rest -------------------------------------------------------


def stored_authenticator_rows() -> str:
    """Every column of every authenticator row as the database holds it, lower case."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM clinics_authenticatordevice")
        return repr(cursor.fetchall()).lower()


def clear_forms(key: bytes) -> list[str]:
    """The key as hex and as base32 (with and without padding), lower case."""
    b32 = base64.b32encode(key).decode("ascii").lower()
    return [key.hex(), b32, b32.rstrip("=")]


def test_an_enrolled_key_is_stored_encrypted_and_still_verifies(frozen, clinic_a):
    """After enrolment no column holds the key in clear (hex or base32); the code still
    verifies, a replayed code is refused, and a phone one step ahead moves the drift."""
    nina = new_staff_without_device(clinic_a)
    client = signed_in_with_password(nina)
    client.get(reverse("mfa:setup"))
    device = AuthenticatorDevice.objects.get(user=nina)
    code = code_for(device)
    assert client.post(reverse("mfa:setup"), {"code": code}).status_code == 302
    assert is_verified(client)

    stored = stored_authenticator_rows()
    assert all(form not in stored for form in clear_forms(device.bin_key))
    assert not TOTPDevice.objects.exists()

    frozen.shift(5)  # still the same window: the code was used
    assert match_code(nina, code) is None
    frozen.shift(30)
    assert match_code(nina, code_for(device, steps=1)) == device  # the phone runs a step fast
    device.refresh_from_db()
    assert device.drift == 1
    assert all(form not in stored_authenticator_rows() for form in clear_forms(device.bin_key))
    frozen.shift(30)
    assert match_code(nina, code_for(device)) == device  # the drift is kept


def test_the_migration_moves_plain_totp_keys_into_encrypted_devices(frozen, alice):
    """A device of django-otp's plain table is moved (key encrypted, counters kept), the old
    row is deleted, and the phone's code still verifies, once."""
    migration = importlib.import_module("clinics.migrations.0015_totp_keys_encrypted")
    AuthenticatorDevice.objects.filter(user=alice).delete()
    old = TOTPDevice.objects.create(
        user=alice, name="authenticator", confirmed=True, drift=-1, last_t=7, tolerance=1
    )
    old_key, old_code = old.bin_key, current_code(old)
    migration.move_totp_devices(django_apps, None)

    assert not TOTPDevice.objects.exists()
    device = AuthenticatorDevice.objects.get(user=alice)
    assert (device.bin_key, device.name, device.confirmed) == (old_key, "authenticator", True)
    assert (device.drift, device.last_t, device.created_at) == (-1, 7, old.created_at)
    assert all(form not in stored_authenticator_rows() for form in clear_forms(old_key))
    assert match_code(alice, old_code) == device
    assert match_code(alice, old_code) is None
