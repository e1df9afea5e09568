"""RFC 9180's test vector for exactly the chat's suite (E2EE.md check 2): base mode,
DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (data/hpke_rfc9180_*.json names its origin).

`cryptography`'s public HPKE API takes no fixed ephemeral key and no AAD, so Python checks what
it can: the vector's first encryption opens with skRm through cryptography's HPKE (its AAD-taking
test entry point), and the whole derivation (DeriveKeyPair, Encap's shared secret, the key
schedule, the nonces of each encryption) is recomputed step by step from RFC 9180 section 4-5 on
cryptography's primitives. The browser test checks the vendored @hpke/core against the same file.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from messaging.crypto import SUITE

VECTOR_FILE = Path(__file__).parent / "data" / "hpke_rfc9180_p256_sha256_aes256gcm.json"
VECTOR = json.loads(VECTOR_FILE.read_text())["vector"]
ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
KEM_SUITE_ID = b"KEM\x00\x10"
HPKE_SUITE_ID = b"HPKE\x00\x10\x00\x01\x00\x02"


def _v(name: str) -> bytes:
    return bytes.fromhex(VECTOR[name])


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\x00" * 32, ikm, "sha256").digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), "sha256").digest()
        out, counter = out + block, counter + 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = length.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info
    return _expand(prk, labeled_info, length)


def _derive_private(ikm: bytes) -> int:
    """DeriveKeyPair for P-256 (RFC 9180 7.1.3): rejection sampling with bitmask 0xff."""
    prk = _labeled_extract(KEM_SUITE_ID, b"", b"dkp_prk", ikm)
    for counter in range(256):
        candidate = _labeled_expand(KEM_SUITE_ID, prk, b"candidate", bytes([counter]), 32)
        value = int.from_bytes(candidate, "big")
        if 0 < value < ORDER:
            return value
    raise AssertionError("DeriveKeyPairError")


def _raw_public(private_value: int) -> bytes:
    key = ec.derive_private_key(private_value, ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def test_the_vector_is_for_the_chats_suite() -> None:
    """The stored entry is mode 0, kem 0x0010, kdf 0x0001, aead 0x0002."""
    assert (VECTOR["mode"], VECTOR["kem_id"], VECTOR["kdf_id"], VECTOR["aead_id"]) == (0, 16, 1, 2)


def test_key_pairs_derive_from_the_vectors_ikm() -> None:
    """DeriveKeyPair(ikmE), DeriveKeyPair(ikmR) give skEm/pkEm and skRm/pkRm."""
    for ikm, sk, pk in (("ikmE", "skEm", "pkEm"), ("ikmR", "skRm", "pkRm")):
        private_value = _derive_private(_v(ikm))
        assert private_value.to_bytes(32, "big") == _v(sk)
        assert _raw_public(private_value) == _v(pk)
    assert _v("enc") == _v("pkEm")


def test_the_key_schedule_matches_the_vector() -> None:
    """Encap's shared secret and the base-mode key schedule give key, base_nonce, exporter."""
    sk_e = ec.derive_private_key(int.from_bytes(_v("skEm"), "big"), ec.SECP256R1())
    pk_r = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _v("pkRm"))
    dh = sk_e.exchange(ec.ECDH(), pk_r)
    eae_prk = _labeled_extract(KEM_SUITE_ID, b"", b"eae_prk", dh)
    kem_context = _v("enc") + _v("pkRm")
    shared = _labeled_expand(KEM_SUITE_ID, eae_prk, b"shared_secret", kem_context, 32)
    assert shared == _v("shared_secret")

    psk_id_hash = _labeled_extract(HPKE_SUITE_ID, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(HPKE_SUITE_ID, b"", b"info_hash", _v("info"))
    context = b"\x00" + psk_id_hash + info_hash
    assert context == _v("key_schedule_context")
    secret = _labeled_extract(HPKE_SUITE_ID, shared, b"secret", b"")
    assert secret == _v("secret")
    assert _labeled_expand(HPKE_SUITE_ID, secret, b"key", context, 32) == _v("key")
    assert _labeled_expand(HPKE_SUITE_ID, secret, b"base_nonce", context, 12) == _v("base_nonce")
    assert _labeled_expand(HPKE_SUITE_ID, secret, b"exp", context, 32) == _v("exporter_secret")


def test_the_vectors_encryptions_decrypt_with_the_derived_key() -> None:
    """Each encryption's nonce is base_nonce XOR its sequence number, and it opens with key."""
    aead = AESGCM(_v("key"))
    for seq, encryption in enumerate(VECTOR["encryptions"]):
        nonce = (int.from_bytes(_v("base_nonce"), "big") ^ seq).to_bytes(12, "big")
        assert nonce.hex() == encryption["nonce"]
        opened = aead.decrypt(
            nonce, bytes.fromhex(encryption["ct"]), bytes.fromhex(encryption["aad"])
        )
        assert opened.hex() == encryption["pt"]


def test_cryptography_hpke_opens_the_vectors_first_encryption() -> None:
    """cryptography's HPKE (the suite messaging.crypto uses) opens enc ‖ ct with skRm."""
    # The Rust binding's own test entry point (cryptography 50): the public API has no AAD.
    _decrypt_with_aad = getattr(rust_openssl.hpke, "_decrypt_with_aad", None)
    if _decrypt_with_aad is None:  # pragma: no cover - a later cryptography may drop it
        pytest.skip("this cryptography has no AAD-taking HPKE entry point")
    first = VECTOR["encryptions"][0]
    sk_r = ec.derive_private_key(int.from_bytes(_v("skRm"), "big"), ec.SECP256R1())
    opened = _decrypt_with_aad(
        SUITE,
        _v("enc") + bytes.fromhex(first["ct"]),
        sk_r,
        info=_v("info"),
        aad=bytes.fromhex(first["aad"]),
    )
    assert opened.hex() == first["pt"]
