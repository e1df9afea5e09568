// One conversation, for the counsellor (/counsellor/c/<id>/) and the reporter (/m/chat/): the
// page's #chat-conversation says which (data-role). Messages are opened here and shown only if
// every check of crypto.openMessage passed; anything else shows "cannot be verified".
//
// Whom a message may come from: the conversation's reporter key, or a counsellor key certified
// by the clinic key this browser trusts (the counsellor's pin; the reporter's fingerprint from
// the QR link). Whom a message goes to: those certified counsellors and, unless it is a note,
// the reporter.
import {
  ApiError, Feed, api, certifiedStaff, e2ee, errorText, keystore, listedKeySet, messageItem,
  placeItem, ready, reporterSignIn, say, show, staffKeys, strings, trustedClinicKey,
} from "./common.js";

const root = document.getElementById("chat-conversation");
const texts = strings();
const isReporter = root.dataset.role === "reporter";
const log = root.querySelector("[data-log]");
const status = root.querySelector("[data-status]");
const composer = root.querySelector("[data-composer]");
const composerError = composer.querySelector("[data-error]");

const state = {
  conversationId: root.dataset.conversation ?? null,
  me: null,
  reporter: null, // {keyId, kemPublic, sigPublic}
  counsellors: new Map(), // key id -> certified key set
  trusted: false, // the clinic key is the one this browser trusts
  newest: { reporter: null, mine: null }, // the newest opened plain texts, with their time
  record: null, // the reporter's own record (keystore)
};

// --- who may have written a row --------------------------------------------------------------

function senderOf(row) {
  if (row.from_reporter) {
    return row.sender_key_id === state.reporter?.keyId ? state.reporter : null;
  }
  return state.counsellors.get(row.sender_key_id) ?? null;
}

function labelOf(row, plain) {
  const mine = row.sender_key_id === state.me.keyId;
  if (mine) return texts.you;
  if (row.from_reporter) return plain?.nickname || texts.reporter;
  return texts.counsellor;
}

async function openRow(row) {
  const sender = senderOf(row);
  if (sender && !row.wraps?.[state.me.keyId]) return { error: texts.noWrap };
  if (!sender) return { error: texts.unverifiable };
  try {
    const plain = await e2ee.openMessage({
      conversationId: state.conversationId, row, me: state.me, sender,
    });
    if (typeof plain.body !== "string") return { error: texts.unverifiable };
    return { plain };
  } catch {
    return { error: texts.unverifiable };
  }
}

function remember(row, plain) {
  if (!plain) return;
  const slot = row.sender_key_id === state.me.keyId ? "mine" : row.from_reporter && "reporter";
  if (!slot) return;
  const newest = state.newest[slot];
  if (!newest || newest.at <= row.created_at) state.newest[slot] = { at: row.created_at, plain };
}

async function showRows(rows) {
  for (const row of rows) {
    const { plain, error } = await openRow(row);
    remember(row, plain);
    const note = row.kind === "note";
    const label = [labelOf(row, plain), note ? texts.note : null].filter(Boolean).join(" · ");
    placeItem(log, messageItem({
      id: row.id,
      createdAt: row.created_at,
      label,
      text: plain ? plain.body : error,
      mine: row.sender_key_id === state.me.keyId,
      note,
      bad: !plain,
    }));
  }
  if (!isReporter) showReporter();
}

// The counsellor's heading: the nickname and profile of the reporter's newest message.
function showReporter() {
  const plain = state.newest.reporter?.plain;
  if (!plain) return;
  if (plain.nickname) say(document.querySelector("[data-nickname]"), plain.nickname);
  const profile = plain.profile ?? {};
  const gender = { female: texts.genderFemale, male: texts.genderMale, other: texts.genderOther };
  const age = { "-25": texts.ageYoung, "55-": texts.ageOld };
  const parts = [];
  if (gender[profile.gender]) parts.push(gender[profile.gender]);
  if (typeof profile.age === "string" && /^\d{0,2}-\d{0,2}$/.test(profile.age)) {
    parts.push(`${texts.age}: ${age[profile.age] ?? profile.age.replace("-", "–")}`);
  }
  say(document.querySelector("[data-profile]"), parts.join(" · "));
}

// --- trust ----------------------------------------------------------------------------------

async function trustCounsellor(directory) {
  const clinicKey = await trustedClinicKey(directory);
  state.trusted = Boolean(clinicKey);
  if (directory.clinic_key && !clinicKey) say(status, texts.clinicKeyChangedStaff);
  state.counsellors = await certifiedStaff(directory, clinicKey);
}

// The reporter trusts the clinic key whose fingerprint came with the QR link (or the first one
// seen after a recovery on a new device, kept from then on).
let seenDirectory = null;

async function trustReporter(data) {
  const directory = JSON.stringify([data.clinic_key, data.staff]);
  if (directory === seenDirectory) return;
  seenDirectory = directory;
  const clinicKey = data.clinic_key;
  let fingerprint = clinicKey ? await e2ee.fingerprint(clinicKey.sig_public) : null;
  if (clinicKey && fingerprint !== clinicKey.key_id) fingerprint = null;
  if (fingerprint && !state.record.clinicFingerprint) {
    state.record.clinicFingerprint = fingerprint;
    await keystore.saveReporter(state.record);
  }
  if (fingerprint && data.conversation.clinic_id) {
    await keystore.pinClinicKey(data.conversation.clinic_id, state.record.clinicFingerprint);
  }
  state.trusted = Boolean(fingerprint) && fingerprint === state.record.clinicFingerprint;
  if (clinicKey && !state.trusted) say(status, texts.clinicKeyChanged);
  state.counsellors = await certifiedStaff(data, state.trusted ? clinicKey : null);
}

// --- sending --------------------------------------------------------------------------------

function recipients(kind) {
  const list = [...state.counsellors.values(), state.me];
  if (kind === "body") list.push(state.reporter);
  return list.map((k) => ({ keyId: k.keyId, kemPublic: k.kemPublic }));
}

// The reporter's nickname and profile travel with every message: from their own newest
// message, or, before the first one, from what they chose when joining.
function reporterPlain(body) {
  const source = state.newest.mine?.plain ?? state.record.profile ?? {};
  const plain = { v: 1, body, nickname: source.nickname ?? "" };
  const profile = source.profile ?? { gender: source.gender, age: source.age };
  const kept = Object.fromEntries(
    Object.entries(profile).filter(([, v]) => typeof v === "string" && v));
  if (Object.keys(kept).length) plain.profile = kept;
  return plain;
}

let feed = null; // set once the conversation is loaded

async function send(event) {
  event.preventDefault();
  if (!feed) return;
  say(composerError, "");
  const field = composer.querySelector("textarea");
  const note = !isReporter && composer.querySelector('input[type="checkbox"]')?.checked;
  const kind = note ? "note" : "body";
  if (!isReporter) {
    try {
      await trustCounsellor(await api(root.dataset.apiDirectory));
    } catch (failure) {
      say(composerError, errorText(failure, texts, texts.sendFailed));
      return;
    }
  }
  if (!state.trusted) {
    say(composerError, isReporter ? texts.clinicKeyChanged : texts.clinicKeyChangedStaff);
    return;
  }
  if (![...state.counsellors.keys()].some((id) => id !== state.me.keyId)
      && isReporter) {
    say(composerError, texts.noCounsellor);
    return;
  }
  if (kind === "body" && !state.reporter) {
    say(composerError, texts.sendFailed);
    return;
  }
  const body = field.value;
  const plain = isReporter ? reporterPlain(body) : { v: 1, body };
  const button = composer.querySelector('button[type="submit"]');
  button.disabled = true;
  say(status, texts.sending);
  try {
    const sealed = await e2ee.sealMessage({
      conversationId: state.conversationId, kind, sender: state.me, plain,
      recipients: recipients(kind),
    });
    await api(root.dataset.apiMessages, { method: "POST", body: sealed });
    field.value = "";
    if (isReporter && state.record.profile) {
      state.newest.mine = { at: new Date().toISOString(), plain };
      delete state.record.profile;
      await keystore.saveReporter(state.record);
    }
    say(status, "");
    await feed.now();
  } catch (failure) {
    say(status, "");
    say(composerError, errorText(failure, texts, texts.sendFailed));
  } finally {
    button.disabled = false;
  }
}

// --- starting -------------------------------------------------------------------------------

async function reporterStart() {
  state.record = await keystore.loadReporter();
  const keys = state.record ? await keystore.loadKeys(state.record.keyId) : null;
  if (!keys) {
    // Nothing to sign in with: say so and point to the join page (no automatic redirect, so
    // the reason stays readable and the back button works).
    show(document.querySelector("[data-no-conversation]"));
    show(composer, false);
    ready(root);
    return null;
  }
  state.me = keys;
  state.reporter = keys;
  let data;
  try {
    data = await api(root.dataset.apiMessages);
  } catch (failure) {
    if (!(failure instanceof ApiError) || failure.status !== 403) throw failure;
  }
  if (!data || data.conversation.key_id !== keys.keyId) {
    await reporterSignIn(keys, root.dataset.apiChallenge, root.dataset.apiSession);
    data = await api(root.dataset.apiMessages);
  }
  state.conversationId = data.conversation.id;
  if (state.record.conversationId !== state.conversationId) {
    state.record.conversationId = state.conversationId;
    await keystore.saveReporter(state.record);
  }
  say(document.querySelector("[data-organisation]"), data.conversation.organisation);
  await trustReporter(data);
  return data;
}

async function counsellorStart() {
  const [me, directory] = await Promise.all([
    staffKeys(root.dataset.apiKey, texts),
    api(root.dataset.apiDirectory),
  ]);
  state.me = me;
  await trustCounsellor(directory);
  return null;
}

const reporterOf = (conversation) => listedKeySet({
  key_id: conversation.reporter_key_id,
  kem_public: conversation.reporter_kem_public,
  sig_public: conversation.reporter_sig_public,
});

async function start() {
  const first = isReporter ? await reporterStart() : await counsellorStart();
  if (!state.me) return;
  feed = new Feed(root.dataset.apiMessages, async (data, fresh) => {
    if (!isReporter && !state.reporter) state.reporter = await reporterOf(data.conversation);
    if (isReporter) await trustReporter(data);
    await showRows(fresh);
  });
  if (first) {
    // The reporter's first answer already holds the messages: use it as the first poll.
    feed.cursor = first.cursor;
    const fresh = first.messages.filter((row) => !feed.seen.has(row.id));
    fresh.forEach((row) => feed.markSeen(row.id));
    await showRows(fresh);
  } else {
    await feed.fetchOnce();
  }
  // Sending works from now on: the button stays disabled until then (and without JavaScript).
  composer.querySelector('button[type="submit"]').disabled = false;
  ready(root);
  feed.start((failure) => {
    if (failure instanceof ApiError && failure.status === 403 && isReporter) {
      reporterSignIn(state.me, root.dataset.apiChallenge, root.dataset.apiSession)
        .catch(() => location.assign(root.dataset.join));
    }
  });
}

function signOut() {
  const button = document.querySelector("[data-sign-out]");
  button?.addEventListener("click", async () => {
    await api(root.dataset.apiSignOut, { method: "POST", body: {} }).catch(() => {});
    location.assign(root.dataset.join);
  });
}

// At once, so that a message typed early is never submitted by the browser itself.
composer.addEventListener("submit", send);
if (isReporter) signOut();
start().catch((failure) => {
  say(status, errorText(failure, texts));
  show(status);
});
