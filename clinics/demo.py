"""Demo data of the layer every feature stands on: clinics, their staff and the operator, each
login with a working second factor. Feature apps add their own demo data with a seeder
registered in their AppConfig.ready() (`demo_seeder_register`), so this app names no feature.

Idempotent: a second run finds what exists and creates only what is missing. Passwords are
derived from SECRET_KEY and the e-mail address, so they are stable for one installation and
unguessable elsewhere; TOTP secrets are kept once made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.conf import settings

from clinics.mfa import TOTP_DEVICE_NAME, backup_codes_regenerate
from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import Clinic, Membership, Role, User


@dataclass(frozen=True)
class DemoClinic:
    name: str
    domain: str
    requires_patient_mfa: bool
    # The staff's names, in the order of STAFF: the team page and the access log show them.
    # None that a demo patient has (patients.demo): the dump canary looks for those.
    staff_names: tuple[str, str, str, str]


CLINICS = (
    DemoClinic(
        name="Fysiotherapie De Linde",
        domain="delinde.example",
        requires_patient_mfa=True,
        staff_names=("Marieke Hoekstra", "Daan Kuipers", "Esther Brouwer", "Ruud Veenstra"),
    ),
    DemoClinic(
        name="Praktijk Zuidpark",
        domain="zuidpark.example",
        requires_patient_mfa=False,
        staff_names=("Ingrid Dijkstra", "Bram Mulder", "Yasmina Haddou", "Wim Koster"),
    ),
)
STAFF = (
    ("beheer", Role.CLINIC_ADMIN),
    ("fysio1", Role.PROFESSIONAL),
    ("fysio2", Role.PROFESSIONAL),
    ("vertrouwenspersoon", Role.COUNSELLOR),
)
OPERATOR_EMAIL = "operator@portal.example"


@dataclass(frozen=True)
class SeededClinic:
    """What a feature's seeder gets: the clinic, its demo settings and its staff by role."""

    clinic: Clinic
    demo: DemoClinic
    staff: dict[str, User]  # "beheer", "fysio1", ... -> the user


# A seeder adds a feature's demo data to one clinic and returns the logins it made (or fields
# to add to a login already made, by its e-mail address).
DemoSeeder = Callable[[SeededClinic], list[dict]]
_SEEDERS: list[DemoSeeder] = []


def demo_seeder_register(seeder: DemoSeeder) -> None:
    if seeder not in _SEEDERS:
        _SEEDERS.append(seeder)


def demo_password(email: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo:{email}".encode(), hashlib.sha256)
    return "Demo-" + base64.urlsafe_b64encode(digest.digest()[:15]).decode()


def demo_user(email: str, name: str, **flags: bool) -> User:
    """The demo account; a name it lacks is given (one its owner chose is kept)."""
    user, _ = User.objects.get_or_create(email=email, defaults={"display_name": name, **flags})
    if name and not user.display_name:
        user.display_name = name
    user.set_password(demo_password(email))
    user.is_active = True
    user.save()
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _device_secret(user: User) -> str:
    device = AuthenticatorDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = AuthenticatorDevice.objects.create(
            user=user, name=TOTP_DEVICE_NAME, confirmed=True
        )
        backup_codes_regenerate(user)
    return base64.b32encode(device.bin_key).decode("ascii")


def demo_login(user: User, role: str, clinic: Clinic | None, *, with_device: bool) -> dict:
    """The login as the credentials file lists it (with the TOTP secret when there is one)."""
    entry = {"email": user.email, "password": demo_password(user.email), "role": role}
    if clinic is not None:
        entry["clinic"] = clinic.name
    if with_device:
        entry["totp_secret"] = _device_secret(user)
    return entry


def demo_seed() -> list[dict]:
    """Every demo login: the operator, each clinic's staff, then what the features add."""
    operator = demo_user(OPERATOR_EMAIL, "Operator", is_staff=True, is_superuser=True)
    credentials = [demo_login(operator, "superuser", None, with_device=True)]
    for demo in CLINICS:
        clinic, _ = Clinic.objects.update_or_create(
            name=demo.name, defaults={"requires_patient_mfa": demo.requires_patient_mfa}
        )
        staff = {}
        for (local, role), name in zip(STAFF, demo.staff_names, strict=True):
            user = demo_user(f"{local}@{demo.domain}", name)
            Membership.objects.update_or_create(
                clinic=clinic, user=user, defaults={"role": role, "is_active": True}
            )
            credentials.append(demo_login(user, role.value, clinic, with_device=True))
            staff[local] = user
        for seeder in _SEEDERS:
            _merge(credentials, seeder(SeededClinic(clinic, demo, staff)))
    return credentials


def _merge(credentials: list[dict], added: list[dict]) -> None:
    """A seeder's entry for a login already listed adds its fields to it (a counsellor's chat
    passphrase next to their password); any other entry is a new login."""
    by_email = {entry["email"]: entry for entry in credentials}
    for entry in added:
        if entry["email"] in by_email:
            by_email[entry["email"]].update(entry)
        else:
            credentials.append(entry)
