// The chat's cryptography, protocol e2ee/v1 (docs/chat-protocol.md), on WebCrypto and the vendored
// HPKE bundle only. messaging/crypto.py is its Python twin; the two must build every signed,
// hashed or authenticated string byte for byte alike.
//
// Invariants:
// - Private keys leave this module only as non-extractable CryptoKeys, except inside
//   sealPrivate, which must export them once to encrypt the server's copy.
// - openMessage returns text only after every check has passed (sender signature, own wrap,
//   body tag, padding); any failure is one VerificationError, so no caller can show half a
//   message. openAttachment returns a file only after those checks and the file's own (the
//   body's hash of it, its tag): a file swapped, moved or altered is the same refusal.
// - openPrivate refuses key-derivation parameters weaker than the protocol's, whatever the
//   server sends (E2EE.md check 6).
import {
  Aes256Gcm,
  CipherSuite,
  DhkemP256HkdfSha256,
  HkdfSha256,
} from "../../vendor/hpke-core-1.9.0/hpke.esm.js";

export const PROTOCOL = "e2ee/v1";
export const MIN_ITERATIONS = 600000;
// An upper bound too, so a server cannot make a browser derive for minutes.
export const MAX_ITERATIONS = 10000000;
export const PAD_BLOCK = 256;
// The AES-GCM output (padded text and its 16-byte tag) may not exceed 64 KiB.
export const MAX_CIPHER_BYTES = 65536;
export const MAX_RECIPIENTS = 50;
// Plain bytes of a clinic message's one attachment (10 MiB); its cipher adds the 16-byte tag.
export const MAX_ATTACHMENT_BYTES = 10485760;
const MAX_FILE_NAME = 255; // code points, as Python counts them
const KDF_NAME = "PBKDF2-SHA-256";
const TAG_BYTES = 16;
const ENC_BYTES = 65;

export class VerificationError extends Error {
  constructor(message = "Dit bericht kan niet worden geverifieerd") {
    super(message);
    this.name = "VerificationError";
  }
}

export class WeakKdfError extends Error {
  constructor(message) {
    super(message);
    this.name = "WeakKdfError";
  }
}

export class MessageTooLongError extends Error {
  constructor() {
    super("Dit bericht is te lang om te versturen; maak het korter.");
    this.name = "MessageTooLongError";
  }
}

export class AttachmentTooLargeError extends Error {
  constructor() {
    super("Dit bestand is te groot om te versturen; het mag hoogstens 10 MB zijn.");
    this.name = "AttachmentTooLargeError";
  }
}

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
const ECDH = { name: "ECDH", namedCurve: "P-256" };
const ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEY_ID = /^[0-9a-f]{32}$/;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const suite = new CipherSuite({
  kem: new DhkemP256HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Aes256Gcm(),
});

// --- encodings -------------------------------------------------------------------------------

export function b64(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = "";
  for (let i = 0; i < view.length; i += 0x8000) {
    text += String.fromCharCode(...view.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

// Strict: only canonical standard base64 with padding, so one value has one spelling.
export function unb64(text) {
  if (typeof text !== "string") throw new TypeError("base64 text expected");
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (b64(bytes) !== text) throw new TypeError("non-canonical base64");
  return bytes;
}

function asBytes(value) {
  if (typeof value === "string") return unb64(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError("bytes or base64 expected");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (bytes) => new Uint8Array(await subtle.digest("SHA-256", bytes));

function exactly(bytes, length, what) {
  if (bytes.length !== length) throw new TypeError(`${what} must be ${length} bytes`);
  return bytes;
}

function checkUuid(value, what) {
  if (typeof value !== "string" || !UUID.test(value)) throw new TypeError(`${what}: bad UUID`);
  return value;
}

function checkKeyId(value) {
  if (typeof value !== "string" || !KEY_ID.test(value)) throw new TypeError("bad key id");
  return value;
}

// --- key sets, ids and fingerprints ----------------------------------------------------------

// Extractable, because sealPrivate must export the private keys once; lockKeySet (or
// openPrivate) gives the non-extractable copies a device keeps.
export async function generateKeySet() {
  const kem = await subtle.generateKey(ECDH, true, ["deriveBits"]);
  const sig = await subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const kemPublic = new Uint8Array(await subtle.exportKey("raw", kem.publicKey));
  const sigPublic = new Uint8Array(await subtle.exportKey("raw", sig.publicKey));
  return {
    keyId: await keyId(kemPublic, sigPublic),
    kemPrivate: kem.privateKey,
    kemPublic,
    sigPrivate: sig.privateKey,
    sigPublic,
  };
}

// The clinic key only certifies: a sig pair, no kem.
export async function generateClinicKey() {
  const sig = await subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const sigPublic = new Uint8Array(await subtle.exportKey("raw", sig.publicKey));
  return {
    keyId: await fingerprint(sigPublic),
    kemPrivate: null,
    kemPublic: null,
    sigPrivate: sig.privateKey,
    sigPublic,
  };
}

export async function keyId(kemPublic, sigPublic) {
  const kem = kemPublic ? exactly(asBytes(kemPublic), 65, "kem public key") : new Uint8Array(0);
  const sig = exactly(asBytes(sigPublic), 65, "sig public key");
  const digest = await sha256(concat(encoder.encode(`${PROTOCOL}|key|`), kem, sig));
  return hex(digest).slice(0, 32);
}

export function fingerprint(sigPublic) {
  return keyId(null, sigPublic);
}

export function safetyCode(fingerprintHex) {
  return checkKeyId(fingerprintHex).slice(0, 20).match(/.{4}/g).join(" ");
}

// Re-import a fresh key set's private keys as non-extractable, for the device's keystore.
export async function lockKeySet(keySet) {
  const pkcs8 = async (key) => new Uint8Array(await subtle.exportKey("pkcs8", key));
  const kem = keySet.kemPrivate ? await pkcs8(keySet.kemPrivate) : null;
  return importPrivate({ kem, sig: await pkcs8(keySet.sigPrivate) }, keySet.keyId);
}

async function importPrivate({ kem, sig }, expectedKeyId) {
  const sigPrivate = await subtle.importKey("pkcs8", sig, ECDSA, false, ["sign"]);
  const sigPublic = await publicFromPkcs8(sig, ECDSA, ["sign"]);
  let kemPrivate = null;
  let kemPublic = null;
  if (kem) {
    kemPrivate = await subtle.importKey("pkcs8", kem, ECDH, false, ["deriveBits"]);
    kemPublic = await publicFromPkcs8(kem, ECDH, ["deriveBits"]);
  }
  // The private keys must be those the key id names, or a swapped copy could pass unnoticed.
  if ((await keyId(kemPublic, sigPublic)) !== expectedKeyId) {
    throw new VerificationError("the private keys do not match their key id");
  }
  return { keyId: expectedKeyId, kemPrivate, kemPublic, sigPrivate, sigPublic };
}

// WebCrypto cannot derive a public key from a non-extractable private one, so a short-lived
// extractable import reads the point from its JWK and is then dropped.
async function publicFromPkcs8(pkcs8, algorithm, usages) {
  const extractable = await subtle.importKey("pkcs8", pkcs8, algorithm, true, usages);
  const jwk = await subtle.exportKey("jwk", extractable);
  const fromUrl = (text) =>
    unb64(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  return concat(new Uint8Array([4]), fromUrl(jwk.x), fromUrl(jwk.y));
}

// --- private keys at rest -------------------------------------------------------------------

const privateAad = (keyIdText) => encoder.encode(`${PROTOCOL}|private|${keyIdText}`);

async function wrappingKey(secretText, salt, iterations) {
  const material = await subtle.importKey(
    "raw", encoder.encode(secretText.normalize("NFC")), "PBKDF2", false, ["deriveKey"]);
  return subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

// keyIdText is optional; if given it must be the key set's own (it is in the AAD).
export async function sealPrivate(keySet, secretText, keyIdText = keySet.keyId) {
  if (checkKeyId(keyIdText) !== keySet.keyId) throw new TypeError("key id of another key set");
  const secret = { v: 1 };
  if (keySet.kemPrivate) secret.kem = b64(await subtle.exportKey("pkcs8", keySet.kemPrivate));
  secret.sig = b64(await subtle.exportKey("pkcs8", keySet.sigPrivate));
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const key = await wrappingKey(secretText, salt, MIN_ITERATIONS);
  const sealed = await subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: privateAad(keyIdText) },
    key,
    encoder.encode(JSON.stringify(secret)),
  );
  return {
    v: 1,
    kdf: KDF_NAME,
    iterations: MIN_ITERATIONS,
    salt: b64(salt),
    iv: b64(iv),
    sealed: b64(sealed),
  };
}

// Checked before any derivation: the server chooses what it sends, the client what it accepts.
export function checkKdfParameters(stored) {
  if (!stored || stored.v !== 1 || stored.kdf !== KDF_NAME) {
    throw new WeakKdfError(`only ${KDF_NAME} is accepted`);
  }
  const n = stored.iterations;
  if (!Number.isSafeInteger(n) || n < MIN_ITERATIONS || n > MAX_ITERATIONS) {
    throw new WeakKdfError(`refused: ${n} iterations (at least ${MIN_ITERATIONS} required)`);
  }
}

export async function openPrivate(stored, secretText, keyIdText) {
  checkKdfParameters(stored);
  checkKeyId(keyIdText);
  let secret;
  try {
    const salt = exactly(unb64(stored.salt), 16, "salt");
    const iv = exactly(unb64(stored.iv), 12, "iv");
    const key = await wrappingKey(secretText, salt, stored.iterations);
    const plain = await subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: privateAad(keyIdText) }, key, unb64(stored.sealed));
    secret = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
    if (secret?.v !== 1 || typeof secret.sig !== "string") throw new TypeError("bad key copy");
    secret = { kem: secret.kem ? unb64(secret.kem) : null, sig: unb64(secret.sig) };
  } catch {
    throw new VerificationError("wrong passphrase or recovery key, or a damaged copy");
  }
  return importPrivate(secret, keyIdText);
}

// --- recovery codes -------------------------------------------------------------------------

export function newRecoveryCode() {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff; // only the bits not yet written matter
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g).join(" ");
}

// People type codes with spaces, dashes and lower case; the protocol uses the bare upper-case
// form, as the PBKDF2 secret and in the lookup hash.
export function normaliseRecoveryCode(code) {
  const bare = String(code).replace(/[\s-]/g, "").toUpperCase();
  if (!/^[A-Z2-7]{32}$/.test(bare)) throw new TypeError("not a recovery code");
  return bare;
}

export async function recoveryLookup(code) {
  const text = `${PROTOCOL}|recovery|${normaliseRecoveryCode(code)}`;
  return hex(await sha256(encoder.encode(text)));
}

// --- signatures and certificates ------------------------------------------------------------

async function sign(sigPrivate, text) {
  return new Uint8Array(await subtle.sign(ECDSA_SHA256, sigPrivate, encoder.encode(text)));
}

async function verify(sigPublic, signature, text) {
  const raw = exactly(asBytes(sigPublic), 65, "sig public key");
  const key = await subtle.importKey("raw", raw, ECDSA, false, ["verify"]);
  const bytes = exactly(asBytes(signature), 64, "signature");
  return subtle.verify(ECDSA_SHA256, key, bytes, encoder.encode(text));
}

function certified(clinicKeyId, subjectKeyId, purpose) {
  if (!/^[a-z]+$/.test(purpose)) throw new TypeError("bad purpose");
  return `${PROTOCOL}|cert|${checkKeyId(clinicKeyId)}|${checkKeyId(subjectKeyId)}|${purpose}`;
}

export async function certify(clinicSigPrivate, clinicKeyId, subjectKeyId, purpose) {
  return b64(await sign(clinicSigPrivate, certified(clinicKeyId, subjectKeyId, purpose)));
}

// True only if the clinic key is the one its key id names and it signed this subject and purpose.
export async function verifyCertificate(
  clinicSigPublic, clinicKeyId, subjectKeyId, purpose, signature,
) {
  try {
    if ((await fingerprint(clinicSigPublic)) !== clinicKeyId) return false;
    const text = certified(clinicKeyId, subjectKeyId, purpose);
    return await verify(clinicSigPublic, signature, text);
  } catch {
    return false;
  }
}

// The key sets a message may be wrapped to (check 5): candidates as the server lists them,
// {key_id, kem_public, sig_public, certificate}; kept only if the key id is the one their public
// keys give and the trusted clinic key certified it as a counsellor.
export async function certifiedRecipients(
  clinicSigPublic, clinicKeyId, candidates, purpose = "counsellor",
) {
  const kept = [];
  for (const { key_id: listedId, kem_public: kem, sig_public: sig, certificate } of candidates) {
    try {
      const id = await keyId(kem, sig);
      if (id !== listedId) continue;
      const ok = await verifyCertificate(clinicSigPublic, clinicKeyId, id, purpose, certificate);
      if (ok) kept.push({ keyId: id, kemPublic: asBytes(kem), sigPublic: asBytes(sig) });
    } catch {
      // A malformed candidate is simply not trusted.
    }
  }
  return kept;
}

export async function signLogin(sigPrivate, origin, nonce) {
  return b64(await sign(sigPrivate, loginText(origin, nonce)));
}

function loginText(origin, nonce) {
  for (const part of [origin, nonce]) {
    if (typeof part !== "string" || !/^[\x21-\x7e]+$/.test(part) || part.includes("|")) {
      throw new TypeError("bad login challenge");
    }
  }
  return `${PROTOCOL}|login|${origin}|${nonce}`;
}

// --- messages -------------------------------------------------------------------------------

// ISO/IEC 7816-4: 0x80 then zeros up to the next multiple of PAD_BLOCK, so lengths leak only
// in 256-byte steps.
export function pad(bytes) {
  const out = new Uint8Array((Math.floor(bytes.length / PAD_BLOCK) + 1) * PAD_BLOCK);
  out.set(bytes);
  out[bytes.length] = 0x80;
  return out;
}

export function unpad(padded) {
  if (padded.length === 0 || padded.length % PAD_BLOCK !== 0) {
    throw new VerificationError("bad padding");
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (end < 0 || padded[end] !== 0x80 || padded.length - end > PAD_BLOCK) {
    throw new VerificationError("bad padding");
  }
  return padded.subarray(0, end);
}

const aadText = (kind, conversationId, messageId, senderKeyId) =>
  `${PROTOCOL}|${kind}|${conversationId}|${messageId}|${senderKeyId}`;
const wrapInfo = (conversationId, messageId, recipientKeyId) =>
  encoder.encode(`${PROTOCOL}|wrap|${conversationId}|${messageId}|${recipientKeyId}`);
const signedText = (aad, iv, cipher, recipients) =>
  `${PROTOCOL}|sig|${aad}|${b64(iv)}|${b64(cipher)}|${recipients.join(",")}`;

function checkKind(kind) {
  if (kind !== "body" && kind !== "note") throw new TypeError("kind must be body or note");
  return kind;
}

const kemKey = (raw) => suite.kem.deserializePublicKey(exactly(asBytes(raw), 65, "kem public key"));

async function wrapTo(contentKey, conversationId, messageId, recipient) {
  const sender = await suite.createSenderContext({
    recipientPublicKey: await kemKey(recipient.kemPublic),
    info: wrapInfo(conversationId, messageId, checkKeyId(recipient.keyId)),
  });
  const sealed = new Uint8Array(await sender.seal(contentKey));
  return b64(concat(new Uint8Array(sender.enc), sealed));
}

async function unwrap(row, conversationId, me) {
  const wrap = unb64(row.wraps?.[me.keyId]);
  if (wrap.length <= ENC_BYTES) throw new VerificationError("bad wrap");
  const recipient = await suite.createRecipientContext({
    // A pair, so @hpke/core need not export the (non-extractable) private key for its public.
    recipientKey: { privateKey: me.kemPrivate, publicKey: await kemKey(me.kemPublic) },
    enc: wrap.slice(0, ENC_BYTES),
    info: wrapInfo(conversationId, row.id, me.keyId),
  });
  const contentKey = new Uint8Array(await recipient.open(wrap.slice(ENC_BYTES)));
  return exactly(contentKey, 32, "content key");
}

const aesKey = (contentKey, usage) =>
  subtle.importKey("raw", contentKey, "AES-GCM", false, [usage]);

async function decryptBody(contentKey, row, conversationId) {
  const key = await aesKey(contentKey, "decrypt");
  const aad = encoder.encode(aadText(row.kind, conversationId, row.id, row.sender_key_id));
  const iv = exactly(unb64(row.iv), 12, "iv");
  const cipher = unb64(row.cipher);
  const padded = await subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, key, cipher);
  return new Uint8Array(padded);
}

// --- attachments (clinic messages) ------------------------------------------------------------

// 1 to 255 code points of well-formed Unicode (a lone surrogate has no UTF-8 form; Python's
// side refuses it too); otherwise the name is the sender's, to be shown as text only.
function checkFileName(name) {
  const ok = typeof name === "string" && name.length > 0 && [...name].length <= MAX_FILE_NAME
    && !/\p{Surrogate}/u.test(name);
  if (!ok) throw new TypeError(`a file name is 1 to ${MAX_FILE_NAME} characters`);
  return name;
}

// Refused before anything is encrypted.
function checkFile(kind, file) {
  if (kind !== "body") throw new TypeError("only a body carries a file");
  if (!(file.bytes instanceof Uint8Array)) throw new TypeError("file.bytes: a Uint8Array");
  checkFileName(file.name);
  if (file.bytes.length > MAX_ATTACHMENT_BYTES) throw new AttachmentTooLargeError();
}

// The body's `attachment` member and the file's cipher: under the message's content key, with
// the body's AAD but kind "file" (never a row's kind); the member names the cipher's hash and
// is signed with the body, so the two cannot be split.
async function sealFile(contentKey, file, conversationId, messageId, senderKeyId) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = encoder.encode(aadText("file", conversationId, messageId, senderKeyId));
  const key = await aesKey(contentKey, "encrypt");
  const cipher = new Uint8Array(
    await subtle.encrypt({ name: "AES-GCM", iv, additionalData }, key, file.bytes));
  const member = {
    name: file.name, size: file.bytes.length, iv: b64(iv), sha256: b64(await sha256(cipher)),
  };
  return { member, cipher };
}

// The body's `attachment` member as the protocol defines it, or a VerificationError.
function checkAttachment(plain, kind) {
  const member = plain.attachment;
  const ok = kind === "body" && member !== null && typeof member === "object"
    && !Array.isArray(member)
    && Object.keys(member).sort().join(",") === "iv,name,sha256,size"
    && Number.isSafeInteger(member.size) && member.size >= 0
    && member.size <= MAX_ATTACHMENT_BYTES;
  if (!ok) throw new VerificationError("bad attachment");
  checkFileName(member.name);
  exactly(unb64(member.iv), 12, "file iv");
  exactly(unb64(member.sha256), 32, "file hash");
}

// --- sealing and opening --------------------------------------------------------------------

// recipients: [{keyId, kemPublic}] (certifiedRecipients' output, the sender's own key set).
// file (clinic messages, kind "body" only): {name, bytes: Uint8Array}; then the result has an
// extra `attachment`, the file's cipher (Uint8Array), for the upload's file part. It is not
// enumerable, so JSON.stringify(row) and {...row} leave it out of the JSON fields.
export async function sealMessage({
  conversationId, messageId = crypto.randomUUID(), kind, sender, plain, recipients, file,
}) {
  checkUuid(conversationId, "conversation");
  checkUuid(messageId, "message");
  checkKind(kind);
  checkKeyId(sender.keyId);
  const byId = new Map(recipients.map((r) => [checkKeyId(r.keyId), r]));
  const ids = [...byId.keys()].sort();
  if (ids.length === 0 || ids.length > MAX_RECIPIENTS) {
    throw new TypeError(`1 to ${MAX_RECIPIENTS} recipients`);
  }
  // The member is this function's to write, from the file it encrypted.
  if (Object.hasOwn(plain, "attachment")) throw new TypeError("plain.attachment is reserved");
  const hasFile = file !== undefined && file !== null;
  if (hasFile) checkFile(kind, file);

  const contentKey = crypto.getRandomValues(new Uint8Array(32));
  let sealedFile = null;
  if (hasFile) {
    sealedFile = await sealFile(contentKey, file, conversationId, messageId, sender.keyId);
    plain = { ...plain, attachment: sealedFile.member };
  }
  const padded = pad(encoder.encode(JSON.stringify(plain)));
  if (padded.length + TAG_BYTES > MAX_CIPHER_BYTES) throw new MessageTooLongError();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aad = aadText(kind, conversationId, messageId, sender.keyId);
  const key = await aesKey(contentKey, "encrypt");
  const params = { name: "AES-GCM", iv, additionalData: encoder.encode(aad) };
  const cipher = new Uint8Array(await subtle.encrypt(params, key, padded));

  const wraps = {};
  for (const id of ids) {
    wraps[id] = await wrapTo(contentKey, conversationId, messageId, byId.get(id));
  }
  const signature = await sign(sender.sigPrivate, signedText(aad, iv, cipher, ids));
  const row = {
    id: messageId, kind, sender_key_id: sender.keyId, iv: b64(iv), cipher: b64(cipher),
    signature: b64(signature), recipients: ids, wraps,
  };
  if (sealedFile) {
    const attachment = { value: sealedFile.cipher, writable: true, configurable: true };
    Object.defineProperty(row, "attachment", attachment);
  }
  return row;
}

// Every check of a received row (checks 3 and 4); the plain message and its content key, or
// an error. Callers turn any error into one VerificationError.
async function openVerified({ conversationId, row, me, sender }) {
  checkUuid(conversationId, "conversation");
  checkUuid(row.id, "message");
  checkKind(row.kind);
  if ((await keyId(sender.kemPublic, sender.sigPublic)) !== checkKeyId(row.sender_key_id)) {
    throw new VerificationError("sender key mismatch");
  }
  const recipients = row.recipients;
  // As signed: sorted, no duplicates. (A counsellor re-wrapped later is not among them.)
  const ok = Array.isArray(recipients) && recipients.length > 0
    && recipients.length <= MAX_RECIPIENTS
    && recipients.every((id, i) => checkKeyId(id) && (i === 0 || recipients[i - 1] < id));
  if (!ok) throw new VerificationError("bad recipients");
  const iv = exactly(unb64(row.iv), 12, "iv");
  const cipher = unb64(row.cipher);
  if (cipher.length > MAX_CIPHER_BYTES) throw new VerificationError("too long");
  const aad = aadText(row.kind, conversationId, row.id, row.sender_key_id);
  if (!(await verify(sender.sigPublic, row.signature, signedText(aad, iv, cipher, recipients)))) {
    throw new VerificationError("bad signature");
  }
  const contentKey = await unwrap(row, conversationId, me);
  const padded = await decryptBody(contentKey, row, conversationId);
  const plain = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(unpad(padded)));
  if (plain === null || typeof plain !== "object" || Array.isArray(plain) || plain.v !== 1) {
    throw new VerificationError("bad message");
  }
  if (Object.hasOwn(plain, "attachment")) checkAttachment(plain, row.kind);
  return { plain, contentKey };
}

// `sender` is the key set the caller trusts to have written in this conversation (the
// reporter's key, or a certified counsellor's): {kemPublic, sigPublic}. Its key id is
// recomputed here and must be the row's, so a row cannot borrow another sender's name.
// A clinic message's `attachment` member comes back checked for form only; the file itself is
// openAttachment's.
export async function openMessage({ conversationId, row, me, sender }) {
  try {
    return (await openVerified({ conversationId, row, me, sender })).plain;
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw new VerificationError();
  }
}

// A clinic message's file: the row verified as openMessage verifies it, then the file's cipher
// (Uint8Array or ArrayBuffer, as downloaded) must be the one the signed body names by hash, and
// its tag must hold under this message's key and the file AAD. Returns {name, bytes, plain}.
export async function openAttachment({ conversationId, row, me, sender, fileCipher }) {
  try {
    const { plain, contentKey } = await openVerified({ conversationId, row, me, sender });
    if (!Object.hasOwn(plain, "attachment")) throw new VerificationError("no attachment");
    const member = plain.attachment;
    const cipher = fileCipher instanceof ArrayBuffer ? new Uint8Array(fileCipher) : fileCipher;
    if (!(cipher instanceof Uint8Array) || cipher.length !== member.size + TAG_BYTES) {
      throw new VerificationError("bad file length");
    }
    const digest = await sha256(cipher);
    if (b64(digest) !== member.sha256) throw new VerificationError("another file");
    const aad = aadText("file", conversationId, row.id, row.sender_key_id);
    const params = { name: "AES-GCM", iv: unb64(member.iv), additionalData: encoder.encode(aad) };
    const key = await aesKey(contentKey, "decrypt");
    const bytes = await subtle.decrypt(params, key, cipher);
    return { name: member.name, bytes: new Uint8Array(bytes), plain };
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw new VerificationError();
  }
}

// A wrap of this message's content key for a counsellor who joined later (check 12). The
// caller has checked newRecipient's certificate (certifiedRecipients). The body's tag is
// checked first, so only a key that really opens this message is passed on.
export async function rewrap({ conversationId, row, me, newRecipient }) {
  let contentKey;
  try {
    checkUuid(conversationId, "conversation");
    checkUuid(row.id, "message");
    checkKind(row.kind);
    contentKey = await unwrap(row, conversationId, me);
    await decryptBody(contentKey, row, conversationId);
  } catch {
    throw new VerificationError();
  }
  return wrapTo(contentKey, conversationId, row.id, newRecipient);
}
