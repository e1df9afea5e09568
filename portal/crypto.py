"""Crypto glue for identifying data at rest.

Invariants:
- Identifying fields use the Strict* fields below, never the library's plain ones: the library
  returns the ciphertext as if it were the value when a key cannot decrypt it; these raise
  `FieldDecryptionError` instead, so ciphertext is never shown as data.
- A missing or malformed FIELD_ENCRYPTION_KEY fails at start-up (the library's import, checked
  again in `field_key_check_configuration`); a well-formed but wrong key fails at start-up through
  `clinics.encryption.field_key_verify_against_database`, which the WSGI/ASGI entry points and
  Celery workers call.
- Searchable names are stored as keyed hashes (blind index) derived from the current field key;
  rotating the key re-encrypts every encrypted field and rebuilds the index
  (`manage.py rotate_field_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable

import cryptography.fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from encrypted_model_fields import fields as encrypted_fields


class FieldDecryptionError(ImproperlyConfigured):
    """Stored ciphertext could not be decrypted with any configured key."""


def current_crypter() -> cryptography.fernet.MultiFernet:
    # Looked up at call time, so that key rotation (and tests) can swap the module's crypter.
    return encrypted_fields.CRYPTER


class StrictDecryptMixin:
    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            plaintext = current_crypter().decrypt(value.encode("utf-8")).decode("utf-8")
        except cryptography.fernet.InvalidToken as exc:
            raise FieldDecryptionError(
                f"{self.model.__name__}.{self.name} cannot be decrypted with FIELD_ENCRYPTION_KEY."
            ) from exc
        # Skip the library's lenient decrypt in EncryptedMixin.to_python.
        return super(encrypted_fields.EncryptedMixin, self).to_python(plaintext)

    def get_db_prep_save(self, value, connection):
        # The library would encrypt the repr of an expression (bulk_update's CASE, F()) and store
        # it as the value; expressions are compiled instead, their Value()s encrypted one by one.
        if hasattr(value, "as_sql"):
            return value
        return super().get_db_prep_save(value, connection)


class StrictEncryptedCharField(StrictDecryptMixin, encrypted_fields.EncryptedCharField):
    pass


class StrictEncryptedTextField(StrictDecryptMixin, encrypted_fields.EncryptedTextField):
    pass


class StrictEncryptedEmailField(StrictDecryptMixin, encrypted_fields.EncryptedEmailField):
    pass


class StrictEncryptedDateField(StrictDecryptMixin, encrypted_fields.EncryptedDateField):
    pass


def build_crypter(keys: list[str]) -> cryptography.fernet.MultiFernet:
    if not keys or not all(keys):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is empty.")
    try:
        return cryptography.fernet.MultiFernet([cryptography.fernet.Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY is malformed: {exc}") from exc


def field_key_check_configuration() -> None:
    """Fail loudly when the configured key list is missing or malformed."""
    keys = settings.FIELD_ENCRYPTION_KEY
    build_crypter(list(keys) if isinstance(keys, list | tuple) else [keys])


# --- after a key rotation ---------------------------------------------------------------------

# Rebuilders of what is keyed by the first field key, registered by the apps that own it; each
# takes `batch_size` and returns one line for the operator.
_KEY_ROTATED_HOOKS: list[Callable[..., str]] = []


def field_key_rotated_hook_register(hook: Callable[..., str]) -> None:
    if hook not in _KEY_ROTATED_HOOKS:
        _KEY_ROTATED_HOOKS.append(hook)


def field_key_rotated_hooks() -> list[Callable[..., str]]:
    return list(_KEY_ROTATED_HOOKS)


# --- blind index ------------------------------------------------------------------------------

_INDEX_CONTEXT = b"portal/blind-index/v1"
MIN_PREFIX_LENGTH = 2


def blind_index_key() -> bytes:
    """A key for name search, derived from the current (first) field key."""
    keys = settings.FIELD_ENCRYPTION_KEY
    first = keys[0] if isinstance(keys, list | tuple) else keys
    return hmac.new(first.encode("utf-8"), _INDEX_CONTEXT, hashlib.sha256).digest()


def normalise_words(text: str) -> list[str]:
    """Lower-case, accent-free words: 'Ömer de Vries-Jansen' -> omer, de, vries, jansen."""
    # The Turkish dotless ı has no decomposition: fold it by hand, so "yildiz" finds "Yıldız".
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ı", "i"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in plain)
    return cleaned.split()


def blind_digest(token: str, key: bytes) -> str:
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


def name_index_digests(*names: str, key: bytes | None = None) -> set[str]:
    """Digests of every prefix (from two letters) of every word of the names, for prefix search."""
    key = key or blind_index_key()
    digests = set()
    for name in names:
        for word in normalise_words(name):
            for end in range(min(MIN_PREFIX_LENGTH, len(word)), len(word) + 1):
                digests.add(blind_digest(word[:end], key))
    return digests


def query_digests(query: str) -> list[str]:
    """One digest per searched word; a record matches when it has them all."""
    key = blind_index_key()
    return [blind_digest(word, key) for word in normalise_words(query)]
