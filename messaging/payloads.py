"""What the chat's browsers send, read strictly (docs/chat-protocol.md, "Sizes and limits").

The server cannot check ciphertext, so it checks everything around it: the JSON's shape, every
id's form, every binary value's exact length. Anything else is refused with a clear message
before a row is written (`Refused`, which the views turn into a 4xx JSON answer).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from messaging.models import KEY_ID_LENGTH, PUBLIC_KEY_BYTES, MessageKind

IV_BYTES = 12
SIGNATURE_BYTES = 64  # ECDSA P-256, IEEE P1363 r‖s
GCM_TAG_BYTES = 16
PAD_BLOCK = 256
MAX_CIPHER_BYTES = 64 * 1024  # the padded body and its tag (docs/chat-protocol.md)
WRAP_BYTES = PUBLIC_KEY_BYTES + 32 + GCM_TAG_BYTES  # HPKE enc ‖ sealed 32-byte content key
MAX_RECIPIENTS = 50
# One message's JSON: its base64 cipher and the wraps, with room to spare; anything longer is
# refused unread.
MAX_BODY_BYTES = 2 * MAX_CIPHER_BYTES * 4 // 3 + 16384
PBKDF2_MIN_ITERATIONS = 600_000
PBKDF2_MAX_ITERATIONS = 10_000_000  # the clients refuse more too: minutes of deriving
_KEY_ID = re.compile(rf"[0-9a-f]{{{KEY_ID_LENGTH}}}")
_LOOKUP = re.compile(r"[0-9a-f]{64}")


class Refused(ValidationError):
    """Bad input to the chat: nothing was stored. `status` is the HTTP answer (400, 403, 409,
    413, 429)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, code=str(status))
        self.status = status


def json_of(request: HttpRequest) -> dict:
    """The request's JSON object. Another content type is refused before the body is read (a
    form post's body may already have been consumed as form data)."""
    if request.content_type != "application/json":
        raise Refused(_("Send JSON (Content-Type: application/json)."), 415)
    return load_json(request.body)


def load_json(raw: bytes) -> dict:
    if len(raw) > MAX_BODY_BYTES:
        raise Refused(_("The message is too long."), 413)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(_("The request is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise Refused(_("The request is not a JSON object."))
    return data


def binary(data: dict, name: str, *, size: int | None = None, most: int | None = None) -> bytes:
    value = data.get(name)
    if not isinstance(value, str):
        raise Refused(_("%(name)s is missing.") % {"name": name})
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refused(_("%(name)s is not base64.") % {"name": name}) from exc
    if (size is not None and len(raw) != size) or (most is not None and len(raw) > most):
        raise Refused(_("%(name)s has the wrong length.") % {"name": name})
    return raw


def key_id(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _KEY_ID.fullmatch(value):
        raise Refused(_("%(name)s is not a key id.") % {"name": name})
    return value


def lookup(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _LOOKUP.fullmatch(value):
        raise Refused(_("%(name)s is not a recovery lookup.") % {"name": name})
    return value


def an_uuid(data: dict, name: str) -> uuid.UUID:
    value = data.get(name)
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    # Canonical lower-case form only: the same text is signed and bound into the wraps.
    if parsed is None or str(parsed) != value:
        raise Refused(_("%(name)s is not an id.") % {"name": name})
    return parsed


def sealed_private(data: dict, name: str) -> dict:
    """A private key copy sealed under a passphrase or recovery code (protocol, "Private keys
    at rest"). The server keeps it as sent; it checks only that it is what a client would open,
    so a key set sealed too weakly is refused here too, not only by the other clients."""
    value = data.get(name)
    if not isinstance(value, dict) or set(value) != {
        "v",
        "kdf",
        "iterations",
        "salt",
        "iv",
        "sealed",
    }:
        raise Refused(_("%(name)s is not a sealed key.") % {"name": name})
    iterations = value["iterations"]
    if value["v"] != 1 or value["kdf"] != "PBKDF2-SHA-256" or not isinstance(iterations, int):
        raise Refused(_("%(name)s is not a sealed key.") % {"name": name})
    if not PBKDF2_MIN_ITERATIONS <= iterations <= PBKDF2_MAX_ITERATIONS:
        raise Refused(_("%(name)s is sealed with too few iterations.") % {"name": name})
    binary(value, "salt", size=16)
    binary(value, "iv", size=IV_BYTES)
    binary(value, "sealed", most=4096)
    return value


@dataclass(frozen=True)
class KeySetIn:
    key_id: str
    kem_public: bytes
    sig_public: bytes
    sealed: dict  # {"passphrase": ..., "recovery": ...}


def key_set(data: dict, *, with_kem: bool = True) -> KeySetIn:
    sealed = data.get("sealed_private")
    if not isinstance(sealed, dict) or set(sealed) != {"passphrase", "recovery"}:
        raise Refused(_("sealed_private needs a passphrase and a recovery copy."))
    return KeySetIn(
        key_id=key_id(data, "key_id"),
        kem_public=binary(data, "kem_public", size=PUBLIC_KEY_BYTES) if with_kem else b"",
        sig_public=binary(data, "sig_public", size=PUBLIC_KEY_BYTES),
        sealed={part: sealed_private(sealed, part) for part in ("passphrase", "recovery")},
    )


@dataclass(frozen=True)
class MessageIn:
    id: uuid.UUID
    kind: str
    sender_key_id: str
    iv: bytes
    cipher: bytes
    signature: bytes
    recipients: tuple[str, ...]
    wraps: dict[str, bytes]


def message(data: dict) -> MessageIn:
    kind = data.get("kind")
    if kind not in MessageKind.values:
        raise Refused(_("kind must be body or note."))
    cipher = binary(data, "cipher", most=MAX_CIPHER_BYTES)
    if len(cipher) < PAD_BLOCK + GCM_TAG_BYTES or (len(cipher) - GCM_TAG_BYTES) % PAD_BLOCK:
        raise Refused(_("cipher is not a padded message."))
    recipients = data.get("recipients")
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise Refused(_("recipients must list 1 to %(most)s keys.") % {"most": MAX_RECIPIENTS})
    ids = tuple(key_id({"r": r}, "r") for r in recipients)
    if list(ids) != sorted(set(ids)):
        raise Refused(_("recipients must be sorted and distinct."))
    wraps = data.get("wraps")
    if not isinstance(wraps, dict) or set(wraps) != set(ids):
        raise Refused(_("There must be one wrap for each recipient, and no other."))
    return MessageIn(
        id=an_uuid(data, "id"),
        kind=kind,
        sender_key_id=key_id(data, "sender_key_id"),
        iv=binary(data, "iv", size=IV_BYTES),
        cipher=cipher,
        signature=binary(data, "signature", size=SIGNATURE_BYTES),
        recipients=ids,
        wraps={r: binary(wraps, r, size=WRAP_BYTES) for r in ids},
    )


MAX_REWRAPS = 1000


def rewraps(data: dict) -> tuple[str, dict[uuid.UUID, bytes]]:
    """A re-wrap's recipient key id and its wraps by message id."""
    recipient = key_id(data, "recipient_key_id")
    wraps = data.get("wraps")
    if not isinstance(wraps, dict) or len(wraps) > MAX_REWRAPS:
        raise Refused(_("wraps must map message ids to wraps."))
    return recipient, {an_uuid({"id": k}, "id"): binary(wraps, k, size=WRAP_BYTES) for k in wraps}


Raw = bytes | memoryview  # a binary column as the database returns it


def b64(raw: Raw) -> str:
    return base64.b64encode(bytes(raw)).decode("ascii")


def public_keys(key_id: str, kem_public: Raw, sig_public: Raw) -> dict:
    """A key set's public half as the browsers read it (they recompute the id from the keys)."""
    return {"key_id": key_id, "kem_public": b64(kem_public), "sig_public": b64(sig_public)}


def since(value: str | None) -> datetime.datetime | None:
    """A poll's cursor: the time of the newest message the browser has (or none)."""
    try:
        parsed = parse_datetime(value) if value else None
    except ValueError:
        parsed = None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def cursor(rows: list[dict], since: datetime.datetime | None) -> str | None:
    """The next poll's cursor: the newest message's time, or the old cursor if none came."""
    if rows:
        return rows[-1]["created_at"]
    return since.isoformat() if since else None
