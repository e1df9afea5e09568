// What every chat page shares: JSON requests with the CSRF token, the translated strings the
// templates render as data-* attributes, a message list item built with textContent only, the
// 3-second poll with its cursor, and unlocking the counsellor's key on this device.
//
// Invariants:
// - Decrypted text reaches the page only through textContent (never innerHTML), so a message
//   cannot inject markup.
// - The passphrase and recovery key are read from fields that have no `name` (a form submitted
//   without this script sends nothing secret) and never leave this browser: only what
//   crypto.js seals is sent.
import * as e2ee from "../e2ee/crypto.js";
import * as keystore from "../e2ee/keystore.js";

export const POLL_MS = 3000;
export const REWRAP_MS = 30000;
const REWRAP_BATCH = 1000; // the most wraps the server takes in one request

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

// The translated texts of the page (templates/messaging/_strings.html) or of one element.
export function strings(element = document.getElementById("chat-strings")) {
  return element ? { ...element.dataset } : {};
}

// `body` is sent as JSON, `form` (FormData) as multipart.
export async function api(url, { method = "GET", body, form } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  } else if (form !== undefined) {
    init.body = form;
  }
  const response = await fetch(url, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data?.error ?? response.statusText);
  return data;
}

// A URL with its query parameter set (the URLs come from data-* attributes, some with a query).
export function withParam(url, name, value) {
  const parsed = new URL(url, location.origin);
  if (value === null || value === undefined) parsed.searchParams.delete(name);
  else parsed.searchParams.set(name, value);
  return parsed.pathname + parsed.search;
}

// Marks the page's root once its script has set up its forms (the browser tests wait for it).
export function ready(root) {
  root.dataset.ready = "true";
}

export function show(element, visible = true) {
  if (element) element.hidden = !visible;
}

export function say(element, text) {
  if (element) element.textContent = text ?? "";
}

// Setting up a key set behind a passphrase (the clinic key, a counsellor's key): the passphrase
// typed twice, the key set made by `generate()` and sealed under it and under a new recovery
// key, the recovery key shown until "saved" is ticked, then `save(keys, sealed)` stores it.
// The passphrase and the recovery key never leave this browser.
export function keySetUp({ form, recovery, texts, generate, save }) {
  const [first, again] = form.querySelectorAll('input[type="password"]');
  const saved = recovery.querySelector('input[type="checkbox"]');
  const finish = recovery.querySelector("[data-finish]");
  let pending = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = form.querySelector("[data-error]");
    say(error, "");
    if (first.value !== again.value) {
      say(error, texts.passphrasesDiffer);
      return;
    }
    form.querySelector("button").disabled = true;
    show(form.querySelector("[data-working]"));
    try {
      const keys = await generate();
      const code = e2ee.newRecoveryCode();
      const sealed = {
        passphrase: await e2ee.sealPrivate(keys, first.value),
        recovery: await e2ee.sealPrivate(keys, e2ee.normaliseRecoveryCode(code)),
      };
      first.value = "";
      again.value = "";
      pending = { keys, sealed };
      say(recovery.querySelector("[data-recovery-code]"), code);
      show(form, false);
      show(recovery);
      saved.focus();
    } catch (failure) {
      say(error, errorText(failure, texts));
      form.querySelector("button").disabled = false;
    } finally {
      show(form.querySelector("[data-working]"), false);
    }
  });

  saved.addEventListener("change", () => {
    finish.disabled = !saved.checked;
  });

  finish.addEventListener("click", async () => {
    const error = recovery.querySelector("[data-error]");
    say(error, "");
    finish.disabled = true;
    try {
      await save(pending.keys, pending.sealed);
      pending = null;
    } catch (failure) {
      say(error, errorText(failure, texts));
      finish.disabled = false;
    }
  });
}

// An error for the person: the server's own (translated) message, a known crypto error as the
// page's string, else the page's generic one.
export function errorText(error, texts, fallback = texts.failed) {
  if (error instanceof e2ee.WeakKdfError) return texts.weakKdf ?? fallback;
  if (error instanceof e2ee.VerificationError) return texts.wrongSecret ?? fallback;
  if (error instanceof e2ee.MessageTooLongError) return texts.tooLong ?? fallback;
  if (error instanceof ApiError && error.message) return error.message;
  return fallback ?? String(error);
}

const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  dateStyle: "short",
  timeStyle: "short",
});
const dateFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  dateStyle: "short",
});

export const formatTime = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");
export const formatDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : "");

// One message of the log: {id, createdAt, label, text, mine, note, bad}. textContent only.
export function messageItem({ id, createdAt, label, text, mine, note, bad }) {
  const item = document.createElement("li");
  item.className = "chat-message";
  if (mine) item.classList.add("chat-message--mine");
  if (note) item.classList.add("chat-message--note");
  if (bad) item.classList.add("chat-message--bad");
  item.dataset.messageId = id;
  item.dataset.createdAt = createdAt;
  const meta = document.createElement("span");
  meta.className = "chat-message__meta";
  meta.textContent = [label, formatTime(createdAt)].filter(Boolean).join(" · ");
  const body = document.createElement("p");
  body.className = "chat-message__body";
  body.textContent = text;
  item.append(meta, body);
  return item;
}

// Insert in time order (a poll may deliver a message written a moment before one shown).
export function placeItem(log, item) {
  const later = [...log.children].find(
    (other) => other.dataset.createdAt > item.dataset.createdAt,
  );
  log.insertBefore(item, later ?? null);
}

// Polls `url` every POLL_MS with the server's cursor and hands each message not seen before
// to `onRows` (the server repeats a few seconds of overlap; the ids tell what is new).
export class Feed {
  constructor(url, onResponse) {
    this.url = url;
    this.onResponse = onResponse;
    this.cursor = null;
    this.seen = new Set();
    this.timer = null;
  }

  markSeen(id) {
    this.seen.add(id);
  }

  async fetchOnce() {
    const data = await api(withParam(this.url, "since", this.cursor));
    if (data.cursor) this.cursor = data.cursor;
    const fresh = (data.messages ?? []).filter((row) => !this.seen.has(row.id));
    fresh.forEach((row) => this.seen.add(row.id));
    await this.onResponse(data, fresh);
    return data;
  }

  start(onError = () => {}) {
    const tick = async () => {
      try {
        await this.fetchOnce();
      } catch (error) {
        onError(error);
      }
      this.timer = setTimeout(tick, POLL_MS);
    };
    this.timer = setTimeout(tick, POLL_MS);
  }

  // A message was just sent: fetch now rather than at the next tick (a fetch running at the
  // same time is harmless: the ids tell what is new).
  now() {
    return this.fetchOnce();
  }
}

// Repeats `task` every `ms` milliseconds, waiting for each run to end first.
export function every(ms, task, onError = () => {}) {
  const tick = async () => {
    try {
      await task();
    } catch (error) {
      onError(error);
    }
    setTimeout(tick, ms);
  };
  setTimeout(tick, ms);
}

// --- the counsellor's key -----------------------------------------------------------------------

// The counsellor's key set on this device: from IndexedDB (a trusted device), or opened with the
// chat passphrase through the page's unlock form (templates/messaging/_unlock.html), kept in
// this page's memory only. Resolves with {keyId, kemPrivate, kemPublic, sigPrivate, sigPublic}.
export async function staffKeys(apiKeyUrl, texts) {
  const stored = await api(apiKeyUrl);
  const cached = await keystore.loadKeys(stored.key_id);
  if (cached) return cached;
  const form = document.querySelector("[data-page-unlock]");
  if (!form) throw new Error("locked");
  show(form);
  const field = form.querySelector("input");
  const error = form.querySelector("[data-error]");
  field.focus();
  return new Promise((resolve) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say(error, "");
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const keys = await e2ee.openPrivate(
          stored.sealed_private.passphrase, field.value, stored.key_id);
        field.value = "";
        show(form, false);
        resolve(keys);
      } catch (failure) {
        say(error, errorText(failure, texts));
      } finally {
        button.disabled = false;
      }
    });
  });
}

// The clinic key a counsellor trusts: pinned on this device the first time it was seen. Returns
// the directory's clinic key if it is the pinned one, else null (the caller warns).
export async function trustedClinicKey(directory) {
  const clinicKey = directory.clinic_key;
  if (!clinicKey) return null;
  const fingerprint = await e2ee.fingerprint(clinicKey.sig_public);
  if (fingerprint !== clinicKey.key_id) return null;
  const pin = await keystore.pinClinicKey(directory.clinic_id, fingerprint);
  return pin === "changed" ? null : clinicKey;
}

// A key set as the server lists it ({key_id, kem_public, sig_public}), kept only if its key id
// is the one its public keys give: {keyId, kemPublic, sigPublic}, or null.
export async function listedKeySet(listed) {
  if (!listed) return null;
  if ((await e2ee.keyId(listed.kem_public, listed.sig_public)) !== listed.key_id) return null;
  return {
    keyId: listed.key_id,
    kemPublic: e2ee.unb64(listed.kem_public),
    sigPublic: e2ee.unb64(listed.sig_public),
  };
}

// The certified staff keys of a directory, by key id, under the trusted clinic key: counsellors
// for the counsellor chat, the clinic's team ("team") for clinic messages.
export async function certifiedStaff(directory, clinicKey, purpose = "counsellor") {
  if (!clinicKey) return new Map();
  const kept = await e2ee.certifiedRecipients(
    clinicKey.sig_public, clinicKey.key_id, directory.staff ?? [], purpose);
  return new Map(kept.map((k) => [k.keyId, k]));
}

// The re-wrap duty of a certified key (E2EE.md check 12): giving a colleague certified later the
// content keys of the retained messages this key can open, after checking their certificate
// under the clinic key this device trusts. The same for both channels (`purpose`).
export async function rewrapPending(url, clinicId, me, purpose = "counsellor") {
  const pending = await api(url);
  if (!pending.work?.length) return;
  const clinicKey = await trustedClinicKey({ ...pending.directory, clinic_id: clinicId });
  const certified = await certifiedStaff(pending.directory, clinicKey, purpose);
  for (const item of pending.work) {
    const recipient = certified.get(item.recipient_key_id);
    if (!recipient) continue; // not certified by the clinic key this device trusts
    const wraps = {};
    for (const row of item.messages) {
      try {
        wraps[row.id] = await e2ee.rewrap({
          conversationId: row.conversation_id ?? row.thread_id, row, me, newRecipient: recipient,
        });
      } catch {
        // A message that does not open with my own wrap is not passed on.
      }
    }
    const ids = Object.keys(wraps);
    for (let i = 0; i < ids.length; i += REWRAP_BATCH) {
      const batch = Object.fromEntries(ids.slice(i, i + REWRAP_BATCH).map((id) => [id, wraps[id]]));
      await api(url, {
        method: "POST",
        body: { recipient_key_id: item.recipient_key_id, wraps: batch },
      });
    }
  }
}

// --- the reporter's sign-in ---------------------------------------------------------------------

// Signs the server's fresh challenge with the reporter's key; answers the conversation id.
export async function reporterSignIn(keys, challengeUrl, sessionUrl) {
  const challenge = await api(challengeUrl);
  const signature = await e2ee.signLogin(keys.sigPrivate, location.origin, challenge.nonce);
  const session = await api(sessionUrl, {
    method: "POST",
    body: { key_id: keys.keyId, nonce: challenge.nonce, signature },
  });
  return session.conversation_id;
}

export { e2ee, keystore };
