"""T37: identifying data are encrypted at rest, a wrong key fails loudly, keys rotate."""

from __future__ import annotations

import datetime
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection
from django.utils import timezone
from encrypted_model_fields import fields as encrypted_fields

from clinics.checks import field_key_reads_stored_data
from clinics.encryption import field_key_verify_against_database
from clinics.mfa_devices import AuthenticatorDevice
from clinics.models import EncryptionCanary
from clinics.tests.flows import current_code
from patients.models import Patient, PatientInvitation, PatientNameToken
from patients.selectors import patient_list
from patients.services import patient_create
from portal.crypto import FieldDecryptionError, build_crypter

BASE_DIR = Path(django_settings.BASE_DIR)
KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
KEY_C = Fernet.generate_key().decode()

PATIENT_VALUES = {
    "given_name": "Ömer",
    "family_name": "Kwakkelstein",
    "date_of_birth": datetime.date(1961, 3, 14),
    "email": "omer.kwakkelstein@example.org",
    "phone": "+31 6 9876 5432",
    "notes": "Knieklachten sinds de marathon van Rotterdam",
}
PATIENT_COLUMNS = list(PATIENT_VALUES)
INVITATION_EMAIL = "uitnodiging.kwakkelstein@example.org"


@pytest.fixture
def use_field_keys(settings):
    """`use_field_keys(k1, k2, ...)` switches the settings and the library's crypter together."""
    previous = encrypted_fields.CRYPTER

    def use(*keys: str) -> None:
        settings.FIELD_ENCRYPTION_KEY = list(keys)
        # The library builds CRYPTER once at import; portal.crypto reads it at call time.
        encrypted_fields.CRYPTER = build_crypter(list(keys))

    yield use
    encrypted_fields.CRYPTER = previous


@pytest.fixture
def omer(db, clinic_a, alice, use_field_keys):
    """A patient with every identifying field filled, written under key A, plus an invitation;
    alice's authenticator key is rewritten under key A too."""
    device = alice.authenticatordevice_set.get()  # read under the test settings' key
    use_field_keys(KEY_A)
    device.save()
    patient = patient_create(clinic=clinic_a, actor=alice, **PATIENT_VALUES)
    PatientInvitation.objects.create(
        clinic=clinic_a,
        patient=patient,
        email=INVITATION_EMAIL,
        token_digest="0" * 64,
        created_by=alice,
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    field_key_verify_against_database()  # writes the canary under key A
    return patient


def raw_row(table: str, columns: list[str], pk: int) -> dict[str, str]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} "  # noqa: S608
            "WHERE id = %s",
            [pk],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


def raw_patient(patient: Patient) -> dict[str, str]:
    return raw_row(Patient._meta.db_table, PATIENT_COLUMNS, patient.pk)


def raw_invitation(patient: Patient) -> str:
    invitation = PatientInvitation.objects.get(patient=patient)
    return raw_row(PatientInvitation._meta.db_table, ["email"], invitation.pk)["email"]


def raw_tokens() -> dict[int, str]:
    return dict(PatientNameToken.objects.values_list("pk", "digest"))


def decrypts_to(key: str, raw: str) -> str:
    return Fernet(key.encode()).decrypt(raw.encode()).decode()


def test_raw_patient_and_invitation_columns_hold_no_plaintext(omer):
    """Names, birth date, contact data and notes are stored only as Fernet tokens under the key."""
    stored = raw_patient(omer)
    for column, value in PATIENT_VALUES.items():
        plain = str(value)
        assert plain not in stored[column]
        assert plain.split()[0].lower() not in stored[column].lower()
        assert decrypts_to(KEY_A, stored[column]) == plain
    invitation_raw = raw_invitation(omer)
    assert INVITATION_EMAIL not in invitation_raw
    assert "kwakkelstein" not in invitation_raw.lower()
    assert decrypts_to(KEY_A, invitation_raw) == INVITATION_EMAIL


def test_reading_a_record_with_a_wrong_key_raises_instead_of_returning_ciphertext(
    omer, use_field_keys
):
    """A key that cannot decrypt the row makes the read fail; ciphertext never passes as data."""
    use_field_keys(KEY_C)
    with pytest.raises(FieldDecryptionError, match=r"Patient\.given_name"):
        Patient.objects.get(pk=omer.pk)
    with pytest.raises(FieldDecryptionError):
        PatientInvitation.objects.get(patient_id=omer.pk)


def _manage_check(field_key: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "SECRET_KEY": "start-up-test-" + Fernet.generate_key().decode(),
        "FIELD_ENCRYPTION_KEY": field_key,
        "DATABASE_URL": "sqlite://:memory:",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "portal.example",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("field_key", "message"),
    [
        ("", "No keys defined in setting FIELD_ENCRYPTION_KEY"),
        ("not-a-fernet-key", "FIELD_ENCRYPTION_KEY defined incorrectly"),
        (f"{KEY_A},short", "FIELD_ENCRYPTION_KEY defined incorrectly"),
    ],
    ids=["empty", "malformed", "second-key-malformed"],
)
def test_missing_or_malformed_field_key_fails_at_start_up(field_key, message):
    """manage.py refuses to start with an empty or malformed FIELD_ENCRYPTION_KEY."""
    result = _manage_check(field_key)
    assert result.returncode != 0
    assert message in result.stderr


def test_well_formed_field_key_starts():
    """The same start-up with a good key succeeds (the failures above are about the key)."""
    result = _manage_check(KEY_A)
    assert result.returncode == 0, result.stderr


def test_wrong_but_well_formed_key_fails_the_canary_and_the_database_check(omer, use_field_keys):
    """The canary written under key A refuses key C in the start-up hook and the system check."""
    assert field_key_reads_stored_data(None) == []
    call_command("check", databases=["default"], stdout=io.StringIO())

    use_field_keys(KEY_C)
    with pytest.raises(FieldDecryptionError):
        field_key_verify_against_database()
    errors = field_key_reads_stored_data(None)
    assert [e.id for e in errors] == ["clinics.E002"]
    with pytest.raises(SystemCheckError, match=r"clinics\.E002"):
        call_command("check", databases=["default"], stdout=io.StringIO())


def test_canary_with_a_wrong_value_fails_the_check(db, use_field_keys):
    """A canary that decrypts to something else (a swapped table, a bug) is refused as well."""
    use_field_keys(KEY_A)
    EncryptionCanary.objects.create(value="not-the-canary")
    with pytest.raises(FieldDecryptionError, match="wrong value"):
        field_key_verify_against_database()


def _rotate() -> str:
    out = io.StringIO()
    call_command("rotate_field_key", "--batch-size", "2", stdout=out)
    return out.getvalue()


def test_rotation_re_encrypts_everything_under_the_new_key_and_rebuilds_the_index(
    omer, clinic_a, use_field_keys
):
    """After rotating with [B, A], key B alone reads every field, the canary and name search."""
    others = [
        patient_create(
            clinic=clinic_a,
            actor=omer.invitations.get().created_by,
            given_name=f"Anna{i}",
            family_name="Jansen",
            date_of_birth=datetime.date(1980, 1, 1 + i),
        )
        for i in range(4)
    ]
    updated_at = Patient.objects.get(pk=omer.pk).updated_at

    use_field_keys(KEY_B, KEY_A)
    # The index is keyed from the first field key: until the rotation, search finds nobody.
    assert not patient_list(clinic=clinic_a, search="ome").exists()
    output = _rotate()
    assert "patients.Patient: 5 of 5 rows re-encrypted" in output
    assert "patients.PatientInvitation: 1 of 1 rows re-encrypted" in output
    assert "clinics.EncryptionCanary: 1 of 1 rows re-encrypted" in output
    assert "clinics.AuthenticatorDevice: 1 of 1 rows re-encrypted (key)" in output
    assert "Patient name index: 5 of 5 patients re-indexed" in output

    use_field_keys(KEY_B)
    stored = raw_patient(omer)
    for column, value in PATIENT_VALUES.items():
        assert decrypts_to(KEY_B, stored[column]) == str(value)
    assert decrypts_to(KEY_B, raw_invitation(omer)) == INVITATION_EMAIL
    reread = Patient.objects.get(pk=omer.pk)
    assert {c: getattr(reread, c) for c in PATIENT_COLUMNS} == PATIENT_VALUES
    assert reread.updated_at == updated_at
    assert PatientInvitation.objects.get(patient=omer).email == INVITATION_EMAIL
    field_key_verify_against_database()
    [device] = AuthenticatorDevice.objects.all()
    stored_key = raw_row("clinics_authenticatordevice", ["key"], device.pk)["key"]
    assert decrypts_to(KEY_B, stored_key) == device.key
    assert device.verify_token(current_code(device))
    assert list(patient_list(clinic=clinic_a, search="ome")) == [omer]
    assert set(patient_list(clinic=clinic_a, search="jans")) == set(others)


def test_rotating_twice_changes_nothing(omer, use_field_keys):
    """A second run finds everything under the first key: no column and no index row changes."""
    use_field_keys(KEY_B, KEY_A)
    _rotate()
    columns, invitation, tokens = raw_patient(omer), raw_invitation(omer), raw_tokens()

    output = _rotate()
    assert "patients.Patient: 0 of 1 rows re-encrypted" in output
    assert "Patient name index: 0 of 1 patients re-indexed" in output
    assert raw_patient(omer) == columns
    assert raw_invitation(omer) == invitation
    assert raw_tokens() == tokens


def test_rotation_stops_on_a_value_no_key_can_read_and_changes_nothing(omer, use_field_keys):
    """Without the old key in the list, rotation refuses instead of burying unreadable data."""
    before = raw_patient(omer)
    use_field_keys(KEY_B)
    with pytest.raises(CommandError, match="cannot be decrypted"):
        _rotate()
    assert raw_patient(omer) == before


def test_bulk_update_encrypts_values_not_the_sql_expression(omer):
    """bulk_update (used by rotation) stores each row's encrypted value, never its CASE text."""
    omer.given_name, omer.date_of_birth = "Öykü", datetime.date(1962, 4, 15)
    Patient.objects.bulk_update([omer], ["given_name", "date_of_birth"])
    stored = raw_patient(omer)
    assert decrypts_to(KEY_A, stored["given_name"]) == "Öykü"
    assert decrypts_to(KEY_A, stored["date_of_birth"]) == "1962-04-15"
