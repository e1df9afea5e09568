"""The operator's admin site and second factors (SECURITY.md T42): no page shows a stored TOTP
key or backup code, the operator cannot set someone's password, and resetting someone's second
factor is an explicit, logged action."""

from __future__ import annotations

import base64

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from django_otp import devices_for_user

from clinics.mfa import backup_codes_regenerate
from clinics.models import AccessAction, AccessLogEntry, AccessPart
from clinics.tests.factories import TOTPDeviceFactory, UserFactory
from clinics.tests.flows import device_secrets, password_login

pytestmark = pytest.mark.django_db


def _admin_patterns(resolver: URLResolver, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            found += _admin_patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            found.append((entry.name, prefix + str(entry.pattern)))
    return found


def admin_paths(**ids: int) -> list[str]:
    """Every admin path of the account and second-factor models, with their ids filled in,
    plus django-otp's key pages (whether or not they are still routed)."""
    paths = []
    for name, pattern in _admin_patterns(get_resolver()):
        if not pattern.startswith("admin/") or "(?P<url>" in pattern:
            continue
        if not (name.startswith("clinics_user") or "otp" in name or "device" in name):
            continue
        object_id = ids["user"] if name.startswith("clinics_user") else ids["device"]
        route = pattern
        for key in ("path:object_id", "object_id", "id", "int:pk", "pk", "int:id"):
            route = route.replace(f"<{key}>", str(object_id))
        paths.append("/" + route)
    device = ids.get("device", 0)
    for tail in ("config/", "qrcode/", "change/"):
        paths.append(f"/admin/otp_totp/totpdevice/{device}/{tail}")
        paths.append(f"/admin/clinics/authenticatordevice/{device}/{tail}")
    paths += ["/admin/otp_static/statictoken/", "/admin/otp_static/staticdevice/"]
    paths += ["/admin/otp_totp/totpdevice/", "/admin/clinics/authenticatordevice/"]
    return sorted(set(paths))


def test_no_admin_page_shows_a_totp_key_or_a_backup_code(client_for, oscar, alice):
    """Every admin URL of accounts and devices, as the operator: no key (hex, base32, otpauth)
    and no backup code in any response; no QR code image of a key."""
    codes = backup_codes_regenerate(alice)
    secrets = device_secrets(alice)
    assert secrets
    client = client_for(oscar)
    ids = {"user": alice.pk, "device": alice_device_pk(alice)}
    walked = 0
    for path in admin_paths(**ids):
        response = client.get(path, follow=True)
        body = response.content.decode("utf-8", "replace")
        assert not response.get("Content-Type", "").startswith("image/"), path
        for secret in (*secrets, *codes):
            assert secret.lower() not in body.lower(), (path, secret)
        walked += 1
    assert walked > 5


def alice_device_pk(user) -> int:
    return user.authenticatordevice_set.get(confirmed=True).pk


def test_the_operator_cannot_set_a_users_password_in_the_admin(client_for, oscar, alice):
    """No admin page sets another account's password: that would let the operator sign in as
    a professional (impersonation); the person resets their own password by e-mail."""
    client = client_for(oscar)
    before = alice.password
    response = client.post(
        f"/admin/clinics/user/{alice.pk}/password/",
        {"password1": "An operator's choice 123!", "password2": "An operator's choice 123!"},
    )
    alice.refresh_from_db()
    assert alice.password == before
    assert response.status_code in (302, 404)
    page = client.get(reverse("admin:clinics_user_change", args=[alice.pk]))
    assert "password/" not in page.content.decode()


def test_device_factory_makes_a_key():
    """(sanity) a device made by the factory has a key the walk can look for."""
    device = TOTPDeviceFactory()
    assert base64.b32encode(device.bin_key)


# --- every operator action on an account is in the access log (T42, F6) -----------------------


def operator_entries(oscar, **filters) -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.filter(user=oscar, **filters).order_by("id"))


def test_viewing_an_accounts_page_logs_an_operator_read_in_its_clinic(client_for, oscar, alice):
    """The operator opening a staff member's admin page writes a read in the staff's clinic."""
    client = client_for(oscar)
    assert client.get(reverse("admin:clinics_user_change", args=[alice.pk])).status_code == 200
    [entry] = operator_entries(oscar, object_id=str(alice.pk))
    assert entry.action == AccessAction.READ
    assert entry.part == AccessPart.ACCOUNT
    assert entry.clinic_id == alice.memberships.get().clinic_id
    assert entry.object_type == "clinics.user"
    assert entry.role == "superuser"
    assert entry.role_label == AccessLogEntry(role="operator").role_label


def test_viewing_a_patients_account_is_logged_on_the_patients_record(client_for, oscar, paul):
    """A patient's account page is logged in their clinic, on their record (they see it)."""
    client_for(oscar).get(reverse("admin:clinics_user_change", args=[paul.pk]))
    [entry] = operator_entries(oscar, object_id=str(paul.pk))
    record = paul.patient_records.get()
    assert (entry.clinic_id, entry.patient_id) == (record.clinic_id, record.pk)


def test_an_account_of_no_clinic_gets_a_platform_level_entry(client_for, oscar):
    """An account in no clinic is logged without a clinic; no clinic's log shows it."""
    loner = UserFactory(email="loner@example.org")
    client_for(oscar).get(reverse("admin:clinics_user_change", args=[loner.pk]))
    [entry] = operator_entries(oscar, object_id=str(loner.pk))
    assert entry.clinic_id is None


def test_listing_and_searching_accounts_is_logged(client_for, oscar, alice):
    """The account list is a platform-level read; a search of it a search."""
    client = client_for(oscar)
    client.get(reverse("admin:clinics_user_changelist"))
    client.get(reverse("admin:clinics_user_changelist"), {"q": "alice"})
    actions = [(e.action, e.clinic_id, e.part) for e in operator_entries(oscar)]
    assert actions == [
        (AccessAction.READ, None, AccessPart.ACCOUNT),
        (AccessAction.SEARCH, None, AccessPart.ACCOUNT),
    ]


def test_changing_an_account_in_the_admin_is_logged(client_for, oscar, alice):
    """Saving an account's page writes an update in the account's clinic."""
    client = client_for(oscar)
    response = client.post(
        reverse("admin:clinics_user_change", args=[alice.pk]),
        {
            "email": alice.email,
            "display_name": "Alice A.",
            "is_active": "on",
            "last_login_0": "",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.display_name == "Alice A."
    [entry] = operator_entries(oscar, action=AccessAction.UPDATE)
    assert entry.object_id == str(alice.pk)
    assert entry.clinic_id == alice.memberships.get().clinic_id


def test_reading_the_access_log_in_the_admin_is_logged(client_for, oscar, alice, clinic_a):
    """The operator's list of the log and an entry's page are both access-log reads."""
    client = client_for(oscar)
    client.get(reverse("admin:clinics_accesslogentry_changelist"))
    [listed] = operator_entries(oscar)
    assert (listed.action, listed.part, listed.clinic_id) == (
        AccessAction.LOG_ACCESS,
        AccessPart.ACCESS_LOG,
        None,
    )
    client.get(reverse("admin:clinics_accesslogentry_change", args=[listed.pk]))
    client.get(reverse("admin:clinics_user_change", args=[alice.pk]))
    clinic_entry = operator_entries(oscar, clinic=clinic_a)[0]
    client.get(reverse("admin:clinics_accesslogentry_change", args=[clinic_entry.pk]))
    reads = operator_entries(oscar, action=AccessAction.LOG_ACCESS, object_id=str(clinic_entry.pk))
    assert [e.clinic_id for e in reads] == [clinic_a.pk]


# --- resetting a second factor ------------------------------------------------------------------


def test_resetting_a_second_factor_deletes_devices_logs_and_tells_the_person(
    client_for, oscar, alice, mailoutbox, django_capture_on_commit_callbacks
):
    """The admin action deletes every device of the account, writes an update of the second
    factor in the account's clinic and sends one e-mail that holds no secret."""
    codes = backup_codes_regenerate(alice)
    secrets = device_secrets(alice)
    client = client_for(oscar)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:clinics_user_changelist"),
            {"action": "reset_second_factor", "_selected_action": [alice.pk]},
        )
    assert response.status_code == 302
    assert not list(devices_for_user(alice, confirmed=None))
    [entry] = operator_entries(oscar, part=AccessPart.SECOND_FACTOR)
    assert entry.action == AccessAction.UPDATE
    assert entry.object_id == str(alice.pk)
    assert entry.clinic_id == alice.memberships.get().clinic_id
    [mail] = mailoutbox
    assert mail.to == [alice.email]
    text = mail.subject + mail.body
    assert "tweestapsverificatie" in text.lower() and "two-factor" in text.lower()
    for secret in (*secrets, *codes):
        assert secret.lower() not in text.lower()


def test_after_a_reset_the_person_enrols_again_at_the_next_sign_in(client_for, oscar, alice):
    """Once reset, a password login leads to enrolment, not to the old device's code."""
    client_for(oscar).post(
        reverse("admin:clinics_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [alice.pk]},
    )
    client = Client()
    password_login(client, alice.email)
    response = client.get(reverse("patients:list"), follow=True)
    assert response.resolver_match.view_name == "mfa:setup"


# Words that read the same in Dutch, for the check below.
SAME_IN_DUTCH = {"accounts"}


def test_every_admin_section_and_model_name_is_dutch_for_a_dutch_operator():
    """The admin's index names each app and model in Dutch, with a proper plural (no
    "Access log entrys", no app labels such as "Clinics" or "Axes" left in English)."""
    untranslated = []
    for model in admin.site._registry:
        for name in (model._meta.verbose_name_plural, model._meta.app_config.verbose_name):
            with translation.override("en"):
                english = str(name)
            with translation.override("nl"):
                dutch = str(name)
            if dutch == english and english.lower() not in SAME_IN_DUTCH:
                untranslated.append(f"{model._meta.label}: {english}")
    assert untranslated == []


def test_the_admin_index_reads_dutch(client_for, oscar):
    """Seen as the operator: Dutch section names, no English plural slip."""
    page = client_for(oscar).get(reverse("admin:index")).content.decode()
    assert "toegangslogregels" in page.lower() and "Praktijken en mensen" in page
    assert "entrys" not in page and "Axes" not in page
