"""The chat protocol's Python twin (messaging/crypto.py): round trips, and every tampering of a
stored row refused with VerificationError (E2EE.md checks 3, 4, 6). No database needed."""

from __future__ import annotations

import copy
import hashlib
import os
import uuid
from pathlib import Path

import pytest

from messaging import crypto
from messaging.crypto import Recipient, VerificationError, WeakKdfError

CONVERSATION = "6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f"
OTHER_CONVERSATION = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70"
ORIGIN = "https://portal.example"


@pytest.fixture(scope="module")
def reporter() -> crypto.KeySet:
    return crypto.generate_key_set()


@pytest.fixture(scope="module")
def counsellor() -> crypto.KeySet:
    return crypto.generate_key_set()


def _to(key_set: crypto.KeySet) -> Recipient:
    return Recipient(key_set.key_id, key_set.kem_public)


def _seal(sender, recipients, *, body="Hallo", message_id=None, kind="body") -> dict:
    return crypto.seal_message(
        conversation_id=CONVERSATION,
        message_id=message_id or str(uuid.uuid4()),
        kind=kind,
        sender=sender,
        plain={"v": 1, "body": body, "nickname": "Vlinder"},
        recipients=[_to(r) for r in recipients],
    )


def _open(row, me, sender, conversation_id=CONVERSATION) -> dict:
    return crypto.open_message(
        conversation_id=conversation_id, row=row, me=me, sender=sender.public
    )


def test_a_message_opens_for_every_recipient(reporter, counsellor) -> None:
    """A sealed message opens for the sender's own key and each recipient, text intact."""
    row = _seal(reporter, [reporter, counsellor], body="Ik wil iets vertellen ✓")
    assert row["recipients"] == sorted([reporter.key_id, counsellor.key_id])
    for me in (reporter, counsellor):
        assert _open(row, me, reporter)["body"] == "Ik wil iets vertellen ✓"


def test_key_id_is_recomputed_from_the_public_keys(reporter) -> None:
    """key_id is the first 128 bits of SHA-256 over the label and both public keys."""
    expected = hashlib.sha256(
        b"e2ee/v1|key|" + reporter.kem_public + reporter.sig_public
    ).hexdigest()[:32]
    assert reporter.key_id == crypto.key_id(reporter.kem_public, reporter.sig_public) == expected
    clinic = crypto.generate_clinic_key()
    assert clinic.key_id == crypto.fingerprint(clinic.sig_public)
    code = crypto.safety_code(clinic.key_id)
    assert code.replace(" ", "") == clinic.key_id[:20] and len(code.split()) == 5


def test_padding_hides_the_length_in_256_byte_steps() -> None:
    """Bodies pad to multiples of 256 and unpad exactly; truncated padding is refused."""
    for size in (0, 1, 255, 256, 1000):
        padded = crypto.pad(b"x" * size)
        assert len(padded) % 256 == 0 and len(padded) > size
        assert crypto.unpad(padded) == b"x" * size
    with pytest.raises(VerificationError):
        crypto.unpad(crypto.pad(b"abc")[:-1])
    with pytest.raises(VerificationError):
        crypto.unpad(b"abc" + b"\x00" * 253)
    with pytest.raises(VerificationError):
        crypto.unpad(b"\x80" + b"\x00" * 511)  # padding longer than one block


def test_a_message_moved_to_another_conversation_is_refused(reporter, counsellor) -> None:
    """Check 3: the conversation id is in the signature, the wrap's info and the body's AAD."""
    row = _seal(reporter, [reporter, counsellor])
    with pytest.raises(VerificationError):
        _open(row, counsellor, reporter, conversation_id=OTHER_CONVERSATION)


def test_a_wrap_moved_to_another_message_is_refused(reporter, counsellor) -> None:
    """Check 3: a wrap taken from another message does not open under this message's id."""
    first, second = _seal(reporter, [counsellor]), _seal(reporter, [counsellor])
    moved = copy.deepcopy(second)
    moved["wraps"][counsellor.key_id] = first["wraps"][counsellor.key_id]
    with pytest.raises(VerificationError):
        _open(moved, counsellor, reporter)
    renamed = copy.deepcopy(first)
    renamed["id"] = second["id"]  # the whole row under another message id
    with pytest.raises(VerificationError):
        _open(renamed, counsellor, reporter)


def test_a_changed_recipient_list_is_refused(reporter, counsellor) -> None:
    """The sorted recipient list is signed: dropping or adding a key breaks the signature."""
    row = _seal(reporter, [reporter, counsellor])
    dropped = copy.deepcopy(row)
    dropped["recipients"] = [counsellor.key_id]
    added = copy.deepcopy(row)
    added["recipients"] = sorted([*row["recipients"], "0" * 32])
    unsorted = copy.deepcopy(row)
    unsorted["recipients"] = sorted(row["recipients"], reverse=True)
    for tampered in (dropped, added, unsorted):
        with pytest.raises(VerificationError):
            _open(tampered, counsellor, reporter)


def test_a_signature_by_another_key_or_none_is_refused(reporter, counsellor) -> None:
    """Check 4: validly wrapped but unsigned or wrongly signed messages are refused."""
    row = _seal(reporter, [counsellor])
    other = _seal(counsellor, [counsellor])
    wrong = dict(row, signature=other["signature"])
    missing = {k: v for k, v in row.items() if k != "signature"}
    empty = dict(row, signature="")
    for tampered in (wrong, missing, empty):
        with pytest.raises(VerificationError):
            _open(tampered, counsellor, reporter)
    # A row signed by the counsellor but claimed for the reporter names the wrong sender key.
    with pytest.raises(VerificationError):
        _open(other, counsellor, reporter)


def test_a_changed_body_or_kind_is_refused(reporter, counsellor) -> None:
    """The cipher and kind are covered: a flipped bit or a note relabelled as body fails."""
    row = _seal(reporter, [counsellor], kind="note")
    raw = bytearray(crypto.unb64(row["cipher"]))
    raw[0] ^= 1
    for tampered in (dict(row, cipher=crypto.b64(bytes(raw))), dict(row, kind="body")):
        with pytest.raises(VerificationError):
            _open(tampered, counsellor, reporter)


def test_a_message_without_my_wrap_is_refused(reporter, counsellor) -> None:
    """A reader with no wrap (a note never goes to the reporter) gets no text."""
    row = _seal(counsellor, [counsellor], kind="note")
    with pytest.raises(VerificationError):
        _open(row, reporter, counsellor)


def test_badly_padded_plaintext_is_refused(reporter, counsellor, monkeypatch) -> None:
    """A sender whose padding is truncated (not a 256-byte multiple) makes an unreadable row."""
    monkeypatch.setattr(crypto, "pad", lambda data: data + b"\x80")
    row = _seal(reporter, [counsellor])
    monkeypatch.undo()
    with pytest.raises(VerificationError):
        _open(row, counsellor, reporter)


def test_a_too_long_message_is_refused_before_sending(reporter) -> None:
    """Cipher (padded text and tag) stays within 64 KiB; longer bodies raise a clear error."""
    _seal(reporter, [reporter], body="x" * 60_000)
    with pytest.raises(crypto.MessageTooLongError):
        _seal(reporter, [reporter], body="x" * 66_000)


def test_rewrap_gives_a_later_counsellor_the_message(reporter, counsellor) -> None:
    """Check 12: a re-wrapped content key opens the message for a key set added later."""
    row = _seal(reporter, [reporter, counsellor])
    newcomer = crypto.generate_key_set()
    row["wraps"][newcomer.key_id] = crypto.rewrap(
        conversation_id=CONVERSATION, row=row, me=counsellor, new_recipient=_to(newcomer)
    )
    assert _open(row, newcomer, reporter)["body"] == "Hallo"
    with pytest.raises(VerificationError):
        crypto.rewrap(
            conversation_id=OTHER_CONVERSATION, row=row, me=counsellor, new_recipient=_to(newcomer)
        )


# --- attachments (clinic messages: a thread id in the conversation's place) ---------------

THREAD = "5a7b9c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d"
OTHER_THREAD = "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b"


def _seal_file(sender, recipients, file, *, thread=THREAD, kind="body") -> tuple[dict, bytes]:
    """A row as the upload sends it (JSON fields) and the file's cipher (the file part)."""
    row = crypto.seal_message(
        conversation_id=thread,
        kind=kind,
        sender=sender,
        plain={"v": 1, "body": "Zie bijlage"},
        recipients=[_to(r) for r in recipients],
        file=file,
    )
    return row, row.pop("attachment")


def _open_file(row, file_cipher, me, sender, thread=THREAD) -> tuple[str, bytes]:
    return crypto.open_attachment(
        conversation_id=thread, row=row, me=me, sender=sender.public, file_cipher=file_cipher
    )


def test_an_attachment_opens_with_its_name_and_bytes(reporter, counsellor) -> None:
    """The file travels under the message's content key; the body names it (name, size, iv,
    hash); every recipient gets the name and bytes back, an empty file included."""
    data = os.urandom(300_000)
    row, file_cipher = _seal_file(reporter, [reporter, counsellor], ("uitslag ✓.pdf", data))
    assert len(file_cipher) == len(data) + 16
    assert "attachment" not in row  # the file part is not among the JSON fields
    for me in (reporter, counsellor):
        assert _open_file(row, file_cipher, me, reporter) == ("uitslag ✓.pdf", data)
    member = _open(row, counsellor, reporter, conversation_id=THREAD)["attachment"]
    assert member["name"] == "uitslag ✓.pdf" and member["size"] == 300_000
    assert crypto.unb64(member["sha256"]) == hashlib.sha256(file_cipher).digest()
    row, file_cipher = _seal_file(reporter, [counsellor], ("leeg.txt", b""))
    assert _open_file(row, file_cipher, counsellor, reporter) == ("leeg.txt", b"")


def test_a_file_name_has_1_to_255_characters(reporter) -> None:
    """Names are as given, but never empty, longer than 255 code points or unencodable."""
    row, file_cipher = _seal_file(reporter, [reporter], ("é" * 254 + "😀", b"x"))
    assert _open_file(row, file_cipher, reporter, reporter)[0] == "é" * 254 + "😀"
    for name in ("", "x" * 256, "a\ud800b", None):
        with pytest.raises(ValueError):
            _seal_file(reporter, [reporter], (name, b"x"))


def test_an_altered_or_truncated_file_is_refused(reporter, counsellor) -> None:
    """Any changed byte, a missing tail or an extra byte: VerificationError, no bytes."""
    row, file_cipher = _seal_file(reporter, [counsellor], ("foto.jpg", os.urandom(1000)))
    for at in (0, 500, len(file_cipher) - 1):
        altered = bytearray(file_cipher)
        altered[at] ^= 1
        with pytest.raises(VerificationError):
            _open_file(row, bytes(altered), counsellor, reporter)
    for changed in (file_cipher[:-1], file_cipher[:-16], file_cipher + b"\0", b""):
        with pytest.raises(VerificationError):
            _open_file(row, changed, counsellor, reporter)


def test_the_file_of_another_message_is_refused(reporter, counsellor) -> None:
    """Two messages of one thread with same-sized files: neither opens with the other's."""
    first, first_file = _seal_file(reporter, [counsellor], ("a.pdf", os.urandom(500)))
    second, second_file = _seal_file(reporter, [counsellor], ("a.pdf", os.urandom(500)))
    with pytest.raises(VerificationError):
        _open_file(first, second_file, counsellor, reporter)
    with pytest.raises(VerificationError):
        _open_file(second, first_file, counsellor, reporter)


def test_a_file_moved_to_another_thread_is_refused(reporter, counsellor, monkeypatch) -> None:
    """A message and its file opened under another thread fail; so does a file sealed under
    another thread's file AAD even though the signed body names its hash (the tag binds the
    thread, message and sender)."""
    row, file_cipher = _seal_file(reporter, [counsellor], ("a.pdf", b"inhoud"))
    with pytest.raises(VerificationError):
        _open_file(row, file_cipher, counsellor, reporter, thread=OTHER_THREAD)

    real_aad = crypto._aad

    def file_aad_of_another_thread(kind, conversation_id, message_id, sender_key_id):
        thread = OTHER_THREAD if kind == "file" else conversation_id
        return real_aad(kind, thread, message_id, sender_key_id)

    monkeypatch.setattr(crypto, "_aad", file_aad_of_another_thread)
    row, file_cipher = _seal_file(reporter, [counsellor], ("a.pdf", b"inhoud"))
    monkeypatch.undo()
    assert _open(row, counsellor, reporter, conversation_id=THREAD)["body"] == "Zie bijlage"
    with pytest.raises(VerificationError):
        _open_file(row, file_cipher, counsellor, reporter)


def test_a_file_of_more_than_10_mb_is_refused_before_encrypting(reporter) -> None:
    """Exactly 10 MiB (10485760 bytes) is accepted and opens; one byte more is refused."""
    data = bytes(crypto.MAX_ATTACHMENT_BYTES)
    row, file_cipher = _seal_file(reporter, [reporter], ("scan.tiff", data))
    assert len(file_cipher) == 10_485_760 + 16
    assert _open_file(row, file_cipher, reporter, reporter) == ("scan.tiff", data)
    with pytest.raises(crypto.AttachmentTooLargeError):
        _seal_file(reporter, [reporter], ("scan.tiff", data + b"\0"))


def test_only_a_body_carries_a_file_and_the_member_is_not_the_callers(reporter) -> None:
    """A note with a file, or a plain message naming its own attachment, is refused."""
    with pytest.raises(ValueError):
        _seal_file(reporter, [reporter], ("a.pdf", b"x"), kind="note")
    with pytest.raises(ValueError):
        crypto.seal_message(
            conversation_id=THREAD,
            kind="body",
            sender=reporter,
            plain={"v": 1, "body": "", "attachment": {"name": "a.pdf"}},
            recipients=[_to(reporter)],
        )


def test_a_malformed_attachment_member_makes_the_message_unreadable(
    reporter, counsellor, monkeypatch
) -> None:
    """A sender's body whose member is not the protocol's (short iv, missing hash, size as
    text, on a note) is refused as a whole; a message without a file has no attachment."""
    real_seal_file = crypto._seal_file
    bad_members = [
        ({"iv": crypto.b64(b"\0" * 11)}, "body"),
        ({"sha256": None}, "body"),
        ({"size": "1"}, "body"),
        ({"type": "image/png"}, "body"),
        ({}, "note"),
    ]
    for change, kind in bad_members:

        def seal_file(*args, change=change):
            member, cipher = real_seal_file(*args)
            return {**member, **change}, cipher

        monkeypatch.setattr(crypto, "_seal_file", seal_file)
        monkeypatch.setattr(crypto, "_check_file", lambda kind, file: None)
        row, file_cipher = _seal_file(reporter, [counsellor], ("a.pdf", b"x"), kind=kind)
        monkeypatch.undo()
        with pytest.raises(VerificationError):
            _open(row, counsellor, reporter, conversation_id=THREAD)
        with pytest.raises(VerificationError):
            _open_file(row, file_cipher, counsellor, reporter)
    plain_row = _seal(reporter, [counsellor])
    with pytest.raises(VerificationError):
        _open_file(plain_row, bytes(16), counsellor, reporter, thread=CONVERSATION)


def test_private_keys_round_trip_under_a_passphrase(reporter) -> None:
    """The stored copy opens with the right secret and key id, and with nothing else."""
    stored = crypto.seal_private(reporter, "lange zin met spaties")
    assert stored["iterations"] == 600_000 and stored["kdf"] == "PBKDF2-SHA-256"
    opened = crypto.open_private(stored, "lange zin met spaties", reporter.key_id)
    assert opened.key_id == reporter.key_id
    with pytest.raises(VerificationError):
        crypto.open_private(stored, "wrong", reporter.key_id)
    with pytest.raises(VerificationError):
        crypto.open_private(stored, "lange zin met spaties", "0" * 32)


def test_weak_derivation_parameters_are_refused(reporter) -> None:
    """Check 6: fewer than 600,000 iterations, or another KDF, is refused before deriving."""
    weak = crypto.seal_private(reporter, "geheim", iterations=1000)
    with pytest.raises(WeakKdfError):
        crypto.open_private(weak, "geheim", reporter.key_id)
    stored = crypto.seal_private(reporter, "geheim")
    for changed in (
        {"iterations": 599_999},
        {"iterations": "600000"},
        {"iterations": 600_000.0},
        {"kdf": "PBKDF2-SHA-1"},
        {"v": 2},
    ):
        with pytest.raises(WeakKdfError):
            crypto.open_private({**stored, **changed}, "geheim", reporter.key_id)


def test_recovery_codes_normalise_and_look_up() -> None:
    """160-bit base32 codes in groups of four; typing variants give the same lookup."""
    code = crypto.new_recovery_code()
    groups = code.split(" ")
    assert len(groups) == 8 and all(len(g) == 4 for g in groups)
    bare = code.replace(" ", "")
    assert crypto.normalise_recovery_code(code.lower().replace(" ", "-")) == bare
    expected = hashlib.sha256(b"e2ee/v1|recovery|" + bare.encode()).hexdigest()
    assert crypto.recovery_lookup(code) == crypto.recovery_lookup(bare.lower()) == expected
    with pytest.raises(ValueError):
        crypto.normalise_recovery_code("ABCD 1234")


def test_certificates_verify_only_for_their_subject_and_clinic(counsellor) -> None:
    """Check 5's basis: a certificate binds clinic key, subject key id and purpose."""
    clinic, other_clinic = crypto.generate_clinic_key(), crypto.generate_clinic_key()
    cert = crypto.certify(clinic.sig, clinic.key_id, counsellor.key_id, "counsellor")
    assert len(cert) == 64
    assert crypto.verify_certificate(
        clinic.sig_public, clinic.key_id, counsellor.key_id, "counsellor", cert
    )
    refused = [
        (clinic.sig_public, clinic.key_id, "0" * 32, "counsellor", cert),
        (clinic.sig_public, clinic.key_id, counsellor.key_id, "admin", cert),
        (other_clinic.sig_public, other_clinic.key_id, counsellor.key_id, "counsellor", cert),
        (other_clinic.sig_public, clinic.key_id, counsellor.key_id, "counsellor", cert),
        (clinic.sig_public, clinic.key_id, counsellor.key_id, "counsellor", cert[:63]),
    ]
    for args in refused:
        assert not crypto.verify_certificate(*args)


def test_login_signatures_verify_strictly(reporter) -> None:
    """The server's sign-in check: right key, origin and nonce, exact 64-byte P1363 only."""
    signature = crypto.sign_login(reporter.sig, ORIGIN, "nonce-123")
    assert crypto.verify_login(reporter.sig_public, ORIGIN, "nonce-123", signature)
    other = crypto.generate_key_set()
    n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    s = int.from_bytes(signature[32:], "big")
    high_s = signature[:32] + (s + n).to_bytes(33, "big")[-32:] if s + n < 2**256 else None
    refused = [
        (other.sig_public, ORIGIN, "nonce-123", signature),
        (reporter.sig_public, "https://evil.example", "nonce-123", signature),
        (reporter.sig_public, ORIGIN, "nonce-124", signature),
        (reporter.sig_public, ORIGIN, "nonce-123", signature + b"\x00"),
        (reporter.sig_public, ORIGIN, "nonce-123", b"\x00" * 64),
        (reporter.sig_public[:64], ORIGIN, "nonce-123", signature),
        (reporter.sig_public, ORIGIN, "nonce|123", signature),
        (reporter.sig_public, ORIGIN + "|", "nonce-123", signature),
    ]
    if high_s is not None:
        refused.append((reporter.sig_public, ORIGIN, "nonce-123", high_s))
    for args in refused:
        assert not crypto.verify_login(*args)


def test_the_module_imports_nothing_of_the_portal() -> None:
    """messaging.crypto is a leaf: stdlib and cryptography only."""
    source = Path(crypto.__file__).read_text(encoding="utf-8")
    imported = [
        line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))
    ]
    assert all(
        name.split(".")[0]
        in {
            "__future__",
            "base64",
            "binascii",
            "hashlib",
            "json",
            "os",
            "re",
            "unicodedata",
            "uuid",
            "dataclasses",
            "typing",
            "cryptography",
        }
        for name in imported
    ), imported
