"""The real sign-in steps, for tests that exercise the flow itself rather than force_login."""

from __future__ import annotations

import base64

from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp

from clinics.mfa_devices import AuthenticatorDevice
from clinics.tests.factories import DEFAULT_PASSWORD


def password_login(
    client: Client, email: str, password: str = DEFAULT_PASSWORD, **extra: object
) -> HttpResponse:
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def current_code(device: AuthenticatorDevice, *, steps: int = 0) -> str:
    """The code an authenticator app with this key shows now (or `steps` windows away)."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + steps)
    return f"{value:0{device.digits}d}"


def code_for(device: AuthenticatorDevice, *, steps: int = 0) -> str:
    """`current_code` after re-reading the device (verification may have moved its drift)."""
    device.refresh_from_db()
    return current_code(device, steps=steps)


def submit_code(client: Client, code: str, next_url: str = "") -> HttpResponse:
    data = {"code": code, "next": next_url} if next_url else {"code": code}
    return client.post(reverse("mfa:verify"), data)


def device_secrets(user) -> list[str]:
    """Every way a stored key of the user's authenticators can be written: hex, base32, the
    otpauth:// URI an app scans (for tests that a secret never shows)."""
    found = []
    for device in AuthenticatorDevice.objects.filter(user=user):
        found += [
            device.bin_key.hex(),
            base64.b32encode(device.bin_key).decode("ascii"),
            base64.b32encode(device.bin_key).decode("ascii").rstrip("="),
            device.config_url,
        ]
    return found
