"""The chat's key wrapping (E2EE.md: HPKE, RFC 9180, base mode, DHKEM(P-256, HKDF-SHA256) +
HKDF-SHA256 + AES-256-GCM) interoperates between the browser and the server's tests: a content
key sealed in headless Chromium by the vendored @hpke/core bundle opens in Python's
`cryptography`, and the reverse; a different `info` (another conversation, message or recipient)
fails on both sides. The bundle is loaded from the portal's own static files, as the chat will.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from django.templatetags.static import static
from django.urls import reverse
from playwright.sync_api import sync_playwright

from tests.browser import ConsoleWatcher, chromium_available, launch_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not chromium_available(), reason="needs Debian's /usr/bin/chromium"),
]

SUITE = Suite(KEM.P256, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
P256_ENC_BYTES = 65  # an uncompressed X9.62 point
INFO = b"e2ee/v1|wrap|conversation|message|recipient-key"

_BROWSER_OPEN = """async ({bundle, sealed, info}) => {
  const {CipherSuite, DhkemP256HkdfSha256, HkdfSha256, Aes256Gcm} = await import(bundle);
  const suite = new CipherSuite({kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(),
                                 aead: new Aes256Gcm()});
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const bytes = unb64(sealed);
  try {
    const recipient = await suite.createRecipientContext({
      recipientKey: window.hpkeTestKey, enc: bytes.slice(0, 65),
      info: new TextEncoder().encode(info)});
    return new TextDecoder().decode(await recipient.open(bytes.slice(65)));
  } catch (error) {
    return "refused: " + error.name;
  }
}"""

_BROWSER_KEY = """async ({bundle}) => {
  const {CipherSuite, DhkemP256HkdfSha256, HkdfSha256, Aes256Gcm} = await import(bundle);
  const suite = new CipherSuite({kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(),
                                 aead: new Aes256Gcm()});
  const pair = await suite.kem.generateKeyPair();
  window.hpkeTestKey = pair.privateKey;
  const raw = new Uint8Array(await suite.kem.serializePublicKey(pair.publicKey));
  return btoa(String.fromCharCode(...raw));
}"""

_BROWSER_SEAL = """async ({bundle, pythonPublic, info}) => {
  const {CipherSuite, DhkemP256HkdfSha256, HkdfSha256, Aes256Gcm} = await import(bundle);
  const suite = new CipherSuite({kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(),
                                 aead: new Aes256Gcm()});
  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const recipientPublicKey = await suite.kem.deserializePublicKey(unb64(pythonPublic));
  const sender = await suite.createSenderContext(
    {recipientPublicKey, info: new TextEncoder().encode(info)});
  const sealed = await sender.seal(new TextEncoder().encode("content key from the browser"));
  return b64(new Uint8Array([...new Uint8Array(sender.enc), ...new Uint8Array(sealed)]));
}"""


def _raw_public(key: ec.EllipticCurvePrivateKey) -> str:
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert len(raw) == P256_ENC_BYTES
    return base64.b64encode(raw).decode()


def test_a_key_wrapped_in_the_browser_opens_in_python_and_the_reverse(live_server) -> None:
    python_key = ec.generate_private_key(ec.SECP256R1())
    bundle = live_server.url + static("vendor/hpke-core-1.9.0/hpke.esm.js")
    console = ConsoleWatcher()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context().new_page()
            console.attach(page)
            # Any page of the portal: the bundle is imported from its own origin, under its CSP.
            page.goto(live_server.url + reverse("account_login"))
            sealed = base64.b64decode(
                page.evaluate(
                    _BROWSER_SEAL,
                    {
                        "bundle": bundle,
                        "pythonPublic": _raw_public(python_key),
                        "info": INFO.decode(),
                    },
                )
            )
            browser_public = base64.b64decode(page.evaluate(_BROWSER_KEY, {"bundle": bundle}))
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), browser_public)
            for_browser = base64.b64encode(
                SUITE.encrypt(b"content key from Python", peer, info=INFO)
            )
            opened = page.evaluate(
                _BROWSER_OPEN,
                {"bundle": bundle, "sealed": for_browser.decode(), "info": INFO.decode()},
            )
            refused = page.evaluate(
                _BROWSER_OPEN,
                {"bundle": bundle, "sealed": for_browser.decode(), "info": "e2ee/v1|wrap|other"},
            )
        finally:
            browser.close()
    assert SUITE.decrypt(sealed, python_key, info=INFO) == b"content key from the browser"
    with pytest.raises(InvalidTag):
        SUITE.decrypt(sealed, python_key, info=b"e2ee/v1|wrap|other")
    assert opened == "content key from Python"
    assert refused.startswith("refused: ")
    assert console.errors == []
