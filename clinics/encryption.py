"""The start-up proof that the configured field key reads the stored data (a canary row).

The canary is a row of known plaintext (`EncryptionCanary`), written under the first key on
first start and re-encrypted by key rotation. A web process or worker whose key cannot read it
refuses to start, so ciphertext is never served as data.
"""

from __future__ import annotations

from django.db import DatabaseError

from clinics.models import EncryptionCanary
from portal.crypto import FieldDecryptionError

CANARY_PLAINTEXT = "field-key-canary-v1"


def field_key_verify_against_database() -> None:
    """Refuse to start when the key cannot read what is stored.

    The canary row is written under the first key on first start and re-encrypted by key rotation.
    A database that is not migrated yet has nothing to protect: the check is skipped.
    """
    try:
        canary = EncryptionCanary.objects.first()
    except DatabaseError:
        return
    if canary is None:
        try:
            EncryptionCanary.objects.create(value=CANARY_PLAINTEXT)
        except DatabaseError:
            return
        return
    if canary.value != CANARY_PLAINTEXT:
        raise FieldDecryptionError("FIELD_ENCRYPTION_KEY decrypts the canary to the wrong value.")
