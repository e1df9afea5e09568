"""The operator's admin site and second factors (SECURITY.md T42): no page shows a stored TOTP
key or backup code, the operator cannot set someone's password, and resetting someone's second
factor is an explicit, logged action."""

from __future__ import annotations

import base64

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clinics.mfa import backup_codes_regenerate
from clinics.tests.factories import TOTPDeviceFactory
from clinics.tests.flows import device_secrets

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
    paths += ["/admin/otp_static/statictoken/", "/admin/otp_static/staticdevice/"]
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
    return user.totpdevice_set.get(confirmed=True).pk


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
