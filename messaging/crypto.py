"""The chat's cryptography, protocol e2ee/v1 (docs/chat-protocol.md): the Python twin of
static/js/e2ee/crypto.js, over `cryptography` only.

Invariants:
- A leaf module: stdlib and `cryptography`, nothing of the portal, so the server's use of it
  (verify_login) cannot drag models into a crypto check, and tests need no database.
- Every signed, hashed or authenticated string is built exactly as crypto.js builds it.
- open_message raises the one VerificationError for any failure, and returns text only after
  the signature, the wrap, the body's tag and the padding have all been checked;
  open_attachment returns a file only after those checks and the file's own (the signed body's
  hash of it, its tag under the file AAD).
- open_private refuses weak key-derivation parameters before deriving anything (check 6).
- verify_login is what authenticates a reporter: it accepts only exact lengths and canonical
  values, and answers False rather than raising for anything malformed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

PROTOCOL = "e2ee/v1"
KDF_NAME = "PBKDF2-SHA-256"
MIN_ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000  # a server must not make a client derive for minutes
PAD_BLOCK = 256
MAX_CIPHER_BYTES = 65_536  # the AES-GCM output: padded text and its 16-byte tag
MAX_RECIPIENTS = 50
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # plain bytes of a clinic message's one file
MAX_FILE_NAME = 255  # code points
TAG_BYTES = 16
PUBLIC_KEY_BYTES = 65
SIGNATURE_BYTES = 64
IV_BYTES = 12
ENC_BYTES = 65
CONTENT_KEY_BYTES = 32
KINDS = ("body", "note")

SUITE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_CURVE = ec.SECP256R1()
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_KEY_ID = re.compile(r"^[0-9a-f]{32}$")
_LOGIN_PART = re.compile(r"^[\x21-\x7b\x7d\x7e]+$")  # printable ASCII without "|"
_RECOVERY = re.compile(r"^[A-Z2-7]{32}$")


class VerificationError(Exception):
    """A message, wrap, key copy or signature that does not verify; never shown as text."""


class WeakKdfError(ValueError):
    """A stored private-key copy whose derivation parameters the protocol does not accept."""


class MessageTooLongError(ValueError):
    """A message whose cipher would exceed MAX_CIPHER_BYTES."""


class AttachmentTooLargeError(ValueError):
    """A file of more than MAX_ATTACHMENT_BYTES plain bytes."""


# --- encodings ----------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, length: int | None = None) -> bytes:
    """Strict: canonical standard base64 only (one spelling per value), of `length` if given."""
    if not isinstance(text, str):
        raise ValueError("base64 text expected")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as error:
        raise ValueError("bad base64") from error
    if b64(data) != text or (length is not None and len(data) != length):
        raise ValueError("bad base64 value")
    return data


def _check_uuid(value: object) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise ValueError("bad UUID")
    return value


def _check_key_id(value: object) -> str:
    if not isinstance(value, str) or not _KEY_ID.match(value):
        raise ValueError("bad key id")
    return value


def _raw(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def load_public(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 point in uncompressed form, exactly 65 bytes (from_encoded_point checks it is on
    the curve)."""
    if len(raw) != PUBLIC_KEY_BYTES or raw[0] != 4:
        raise ValueError("a public key is a 65-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, raw)


# --- key sets, ids, fingerprints ----------------------------------------------------------


def key_id(kem_public_raw: bytes | None, sig_public_raw: bytes) -> str:
    kem = b"" if kem_public_raw is None else kem_public_raw
    if len(sig_public_raw) != PUBLIC_KEY_BYTES or len(kem) not in (0, PUBLIC_KEY_BYTES):
        raise ValueError("public keys are 65 bytes")
    return hashlib.sha256(f"{PROTOCOL}|key|".encode() + kem + sig_public_raw).hexdigest()[:32]


def fingerprint(sig_public_raw: bytes) -> str:
    return key_id(None, sig_public_raw)


def safety_code(fingerprint_hex: str) -> str:
    digits = _check_key_id(fingerprint_hex)[:20]
    return " ".join(digits[i : i + 4] for i in range(0, 20, 4))


@dataclass(frozen=True)
class PublicKeySet:
    kem_public: bytes | None
    sig_public: bytes

    @property
    def key_id(self) -> str:
        return key_id(self.kem_public, self.sig_public)


@dataclass(frozen=True)
class KeySet:
    """A party's private keys: kem (ECDH, for HPKE) and sig (ECDSA). The clinic key has no kem."""

    kem: ec.EllipticCurvePrivateKey | None
    sig: ec.EllipticCurvePrivateKey

    @property
    def kem_public(self) -> bytes | None:
        return None if self.kem is None else _raw(self.kem.public_key())

    @property
    def sig_public(self) -> bytes:
        return _raw(self.sig.public_key())

    @property
    def public(self) -> PublicKeySet:
        return PublicKeySet(self.kem_public, self.sig_public)

    @property
    def key_id(self) -> str:
        return key_id(self.kem_public, self.sig_public)


def generate_key_set() -> KeySet:
    return KeySet(kem=ec.generate_private_key(_CURVE), sig=ec.generate_private_key(_CURVE))


def generate_clinic_key() -> KeySet:
    return KeySet(kem=None, sig=ec.generate_private_key(_CURVE))


# --- private keys at rest -----------------------------------------------------------------


def _wrapping_key(secret_text: str, salt: bytes, iterations: int) -> AESGCM:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return AESGCM(kdf.derive(unicodedata.normalize("NFC", secret_text).encode()))


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> str:
    return b64(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def seal_private(
    key_set: KeySet, secret_text: str, *, iterations: int = MIN_ITERATIONS
) -> dict[str, Any]:
    """The stored copy of a key set's private keys under a passphrase or recovery code.
    `iterations` is a parameter only so tests can make the weak copies a server might send."""
    secret: dict[str, Any] = {"v": 1}
    if key_set.kem is not None:
        secret["kem"] = _pkcs8(key_set.kem)
    secret["sig"] = _pkcs8(key_set.sig)
    salt, iv = os.urandom(16), os.urandom(IV_BYTES)
    aad = f"{PROTOCOL}|private|{key_set.key_id}".encode()
    sealed = _wrapping_key(secret_text, salt, iterations).encrypt(
        iv, json.dumps(secret, separators=(",", ":")).encode(), aad
    )
    return {
        "v": 1,
        "kdf": KDF_NAME,
        "iterations": iterations,
        "salt": b64(salt),
        "iv": b64(iv),
        "sealed": b64(sealed),
    }


def check_kdf_parameters(stored: dict[str, Any]) -> None:
    if stored.get("v") != 1 or stored.get("kdf") != KDF_NAME:
        raise WeakKdfError(f"only {KDF_NAME} is accepted")
    iterations = stored.get("iterations")
    if type(iterations) is not int or not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise WeakKdfError(f"refused: {iterations!r} iterations (at least {MIN_ITERATIONS})")


def _load_private(pkcs8_b64: object) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_der_private_key(unb64(pkcs8_b64), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != _CURVE.name:
        raise VerificationError("not a P-256 key")
    return key


def open_private(stored: dict[str, Any], secret_text: str, key_id_text: str) -> KeySet:
    check_kdf_parameters(stored)
    _check_key_id(key_id_text)
    try:
        salt, iv = unb64(stored["salt"], 16), unb64(stored["iv"], IV_BYTES)
        aad = f"{PROTOCOL}|private|{key_id_text}".encode()
        plain = _wrapping_key(secret_text, salt, stored["iterations"]).decrypt(
            iv, unb64(stored["sealed"]), aad
        )
        secret = json.loads(plain)
        kem = _load_private(secret["kem"]) if "kem" in secret else None
        key_set = KeySet(kem=kem, sig=_load_private(secret["sig"]))
    except (InvalidTag, ValueError, KeyError, TypeError) as error:
        raise VerificationError("wrong secret or a damaged copy") from error
    if secret.get("v") != 1 or key_set.key_id != key_id_text:
        raise VerificationError("the private keys do not match their key id")
    return key_set


# --- recovery codes -----------------------------------------------------------------------


def new_recovery_code() -> str:
    code = base64.b32encode(os.urandom(20)).decode("ascii")  # 160 bits: 32 characters, no "="
    return " ".join(code[i : i + 4] for i in range(0, 32, 4))


def normalise_recovery_code(code: str) -> str:
    bare = re.sub(r"[\s-]", "", code).upper()
    if not _RECOVERY.match(bare):
        raise ValueError("not a recovery code")
    return bare


def recovery_lookup(code: str) -> str:
    text = f"{PROTOCOL}|recovery|{normalise_recovery_code(code)}"
    return hashlib.sha256(text.encode()).hexdigest()


# --- signatures and certificates ----------------------------------------------------------


def sign(sig_private: ec.EllipticCurvePrivateKey, text: str) -> bytes:
    """ECDSA P-256 SHA-256 in IEEE P1363 form (r ‖ s, 64 bytes), as WebCrypto makes it."""
    r, s = decode_dss_signature(sig_private.sign(text.encode(), ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(sig_public_raw: bytes, signature: bytes, text: str) -> bool:
    """Strict P1363 verification: exact lengths, r and s in [1, n-1], then DER for
    `cryptography`."""
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_BYTES:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (0 < r < _ORDER and 0 < s < _ORDER):
        return False
    try:
        public = load_public(sig_public_raw)
        public.verify(encode_dss_signature(r, s), text.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _certified(clinic_key_id: str, subject_key_id: str, purpose: str) -> str:
    if not re.fullmatch(r"[a-z]+", purpose):
        raise ValueError("bad purpose")
    return (
        f"{PROTOCOL}|cert|{_check_key_id(clinic_key_id)}|{_check_key_id(subject_key_id)}|{purpose}"
    )


def certify(
    clinic_sig_private: ec.EllipticCurvePrivateKey,
    clinic_key_id: str,
    subject_key_id: str,
    purpose: str,
) -> bytes:
    return sign(clinic_sig_private, _certified(clinic_key_id, subject_key_id, purpose))


def verify_certificate(
    clinic_sig_public_raw: bytes,
    clinic_key_id: str,
    subject_key_id: str,
    purpose: str,
    signature: bytes,
) -> bool:
    """True only if the clinic key is the one its key id names and it certified this subject
    for this purpose."""
    try:
        if fingerprint(clinic_sig_public_raw) != clinic_key_id:
            return False
        text = _certified(clinic_key_id, subject_key_id, purpose)
    except ValueError:
        return False
    return verify(clinic_sig_public_raw, signature, text)


def _login_text(origin: str, nonce: str) -> str:
    for part in (origin, nonce):
        if not isinstance(part, str) or not _LOGIN_PART.match(part):
            raise ValueError("bad login challenge")
    return f"{PROTOCOL}|login|{origin}|{nonce}"


def sign_login(sig_private: ec.EllipticCurvePrivateKey, origin: str, nonce: str) -> bytes:
    return sign(sig_private, _login_text(origin, nonce))


def verify_login(sig_public_raw: bytes, origin: str, nonce: str, signature: bytes) -> bool:
    """The server's check of a reporter's sign-in: did this key sign this origin's nonce?"""
    try:
        text = _login_text(origin, nonce)
    except ValueError:
        return False
    return verify(sig_public_raw, signature, text)


# --- messages -----------------------------------------------------------------------------


def pad(data: bytes) -> bytes:
    """ISO/IEC 7816-4: 0x80 then zeros to the next multiple of PAD_BLOCK."""
    size = (len(data) // PAD_BLOCK + 1) * PAD_BLOCK
    return data + b"\x80" + b"\x00" * (size - len(data) - 1)


def unpad(padded: bytes) -> bytes:
    if not padded or len(padded) % PAD_BLOCK:
        raise VerificationError("bad padding")
    stripped = padded.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80 or len(padded) - len(stripped) >= PAD_BLOCK:
        raise VerificationError("bad padding")
    return stripped[:-1]


def _aad(kind: str, conversation_id: str, message_id: str, sender_key_id: str) -> str:
    return f"{PROTOCOL}|{kind}|{conversation_id}|{message_id}|{sender_key_id}"


def _wrap_info(conversation_id: str, message_id: str, recipient_key_id: str) -> bytes:
    return f"{PROTOCOL}|wrap|{conversation_id}|{message_id}|{recipient_key_id}".encode()


def _signed(aad: str, iv: bytes, cipher: bytes, recipients: list[str]) -> str:
    return f"{PROTOCOL}|sig|{aad}|{b64(iv)}|{b64(cipher)}|{','.join(recipients)}"


@dataclass(frozen=True)
class Recipient:
    key_id: str
    kem_public: bytes


def _wrap_to(content_key: bytes, conversation_id: str, message_id: str, to: Recipient) -> str:
    info = _wrap_info(conversation_id, message_id, _check_key_id(to.key_id))
    return b64(SUITE.encrypt(content_key, load_public(to.kem_public), info=info))


def _check_file_name(name: object) -> str:
    """1 to 255 code points that have a UTF-8 form (no lone surrogates), as crypto.js checks;
    otherwise the sender's name as given, to be shown as text only."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_FILE_NAME:
        raise ValueError(f"a file name is 1 to {MAX_FILE_NAME} characters")
    name.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate
    return name


def _check_file(kind: str, file: tuple[str, bytes]) -> None:
    """Refused before anything is encrypted."""
    name, data = file
    if kind != "body":
        raise ValueError("only a body carries a file")
    if not isinstance(data, bytes):
        raise TypeError("file bytes expected")
    _check_file_name(name)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLargeError(f"a file has at most {MAX_ATTACHMENT_BYTES} bytes")


def _seal_file(
    content_key: bytes,
    file: tuple[str, bytes],
    conversation_id: str,
    message_id: str,
    sender_key_id: str,
) -> tuple[dict[str, Any], bytes]:
    """The body's `attachment` member and the file's cipher: under the message's content key,
    with the body's AAD but kind "file" (never a row's kind); the member names the cipher's hash
    and is signed with the body, so the two cannot be split."""
    name, data = file
    iv = os.urandom(IV_BYTES)
    aad = _aad("file", conversation_id, message_id, sender_key_id)
    cipher = AESGCM(content_key).encrypt(iv, data, aad.encode())
    sha256 = hashlib.sha256(cipher).digest()
    return {"name": name, "size": len(data), "iv": b64(iv), "sha256": b64(sha256)}, cipher


def _check_attachment(plain: dict[str, Any], kind: str) -> None:
    """The body's `attachment` member as the protocol defines it, or VerificationError."""
    member = plain["attachment"]
    if (
        kind != "body"
        or not isinstance(member, dict)
        or set(member) != {"name", "size", "iv", "sha256"}
        or type(member["size"]) is not int
        or not 0 <= member["size"] <= MAX_ATTACHMENT_BYTES
    ):
        raise VerificationError("bad attachment")
    _check_file_name(member["name"])
    unb64(member["iv"], IV_BYTES)
    unb64(member["sha256"], 32)


def seal_message(
    *,
    conversation_id: str,
    message_id: str | None = None,
    kind: str,
    sender: KeySet,
    plain: dict[str, Any],
    recipients: list[Recipient],
    file: tuple[str, bytes] | None = None,
) -> dict[str, Any]:
    """A row to store. With `file` (name, plain bytes; clinic messages, kind body only) the
    body gets its `attachment` member and the row an extra "attachment" key holding the file's
    cipher, which the caller pops before the JSON (it is uploaded as a file of its own)."""
    message_id = str(uuid.uuid4()) if message_id is None else _check_uuid(message_id)
    _check_uuid(conversation_id)
    if kind not in KINDS:
        raise ValueError("kind must be body or note")
    by_id = {_check_key_id(r.key_id): r for r in recipients}
    ids = sorted(by_id)
    if not 0 < len(ids) <= MAX_RECIPIENTS:
        raise ValueError(f"1 to {MAX_RECIPIENTS} recipients")
    if "attachment" in plain:  # the member is written here, from the file encrypted here
        raise ValueError("plain['attachment'] is reserved")
    if file is not None:
        _check_file(kind, file)
    content_key = os.urandom(CONTENT_KEY_BYTES)
    file_cipher = None
    if file is not None:
        member, file_cipher = _seal_file(
            content_key, file, conversation_id, message_id, sender.key_id
        )
        plain = {**plain, "attachment": member}
    padded = pad(json.dumps(plain, ensure_ascii=False, separators=(",", ":")).encode())
    if len(padded) + TAG_BYTES > MAX_CIPHER_BYTES:
        raise MessageTooLongError("message too long")
    iv = os.urandom(IV_BYTES)
    aad = _aad(kind, conversation_id, message_id, sender.key_id)
    cipher = AESGCM(content_key).encrypt(iv, padded, aad.encode())
    wraps = {i: _wrap_to(content_key, conversation_id, message_id, by_id[i]) for i in ids}
    row = {
        "id": message_id,
        "kind": kind,
        "sender_key_id": sender.key_id,
        "iv": b64(iv),
        "cipher": b64(cipher),
        "signature": b64(sign(sender.sig, _signed(aad, iv, cipher, ids))),
        "recipients": ids,
        "wraps": wraps,
    }
    if file_cipher is not None:
        row["attachment"] = file_cipher
    return row


def _open_key_and_body(
    conversation_id: str, row: dict[str, Any], me: KeySet
) -> tuple[bytes, bytes]:
    """The content key from my wrap, and the padded body it decrypts (tag checked)."""
    if me.kem is None:
        raise VerificationError("this key set receives no messages")
    info = _wrap_info(conversation_id, row["id"], me.key_id)
    wrap = unb64(row["wraps"][me.key_id])
    if len(wrap) <= ENC_BYTES:
        raise VerificationError("bad wrap")
    content_key = SUITE.decrypt(wrap, me.kem, info=info)
    if len(content_key) != CONTENT_KEY_BYTES:
        raise VerificationError("bad content key")
    aad = _aad(row["kind"], conversation_id, row["id"], row["sender_key_id"])
    padded = AESGCM(content_key).decrypt(
        unb64(row["iv"], IV_BYTES), unb64(row["cipher"]), aad.encode()
    )
    return content_key, padded


def _check_row(conversation_id: str, row: dict[str, Any]) -> None:
    _check_uuid(conversation_id)
    _check_uuid(row["id"])
    _check_key_id(row["sender_key_id"])
    if row["kind"] not in KINDS:
        raise VerificationError("bad kind")


def _open_verified(
    conversation_id: str, row: dict[str, Any], me: KeySet, sender: PublicKeySet
) -> tuple[dict[str, Any], bytes]:
    """Every check of a received row (checks 3 and 4): the plain message and its content key.
    Any exception means refusal; the public callers make it one VerificationError."""
    _check_row(conversation_id, row)
    if sender.key_id != row["sender_key_id"]:
        raise VerificationError("sender key mismatch")
    recipients = row["recipients"]
    if (
        not isinstance(recipients, list)
        or not 0 < len(recipients) <= MAX_RECIPIENTS
        or [_check_key_id(r) for r in recipients] != sorted(set(recipients))
    ):
        raise VerificationError("bad recipients")
    iv, cipher = unb64(row["iv"], IV_BYTES), unb64(row["cipher"])
    if len(cipher) > MAX_CIPHER_BYTES:
        raise VerificationError("too long")
    aad = _aad(row["kind"], conversation_id, row["id"], row["sender_key_id"])
    signature = unb64(row["signature"], SIGNATURE_BYTES)
    if not verify(sender.sig_public, signature, _signed(aad, iv, cipher, recipients)):
        raise VerificationError("bad signature")
    content_key, padded = _open_key_and_body(conversation_id, row, me)
    plain = json.loads(unpad(padded).decode("utf-8"))
    if not isinstance(plain, dict) or plain.get("v") != 1:
        raise VerificationError("bad message")
    if "attachment" in plain:
        _check_attachment(plain, row["kind"])
    return plain, content_key


def open_message(
    *, conversation_id: str, row: dict[str, Any], me: KeySet, sender: PublicKeySet
) -> dict[str, Any]:
    """The plain message, or VerificationError. `sender` is the key set the caller trusts to
    write in this conversation; its key id is recomputed and must be the row's. A clinic
    message's `attachment` member comes back checked for form only; the file is
    open_attachment's."""
    try:
        return _open_verified(conversation_id, row, me, sender)[0]
    except VerificationError:
        raise
    except Exception as error:  # any malformed row is the same refusal, never partial text
        raise VerificationError("cannot be verified") from error


def open_attachment(
    *,
    conversation_id: str,
    row: dict[str, Any],
    me: KeySet,
    sender: PublicKeySet,
    file_cipher: bytes,
) -> tuple[str, bytes]:
    """A clinic message's file as (name, plain bytes), or VerificationError: the row verified
    as open_message verifies it, then `file_cipher` must be the one the signed body names by
    hash and its tag must hold under this message's key and the file AAD."""
    try:
        plain, content_key = _open_verified(conversation_id, row, me, sender)
        if "attachment" not in plain:
            raise VerificationError("no attachment")
        member = plain["attachment"]
        if not isinstance(file_cipher, bytes) or len(file_cipher) != member["size"] + TAG_BYTES:
            raise VerificationError("bad file length")
        if hashlib.sha256(file_cipher).digest() != unb64(member["sha256"]):
            raise VerificationError("another file")
        aad = _aad("file", conversation_id, row["id"], row["sender_key_id"])
        data = AESGCM(content_key).decrypt(unb64(member["iv"]), file_cipher, aad.encode())
    except VerificationError:
        raise
    except Exception as error:
        raise VerificationError("cannot be verified") from error
    return member["name"], data


def rewrap(
    *, conversation_id: str, row: dict[str, Any], me: KeySet, new_recipient: Recipient
) -> str:
    """My wrap's content key sealed to a later counsellor (check 12), after the body's tag has
    shown it is this message's key. The caller has checked new_recipient's certificate."""
    try:
        _check_row(conversation_id, row)
        content_key, _ = _open_key_and_body(conversation_id, row, me)
    except Exception as error:
        raise VerificationError("cannot be verified") from error
    return _wrap_to(content_key, conversation_id, row["id"], new_recipient)
