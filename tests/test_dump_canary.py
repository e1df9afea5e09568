"""SECURITY.md T43: after the demo, a dump of the database and of private file storage holds no
patient name, date of birth, phone number, free-text note or TOTP secret in clear (raw, hex or
base64). The one identifier kept in clear on purpose, the login e-mail address, is listed with
its reason in the personal-data registry (`in_clear`), and the names are looked for as they are
written, so an address made of them in lower case is not mistaken for one.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils import translation
from django_otp import devices_for_user

from clinics.demo import demo_seed
from clinics.models import User
from messaging.demo import CONVERSATIONS
from patients.models import Patient
from patients.services import patient_create
from portal.personal_data import declarations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_private_storage(settings, tmp_path):
    """Private storage of this test alone: the worker's shared test folder keeps files that
    earlier tests uploaded on purpose (a CSV with a name in a note), which are no leak of the
    demo's."""
    settings.PRIVATE_UPLOAD_ROOT = tmp_path
    private = settings.STORAGES["private"]
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {**private, "OPTIONS": {**private.get("OPTIONS", {}), "location": tmp_path}},
    }
    assert Path(storages["private"].location) == tmp_path


NOTE = "Knieprothese links, valt vaak 's nachts"
PHONE = "+31 6 1234 5678"


def database_dump() -> bytes:
    """The data of every table, as pg_dump writes it (COPY text)."""
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    command = ["pg_dump", "--data-only", "--no-owner", "-h", db["HOST"] or "127.0.0.1"]
    command += ["-p", str(db["PORT"] or 5432), "-U", db["USER"] or "postgres", db["NAME"]]
    return subprocess.run(command, env=env, capture_output=True, check=True).stdout


def private_storage_dump() -> bytes:
    root = Path(settings.PRIVATE_UPLOAD_ROOT)
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def forms_of(secret: bytes) -> list[bytes]:
    """The secret as written, as hex and base32 (either case: both are read case-blind) and as
    base64."""
    hexed, b32 = binascii.hexlify(secret), base64.b32encode(secret).rstrip(b"=")
    b64 = base64.b64encode(secret).rstrip(b"=")
    return [secret, hexed.lower(), hexed.upper(), b32.upper(), b32.lower(), b64]


SHORT = 8


def find_in(form: bytes, dump: bytes) -> int:
    """Where `form` occurs in the dump (-1 if nowhere). A form shorter than SHORT bytes counts
    only as a whole value, not run together with letters or digits on either side: a name of
    four letters turns up by chance inside the base64 of some ciphertext (it failed one CI
    run), while a leaked value stands between delimiters (a tab, a quote, a space). The full
    name, always longer, is still looked for anywhere."""
    if len(form) >= SHORT:
        return dump.find(form)
    word = rb"A-Za-z0-9\x80-\xff"
    found = re.search(rb"(?<![%s])%s(?![%s])" % (word, re.escape(form), word), dump)
    return found.start() if found else -1


def patient_needles(patient: Patient) -> dict[str, bytes]:
    born = patient.date_of_birth
    needles = {
        "given name": patient.given_name,
        "family name": patient.family_name,
        "full name": patient.full_name,
        "date of birth": born.isoformat(),
        "date of birth (d-m-Y)": born.strftime("%d-%m-%Y"),
        "phone": patient.phone,
        "note": patient.notes,
    }
    return {f"{patient.pk} {k}": v.encode() for k, v in needles.items() if len(v) >= 4}


def chat_needles() -> dict[str, bytes]:
    """The demo conversations' words and nicknames (E2EE.md check 1 for what the demo wrote;
    tests/test_browser_chat.py holds a conversation in two browsers)."""
    needles = {f"chat nickname {nickname}": nickname.encode() for nickname, _ in CONVERSATIONS}
    for nickname, lines in CONVERSATIONS:
        for index, (_side, text) in enumerate(lines):
            needles[f"chat line {index} of {nickname}"] = text.encode()
    return needles


def totp_keys() -> dict[str, bytes]:
    """Every authenticator key, read through django-otp's devices (which decrypt it)."""
    return {
        f"TOTP key of {user.email} ({device.persistent_id})": device.bin_key
        for user in User.objects.all()
        for device in devices_for_user(user, confirmed=None)
        if getattr(device, "bin_key", None)
    }


def test_a_dump_after_the_demo_holds_no_identifier_in_clear():
    """Names, dates of birth, phone numbers, notes and TOTP keys appear only encrypted."""
    with transaction.atomic():
        demo_seed()
        clinic = Patient.objects.first().clinic
        staff = User.objects.filter(memberships__clinic=clinic).first()
        patient_create(
            clinic=clinic, actor=staff, given_name="Wilhelmina", family_name="Oosterhuis",
            date_of_birth=datetime.date(1961, 7, 23), phone=PHONE, notes=NOTE,
        )  # fmt: skip
    needles = {}
    for patient in Patient.objects.all():
        needles |= patient_needles(patient)
    needles |= totp_keys()
    needles |= chat_needles()
    assert len(needles) > 40
    dump = database_dump() + private_storage_dump()
    found = [
        f"{name} as {form!r} in ...{dump[max(0, at - 60) : at + len(form) + 60]!r}..."
        for name, secret in needles.items()
        for form in forms_of(secret)
        if (at := find_in(form, dump)) >= 0
    ]
    assert found == []


def test_the_identifiers_kept_in_clear_are_listed_with_their_reason():
    """The exceptions to T43 are declared, each with its reason: an account's login e-mail
    address, an uploaded export while its import needs it, and a record document's file."""
    with translation.override("en"):
        in_clear = {d.model.lower(): str(d.in_clear) for d in declarations() if d.in_clear}
    login = {settings.AUTH_USER_MODEL.lower(), "account.emailaddress"}
    uploads = {"patients.importbatch", "documents.recorddocument"}
    assert set(in_clear) == login | uploads
    assert all("e-mail" in in_clear[model] for model in login)
    assert all("unencrypted" in in_clear[model] for model in uploads)


def test_a_short_form_counts_as_a_whole_value_only():
    """The matcher above: a short name between delimiters is found, inside a token it is not,
    and a long form is found anywhere."""
    assert find_in(b"Joke", b"x\tJoke\tBakker") == 2
    assert find_in(b"Joke", b'{"n": "Joke"}') == 7
    assert find_in(b"Joke", b"gAAAAABmJokeQ3x") == -1
    assert find_in(b"Wilhelmina", b"abcWilhelminaxyz") == 3
