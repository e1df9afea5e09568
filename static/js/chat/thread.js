// A patient's thread with their clinic (/messages/<record>/ for the patient,
// /messages/team/<patient>/ for the clinic's team): the page's #chat-thread says which
// (data-role). Messages and attachments are opened here and shown only if every check of
// crypto.openMessage / openAttachment passed; anything else shows "cannot be verified".
//
// Whom a message may come from: the thread's patient key, or a team key certified (purpose
// "team") by the clinic key this browser trusts (pinned on first use). Whom a message goes to:
// the patient and those certified team keys, nobody else. An attachment's type is decided from
// its decrypted bytes (filetype.js): images are previewed, everything else is a download.
import {
  ApiError, Feed, REWRAP_MS, api, certifiedStaff, e2ee, errorText, every, listedKeySet,
  messageItem, placeItem, ready, rewrapPending, say, show, staffKeys, strings, trustedClinicKey,
} from "./common.js";
import { sniff } from "./filetype.js";

const root = document.getElementById("chat-thread");
const texts = strings();
const isPatient = root.dataset.role === "patient";
const log = root.querySelector("[data-log]");
const status = root.querySelector("[data-status]");
const composer = root.querySelector("[data-composer]");
const composerError = composer.querySelector("[data-error]");
const fileField = composer.querySelector('input[type="file"]');
const maxBytes = e2ee.MAX_ATTACHMENT_BYTES;
const SAFE_NAME = /[^\p{L}\p{N} ._()-]/gu; // a download name without path or control characters

const state = {
  threadId: root.dataset.thread,
  clinicId: root.dataset.clinic,
  me: null,
  patient: null, // {keyId, kemPublic, sigPublic}
  patientBefore: new Map(), // key id -> a key set the patient replaced (checks older messages)
  team: new Map(), // key id -> certified key set
  names: new Map(), // key id -> the team member's name, as the directory lists it
  trusted: false,
};

// --- who may have written a row ------------------------------------------------------------

function senderOf(row) {
  if (row.from_patient) {
    if (row.sender_key_id === state.patient?.keyId) return state.patient;
    return state.patientBefore.get(row.sender_key_id) ?? null;
  }
  return state.team.get(row.sender_key_id) ?? null;
}

function labelOf(row) {
  if (row.sender_key_id === state.me.keyId) return texts.you;
  if (row.from_patient) return texts.patient;
  return state.names.get(row.sender_key_id) || texts.team;
}

async function openRow(row) {
  if (!row.wraps?.[state.me.keyId]) {
    // A patient who started over has no wrap for what came before their new key.
    return { error: isPatient ? texts.beforeNewKey : texts.noWrap };
  }
  const sender = senderOf(row);
  if (!sender) return { error: texts.unverifiable };
  try {
    const plain = await e2ee.openMessage({
      conversationId: state.threadId, row, me: state.me, sender,
    });
    if (typeof plain.body !== "string") return { error: texts.unverifiable };
    return { plain, sender };
  } catch {
    return { error: texts.unverifiable };
  }
}

async function showRows(rows) {
  for (const row of rows) {
    const { plain, sender, error } = await openRow(row);
    const item = messageItem({
      id: row.id,
      createdAt: row.created_at,
      label: labelOf(row),
      text: plain ? plain.body : error,
      mine: row.sender_key_id === state.me.keyId,
      bad: !plain,
    });
    placeItem(log, item);
    if (plain?.attachment && row.attachment) {
      const box = document.createElement("div");
      box.className = "chat-attachment";
      item.append(box);
      await showAttachment(box, row, sender);
    }
  }
}

// --- attachments -----------------------------------------------------------------------------

function attachmentUrl(messageId) {
  return root.dataset.attachment.replace("00000000-0000-0000-0000-000000000000", messageId);
}

async function showAttachment(box, row, sender) {
  say(box, texts.attachmentLoading);
  try {
    const response = await fetch(attachmentUrl(row.id), {
      credentials: "same-origin", cache: "no-store",
    });
    if (!response.ok) throw new ApiError(response.status, response.statusText);
    const fileCipher = new Uint8Array(await response.arrayBuffer());
    const { name, bytes } = await e2ee.openAttachment({
      conversationId: state.threadId, row, me: state.me, sender, fileCipher,
    });
    const kind = sniff(bytes);
    const url = URL.createObjectURL(new Blob([bytes], { type: kind.type }));
    const safeName = (typeof name === "string" ? name : "").replace(SAFE_NAME, "_").slice(0, 120)
      || "attachment";
    box.replaceChildren();
    if (kind.image) {
      const image = document.createElement("img");
      image.src = url;
      image.alt = safeName;
      image.className = "chat-attachment__image";
      box.append(image);
    }
    const link = document.createElement("a");
    link.href = url;
    link.download = safeName;
    link.textContent = `${texts.download}: ${safeName} (${Math.ceil(bytes.length / 1024)} kB)`;
    box.append(link);
  } catch {
    say(box, texts.attachmentUnverifiable);
    box.classList.add("chat-message--bad");
  }
}

// --- trust -----------------------------------------------------------------------------------

async function trust(directory) {
  const clinicKey = await trustedClinicKey({ ...directory, clinic_id: state.clinicId });
  state.trusted = Boolean(clinicKey);
  if (directory.clinic_key && !clinicKey) {
    say(status, isPatient ? texts.clinicKeyChangedPatient : texts.clinicKeyChangedStaff);
  }
  state.team = await certifiedStaff(directory, clinicKey, "team");
  // A label only: whom a message is from is decided by the certified key, never by the name.
  state.names = new Map((directory.staff ?? [])
    .filter((entry) => state.team.has(entry.key_id) && typeof entry.name === "string")
    .map((entry) => [entry.key_id, entry.name]));
}

// The patient's key now, and those they replaced (what those signed is checked with them).
async function trustPatient(thread) {
  state.patient = await listedKeySet(thread.patient_key);
  const before = await Promise.all((thread.patient_keys_before ?? []).map(listedKeySet));
  state.patientBefore = new Map(before.filter(Boolean).map((k) => [k.keyId, k]));
}

// --- sending ---------------------------------------------------------------------------------

function recipients() {
  const list = new Map([...state.team.entries()]);
  list.set(state.me.keyId, state.me);
  list.set(state.patient.keyId, state.patient);
  return [...list.values()].map((k) => ({ keyId: k.keyId, kemPublic: k.kemPublic }));
}

let feed = null; // set once the thread is loaded

async function send(event) {
  event.preventDefault();
  if (!feed) return;
  say(composerError, "");
  const field = composer.querySelector("textarea");
  const chosen = fileField?.files?.[0] ?? null;
  if (!field.value.trim() && !chosen) {
    say(composerError, texts.empty);
    return;
  }
  if (chosen && chosen.size > maxBytes) {
    say(composerError, texts.attachmentTooLarge);
    return;
  }
  try {
    await trust(await api(root.dataset.apiDirectory));
  } catch (failure) {
    say(composerError, errorText(failure, texts, texts.sendFailed));
    return;
  }
  if (!state.trusted) {
    say(composerError, isPatient ? texts.clinicKeyChangedPatient : texts.clinicKeyChangedStaff);
    return;
  }
  if (![...state.team.keys()].some((id) => id !== state.patient?.keyId)) {
    say(composerError, texts.noTeam);
    return;
  }
  if (!state.patient) {
    say(composerError, texts.noPatientKey);
    return;
  }
  const button = composer.querySelector('button[type="submit"]');
  button.disabled = true;
  say(status, texts.sending);
  try {
    const file = chosen
      ? { name: chosen.name, bytes: new Uint8Array(await chosen.arrayBuffer()) } : undefined;
    const sealed = await e2ee.sealMessage({
      conversationId: state.threadId, kind: "body", sender: state.me,
      plain: { v: 1, body: field.value }, recipients: recipients(), file,
    });
    const { attachment, ...message } = sealed;
    if (attachment) {
      const form = new FormData();
      form.append("message", JSON.stringify(message));
      // An opaque name: the real one travels encrypted in the message.
      form.append("attachment", new Blob([attachment], { type: "application/octet-stream" }),
        "attachment.bin");
      await api(root.dataset.apiMessages, { method: "POST", form });
    } else {
      await api(root.dataset.apiMessages, { method: "POST", body: message });
    }
    field.value = "";
    if (fileField) fileField.value = "";
    say(status, "");
    await feed.now();
  } catch (failure) {
    say(status, "");
    const tooLarge = failure instanceof e2ee.AttachmentTooLargeError;
    say(composerError, tooLarge ? texts.attachmentTooLarge
      : errorText(failure, texts, texts.sendFailed));
  } finally {
    button.disabled = false;
  }
}

// --- starting --------------------------------------------------------------------------------

async function start() {
  const [me, directory] = await Promise.all([
    staffKeys(root.dataset.apiKey, texts),
    api(root.dataset.apiDirectory),
  ]);
  state.me = me;
  if (isPatient) state.patient = me;
  await trust(directory);
  feed = new Feed(root.dataset.apiMessages, async (data, fresh) => {
    if (!isPatient) await trustPatient(data.thread);
    await showRows(fresh);
  });
  await feed.fetchOnce();
  if (!isPatient && !state.patient) {
    say(composerError, texts.noPatientKey);
  } else {
    // Sending works from now on: the button stays disabled until then (and without JavaScript).
    composer.querySelector('button[type="submit"]').disabled = false;
  }
  ready(root);
  feed.start();
  // A certified member passes on the retained history to colleagues certified later.
  if (!isPatient && root.dataset.certified === "true") {
    const rewrap = () => rewrapPending(root.dataset.apiRewrap, state.clinicId, me, "team")
      .catch(() => {});
    await rewrap();
    every(REWRAP_MS, rewrap);
  }
}

// At once, so that a message typed early is never submitted by the browser itself.
composer.addEventListener("submit", send);
start().catch((failure) => {
  say(status, errorText(failure, texts));
  show(status);
});
