"""The chat's crypto module (static/js/e2ee/crypto.js, keystore.js) in headless Chromium against
its Python twin (messaging/crypto.py), each test naming the E2EE.md check it proves.

One browser for the module: a portal page (the login page, under the portal's CSP) imports the
modules from the live server's static files, as the chat will, and every test drives that page.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.templatetags.static import static
from django.urls import reverse
from playwright.sync_api import Page, sync_playwright
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from messaging import crypto
from messaging.crypto import PublicKeySet, Recipient
from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

CONVERSATION = "3b0f7c1e-2d4a-4e6b-8c9d-0e1f2a3b4c5d"
VECTOR_FILE = (
    Path(__file__).parents[1] / "messaging/tests/data/hpke_rfc9180_p256_sha256_aes256gcm.json"
)

_IMPORT = """async ({crypto, keystore, hpke}) => {
  window.e2ee = await import(crypto);
  window.keystore = await import(keystore);
  window.hpke = await import(hpke);
  window.keys = {};
}"""

# A key set made in the browser, kept there under `name`; only its public half comes back.
_NEW_KEY_SET = """async (name) => {
  const fresh = await e2ee.generateKeySet();
  window.keys[name] = await e2ee.lockKeySet(fresh);
  return {keyId: fresh.keyId, kem: e2ee.b64(fresh.kemPublic), sig: e2ee.b64(fresh.sigPublic)};
}"""


def _to(key_set: crypto.KeySet) -> Recipient:
    return Recipient(key_set.key_id, key_set.kem_public)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# A live server of our own for the module, as tests/test_accessibility.py does: pytest-django's
# `live_server` would ask for a transactional database per test, from inside the asyncio loop
# Playwright's sync API keeps running, which Django refuses. Nothing here writes to the database.
@pytest.fixture(scope="module")
def page(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[tuple[Page, ConsoleWatcher]]:
    console = ConsoleWatcher()
    with django_db_blocker.unblock():
        server = LiveServer("localhost")
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    page = browser.new_context().new_page()
                    console.attach(page)
                    page.goto(server.url + reverse("account_login"))
                    page.evaluate(
                        _IMPORT,
                        {
                            "crypto": server.url + static("js/e2ee/crypto.js"),
                            "keystore": server.url + static("js/e2ee/keystore.js"),
                            "hpke": server.url + static("vendor/hpke-core-1.9.0/hpke.esm.js"),
                        },
                    )
                    yield page, console
                finally:
                    browser.close()
        finally:
            server.stop()
    assert console.errors == []


def _browser_key(page: Page, name: str) -> PublicKeySet:
    public = page.evaluate(_NEW_KEY_SET, name)
    key_set = PublicKeySet(base64.b64decode(public["kem"]), base64.b64decode(public["sig"]))
    assert key_set.key_id == public["keyId"]
    return key_set


_BROWSER_OPEN = """async ({row, me, sender, conversationId}) => {
  try {
    const plain = await e2ee.openMessage({conversationId, row, me: keys[me], sender});
    return {plain};
  } catch (error) {
    return {error: error.name};
  }
}"""


def _browser_open(page, row, me, sender: PublicKeySet, conversation_id=CONVERSATION) -> dict:
    return page.evaluate(
        _BROWSER_OPEN,
        {
            "row": row,
            "me": me,
            "sender": {"kemPublic": _b64(sender.kem_public), "sigPublic": _b64(sender.sig_public)},
            "conversationId": conversation_id,
        },
    )


def test_messages_interoperate_between_browser_and_python(page) -> None:
    """Check 2: a message sealed by crypto.js opens in Python, and the reverse."""
    page, _ = page
    browser_key = _browser_key(page, "reporter")
    counsellor = crypto.generate_key_set()
    row = page.evaluate(
        """async ({conversationId, counsellor}) => e2ee.sealMessage({
             conversationId, kind: "body", sender: keys.reporter,
             plain: {v: 1, body: "Hallo vanuit de browser ✓", nickname: "Vlinder"},
             recipients: [keys.reporter, counsellor]})""",
        {
            "conversationId": CONVERSATION,
            "counsellor": {"keyId": counsellor.key_id, "kemPublic": _b64(counsellor.kem_public)},
        },
    )
    opened = crypto.open_message(
        conversation_id=CONVERSATION, row=row, me=counsellor, sender=browser_key
    )
    assert opened == {"v": 1, "body": "Hallo vanuit de browser ✓", "nickname": "Vlinder"}

    reply = crypto.seal_message(
        conversation_id=CONVERSATION,
        kind="body",
        sender=counsellor,
        plain={"v": 1, "body": "Antwoord uit Python"},
        recipients=[
            Recipient(browser_key.key_id, browser_key.kem_public),
            _to(counsellor),
        ],
    )
    assert _browser_open(page, reply, "reporter", counsellor.public) == {
        "plain": {"v": 1, "body": "Antwoord uit Python"}
    }

    # Check 12 across the two: the browser re-wraps Python's message for a later counsellor.
    newcomer = crypto.generate_key_set()
    reply["wraps"][newcomer.key_id] = page.evaluate(
        """async ({row, conversationId, newRecipient}) =>
             e2ee.rewrap({conversationId, row, me: keys.reporter, newRecipient})""",
        {
            "row": reply,
            "conversationId": CONVERSATION,
            "newRecipient": {"keyId": newcomer.key_id, "kemPublic": _b64(newcomer.kem_public)},
        },
    )
    assert crypto.open_message(
        conversation_id=CONVERSATION, row=reply, me=newcomer, sender=counsellor.public
    ) == {"v": 1, "body": "Antwoord uit Python"}


def test_ids_codes_and_limits_agree_between_browser_and_python(page) -> None:
    """Check 2's groundwork: key ids, fingerprints, safety codes and recovery lookups are the
    same strings on both sides; a stored key copy made in the browser opens in Python; a body
    over 64 KiB is refused in the browser before sending."""
    page, _ = page
    clinic = crypto.generate_clinic_key()
    code = crypto.new_recovery_code()
    result = page.evaluate(
        """async ({clinicSig, code, conversationId}) => {
          const fresh = await e2ee.generateKeySet();
          let tooLong;
          try {
            await e2ee.sealMessage({conversationId, kind: "body", sender: fresh,
                                    plain: {v: 1, body: "x".repeat(70000)}, recipients: [fresh]});
          } catch (error) { tooLong = error.name; }
          const fingerprint = await e2ee.fingerprint(clinicSig);
          return {
            keyId: fresh.keyId, kem: e2ee.b64(fresh.kemPublic), sig: e2ee.b64(fresh.sigPublic),
            stored: await e2ee.sealPrivate(fresh, "zin ünïcode"),
            fingerprint, safetyCode: e2ee.safetyCode(fingerprint),
            lookup: await e2ee.recoveryLookup(code.toLowerCase()),
            normalised: e2ee.normaliseRecoveryCode(code), tooLong,
          };
        }""",
        {"clinicSig": _b64(clinic.sig_public), "code": code, "conversationId": CONVERSATION},
    )
    kem, sig = base64.b64decode(result["kem"]), base64.b64decode(result["sig"])
    assert result["keyId"] == crypto.key_id(kem, sig)
    assert result["fingerprint"] == clinic.key_id
    assert result["safetyCode"] == crypto.safety_code(clinic.key_id)
    assert result["lookup"] == crypto.recovery_lookup(code)
    assert result["normalised"] == crypto.normalise_recovery_code(code)
    assert result["tooLong"] == "MessageTooLongError"
    opened = crypto.open_private(result["stored"], "zin ünïcode", result["keyId"])
    assert (opened.kem_public, opened.sig_public) == (kem, sig)


def test_tampered_rows_are_refused_in_the_browser(page) -> None:
    """Checks 3 and 4: a row moved to another conversation, a wrap moved to another message, a
    changed recipient list, a missing or foreign signature: VerificationError, never text."""
    page, _ = page
    me = _browser_key(page, "counsellor")
    sender = crypto.generate_key_set()
    stranger = crypto.generate_key_set()
    to_me = [Recipient(me.key_id, me.kem_public), _to(sender)]

    def seal() -> dict:
        return crypto.seal_message(
            conversation_id=CONVERSATION,
            kind="body",
            sender=sender,
            plain={"v": 1, "body": "geheim"},
            recipients=to_me,
        )

    row, other = seal(), seal()
    wrap_moved = {**row, "wraps": {**row["wraps"], me.key_id: other["wraps"][me.key_id]}}
    foreign = crypto.seal_message(
        conversation_id=CONVERSATION,
        message_id=row["id"],
        kind="body",
        sender=stranger,
        plain={"v": 1, "body": "geheim"},
        recipients=to_me,
    )
    tampered = {
        "moved to another conversation": (row, str(uuid.uuid4())),
        "wrap from another message": (wrap_moved, CONVERSATION),
        "recipient list changed": ({**row, "recipients": [me.key_id]}, CONVERSATION),
        "signature missing": ({k: v for k, v in row.items() if k != "signature"}, CONVERSATION),
        "signature by another key": ({**row, "signature": foreign["signature"]}, CONVERSATION),
        "signed by another key, sender named": (
            {**foreign, "sender_key_id": sender.key_id},
            CONVERSATION,
        ),
    }
    assert _browser_open(page, row, "counsellor", sender.public) == {
        "plain": {"v": 1, "body": "geheim"}
    }
    outcomes = {
        name: _browser_open(page, bad_row, "counsellor", sender.public, conversation_id)
        for name, (bad_row, conversation_id) in tampered.items()
    }
    assert outcomes == {name: {"error": "VerificationError"} for name in tampered}


THREAD = "7c2e4a6b-8d0f-4b1c-9e3a-5f7d9b1c3e5a"  # a clinic thread, in the conversation's place

_BROWSER_OPEN_FILE = """async ({row, me, sender, conversationId, fileCipher}) => {
  try {
    const {name, bytes, plain} = await e2ee.openAttachment(
      {conversationId, row, me: keys[me], sender, fileCipher: e2ee.unb64(fileCipher)});
    return {name, bytes: e2ee.b64(bytes), body: plain.body};
  } catch (error) {
    return {error: error.name};
  }
}"""


def _browser_open_file(page, row, file_cipher: bytes, me, sender, thread=THREAD) -> dict:
    return page.evaluate(
        _BROWSER_OPEN_FILE,
        {
            "row": row,
            "me": me,
            "sender": {"kemPublic": _b64(sender.kem_public), "sigPublic": _b64(sender.sig_public)},
            "conversationId": thread,
            "fileCipher": _b64(file_cipher),
        },
    )


def test_attachments_interoperate_between_browser_and_python(page) -> None:
    """Check 2 for clinic messages' files: a file sealed by crypto.js (its cipher apart from
    the JSON fields) opens in Python with its name and bytes, and the reverse; the browser
    refuses a file over 10 MiB before encrypting, and a note with a file."""
    page, _ = page
    patient = _browser_key(page, "patient")
    professional = crypto.generate_key_set()
    data = os.urandom(1024 * 1024)
    sealed = page.evaluate(
        """async ({conversationId, professional, data}) => {
          const seal = (kind, bytes) => e2ee.sealMessage({
            conversationId, kind, sender: keys.patient, plain: {v: 1, body: "Mijn foto"},
            recipients: [keys.patient, professional], file: {name: "foto 1 ✓.jpg", bytes}});
          const row = await seal("body", e2ee.unb64(data));
          const refused = [];
          for (const [kind, size] of [["body", e2ee.MAX_ATTACHMENT_BYTES + 1], ["note", 1]]) {
            try { await seal(kind, new Uint8Array(size)); refused.push("sealed"); }
            catch (error) { refused.push(error.name); }
          }
          return {row: JSON.parse(JSON.stringify(row)), fileCipher: e2ee.b64(row.attachment),
                  refused, max: e2ee.MAX_ATTACHMENT_BYTES};
        }""",
        {
            "conversationId": THREAD,
            "professional": {
                "keyId": professional.key_id,
                "kemPublic": _b64(professional.kem_public),
            },
            "data": _b64(data),
        },
    )
    row, file_cipher = sealed["row"], base64.b64decode(sealed["fileCipher"])
    assert "attachment" not in row  # only the file part carries it
    assert len(file_cipher) == len(data) + 16
    assert crypto.open_attachment(
        conversation_id=THREAD, row=row, me=professional, sender=patient, file_cipher=file_cipher
    ) == ("foto 1 ✓.jpg", data)
    assert sealed["refused"] == ["AttachmentTooLargeError", "TypeError"]
    assert sealed["max"] == crypto.MAX_ATTACHMENT_BYTES == 10_485_760

    reply = crypto.seal_message(
        conversation_id=THREAD,
        kind="body",
        sender=professional,
        plain={"v": 1, "body": "Uw verslag"},
        recipients=[Recipient(patient.key_id, patient.kem_public), _to(professional)],
        file=("verslag.pdf", data[:500_000]),
    )
    reply_file = reply.pop("attachment")
    assert _browser_open_file(page, reply, reply_file, "patient", professional.public) == {
        "name": "verslag.pdf",
        "bytes": _b64(data[:500_000]),
        "body": "Uw verslag",
    }


def test_tampered_attachments_are_refused_in_the_browser(page) -> None:
    """A file with a changed byte, cut short, of another message of the thread, or opened
    under another thread: VerificationError, never bytes."""
    page, _ = page
    me = _browser_key(page, "team member")
    sender = crypto.generate_key_set()

    def seal() -> tuple[dict, bytes]:
        row = crypto.seal_message(
            conversation_id=THREAD,
            kind="body",
            sender=sender,
            plain={"v": 1, "body": "bijlage"},
            recipients=[Recipient(me.key_id, me.kem_public), _to(sender)],
            file=("scan.png", os.urandom(4096)),
        )
        return row, row.pop("attachment")

    (row, file_cipher), (_other, other_file) = seal(), seal()
    flipped = bytearray(file_cipher)
    flipped[100] ^= 1
    tampered = {
        "a byte changed": (bytes(flipped), THREAD),
        "cut short": (file_cipher[:-1], THREAD),
        "another message's file": (other_file, THREAD),
        "another thread": (file_cipher, str(uuid.uuid4())),
    }
    assert _browser_open_file(page, row, file_cipher, "team member", sender.public)["name"] == (
        "scan.png"
    )
    outcomes = {
        name: _browser_open_file(page, row, cipher, "team member", sender.public, thread)
        for name, (cipher, thread) in tampered.items()
    }
    assert outcomes == {name: {"error": "VerificationError"} for name in tampered}


_BROWSER_UNLOCK = """async ({stored, secret, keyId}) => {
  try {
    const keys = await e2ee.openPrivate(stored, secret, keyId);
    const extractable = [keys.kemPrivate.extractable, keys.sigPrivate.extractable];
    return {keyId: keys.keyId, extractable};
  } catch (error) {
    return {error: error.name};
  }
}"""


def test_weak_derivation_parameters_are_refused_in_the_browser(page) -> None:
    """Check 6: a stored copy offered with fewer than 600,000 iterations, or another KDF, is
    refused (WeakKdfError) before deriving; the protocol's copy opens, non-extractable."""
    page, _ = page
    key_set = crypto.generate_key_set()
    good = crypto.seal_private(key_set, "zin van de counsellor")
    weak = crypto.seal_private(key_set, "zin van de counsellor", iterations=100_000)
    args = {"secret": "zin van de counsellor", "keyId": key_set.key_id}
    assert page.evaluate(_BROWSER_UNLOCK, {"stored": good, **args}) == {
        "keyId": key_set.key_id,
        "extractable": [False, False],
    }
    for stored in (weak, {**good, "iterations": 599_999}, {**good, "kdf": "PBKDF2-SHA-1"}):
        assert page.evaluate(_BROWSER_UNLOCK, {"stored": stored, **args}) == {
            "error": "WeakKdfError"
        }


def test_a_cached_private_key_cannot_be_exported(page) -> None:
    """Check 8: keys saved with keystore.js come back from IndexedDB non-extractable;
    exportKey rejects, an extractable key is refused at the door, and locking deletes."""
    page, _ = page
    result = page.evaluate(
        """async () => {
          const fresh = await e2ee.generateKeySet();
          let refused = false;
          try { await keystore.saveKeys(fresh); } catch { refused = true; }
          await keystore.saveKeys(await e2ee.lockKeySet(fresh));
          const loaded = await keystore.loadKeys(fresh.keyId);
          const exports = [];
          for (const key of [loaded.kemPrivate, loaded.sigPrivate]) {
            for (const format of ["pkcs8", "jwk"]) {
              try { await crypto.subtle.exportKey(format, key); exports.push("exported"); }
              catch (error) { exports.push(error.name); }
            }
          }
          const signs = await e2ee.signLogin(loaded.sigPrivate, location.origin, "n1");
          await keystore.deleteKeys(fresh.keyId);
          return {refused, exports, keyId: loaded.keyId === fresh.keyId, signs,
                  sigPublic: e2ee.b64(loaded.sigPublic),
                  afterLock: await keystore.loadKeys(fresh.keyId),
                  pins: [await keystore.pinClinicKey("c1", "a".repeat(32)),
                         await keystore.pinClinicKey("c1", "a".repeat(32)),
                         await keystore.pinClinicKey("c1", "b".repeat(32))]};
        }"""
    )
    assert result["refused"] is True
    assert result["exports"] == ["InvalidAccessError"] * 4
    assert result["keyId"] is True
    assert result["afterLock"] is None
    assert result["pins"] == ["new", "matched", "changed"]
    # The cached key still signs; the server's check accepts its login signature.
    origin = page.evaluate("location.origin")
    assert crypto.verify_login(
        base64.b64decode(result["sigPublic"]), origin, "n1", base64.b64decode(result["signs"])
    )


def test_uncertified_keys_are_never_wrapped_to(page) -> None:
    """Check 5: among the listed key sets only those the trusted clinic key certified (and
    whose key id their public keys give) are wrapped to."""
    page, _ = page
    clinic, rogue_clinic = crypto.generate_clinic_key(), crypto.generate_clinic_key()
    certified, uncertified, mismatched = (crypto.generate_key_set() for _ in range(3))

    def listed(key_set, signer, kem_public=None) -> dict:
        cert = crypto.certify(signer.sig, signer.key_id, key_set.key_id, "counsellor")
        return {
            "key_id": key_set.key_id,
            "kem_public": _b64(kem_public or key_set.kem_public),
            "sig_public": _b64(key_set.sig_public),
            "certificate": _b64(cert),
        }

    candidates = [
        listed(certified, clinic),
        listed(uncertified, rogue_clinic),
        # A server swapping in its own kem key under a certified key id.
        listed(mismatched, clinic, kem_public=uncertified.kem_public),
    ]
    result = page.evaluate(
        """async ({clinicSig, clinicKeyId, candidates, conversationId}) => {
          const me = (await e2ee.lockKeySet(await e2ee.generateKeySet()));
          const recipients = await e2ee.certifiedRecipients(clinicSig, clinicKeyId, candidates);
          const row = await e2ee.sealMessage({conversationId, kind: "note", sender: me,
                                              plain: {v: 1, body: "notitie"}, recipients});
          return {kept: recipients.map((r) => r.keyId), wrapped: Object.keys(row.wraps)};
        }""",
        {
            "clinicSig": _b64(clinic.sig_public),
            "clinicKeyId": clinic.key_id,
            "candidates": candidates,
            "conversationId": CONVERSATION,
        },
    )
    assert result == {"kept": [certified.key_id], "wrapped": [certified.key_id]}


_VECTOR_IN_BROWSER = """async (v) => {
  const h = (text) => Uint8Array.from(text.match(/../g) || [], (x) => parseInt(x, 16)).buffer;
  const hex = (buf) =>
    Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
  const suite = new hpke.CipherSuite({
    kem: new hpke.DhkemP256HkdfSha256(), kdf: new hpke.HkdfSha256(), aead: new hpke.Aes256Gcm()});
  const recipientPublicKey = await suite.kem.deserializePublicKey(h(v.pkRm));
  // ekm: the vector's ephemeral key material, so Encap is deterministic.
  const sender = await suite.createSenderContext(
    {recipientPublicKey, info: h(v.info), ekm: h(v.ikmE)});
  const sealed = [];
  for (const e of v.encryptions) sealed.push(hex(await sender.seal(h(e.pt), h(e.aad))));
  const pair = await suite.kem.deriveKeyPair(h(v.ikmR));
  const recipient = await suite.createRecipientContext(
    {recipientKey: pair, enc: h(v.enc), info: h(v.info)});
  const opened = [];
  for (const e of v.encryptions) opened.push(hex(await recipient.open(h(e.ct), h(e.aad))));
  const pkR = hex(await suite.kem.serializePublicKey(pair.publicKey));
  return {enc: hex(sender.enc), pkR, sealed, opened};
}"""


def test_the_vendored_hpke_passes_the_rfc_9180_vector(page) -> None:
    """Check 2: @hpke/core, as vendored, reproduces RFC 9180's vector for the chat's suite:
    with the vector's ikmE as ephemeral key material (`ekm`) it makes the vector's enc and
    ciphertexts, and with ikmR's key pair it opens them."""
    page, _ = page
    vector = json.loads(VECTOR_FILE.read_text())["vector"]
    result = page.evaluate(
        _VECTOR_IN_BROWSER,
        vector,
    )
    assert result["enc"] == vector["enc"]
    assert result["pkR"] == vector["pkRm"]
    assert result["sealed"] == [e["ct"] for e in vector["encryptions"]]
    assert result["opened"] == [e["pt"] for e in vector["encryptions"]]
