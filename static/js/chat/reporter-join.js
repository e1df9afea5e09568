// The reporter's join page (/m/): the code (from the QR link or typed), the clinic key checked
// against the link's fingerprint (#k=..., never sent to the server) or shown as a safety code,
// the key pair and recovery code made here, then sign-in and on to the chat. Or: continue with
// a recovery code on this device.
import {
  api, e2ee, errorText, keystore, ready, reporterSignIn, say, show, strings, withParam,
} from "./common.js";

const root = document.getElementById("reporter-join");
const texts = strings();
const codeForm = root.querySelector("[data-code-form]");
const profileForm = root.querySelector("[data-profile-form]");
const recovery = root.querySelector("[data-recovery]");
const recoverForm = root.querySelector("[data-recover-form]");
const state = { code: null, fingerprint: null, pending: null };

// The clinic key's fingerprint from the QR link's fragment, if the link was followed.
function linkFingerprint() {
  const value = new URLSearchParams(location.hash.slice(1)).get("k");
  return value && /^[0-9a-f]{32}$/.test(value) ? value : null;
}

async function resume() {
  const record = await keystore.loadReporter();
  if (record && (await keystore.loadKeys(record.keyId))) show(root.querySelector("[data-resume]"));
}

async function lookUp() {
  const error = codeForm.querySelector("[data-error]");
  say(error, "");
  show(profileForm, false);
  const input = codeForm.querySelector("input");
  try {
    const found = await api(withParam(root.dataset.apiCode, "code", input.value.trim()));
    if (!found.clinic_key || !found.staff?.length) {
      say(error, texts.noCounsellor);
      return;
    }
    // Recomputed from the public key: the server cannot pair the poster's id with another key.
    const fingerprint = await e2ee.fingerprint(found.clinic_key.sig_public);
    const expected = linkFingerprint();
    if (fingerprint !== found.clinic_key.key_id || (expected && expected !== fingerprint)) {
      say(error, texts.clinicKeyChanged);
      return;
    }
    const safety = root.querySelector("[data-safety]");
    say(root.querySelector("[data-safety-code]"), e2ee.safetyCode(fingerprint));
    show(safety, !expected);
    state.code = found.code;
    state.fingerprint = fingerprint;
    say(profileForm.querySelector("[data-organisation]"), found.organisation);
    show(profileForm);
    profileForm.querySelector("#join-nickname").focus();
  } catch (failure) {
    say(error, errorText(failure, texts));
  }
}

async function makeKeys(event) {
  event.preventDefault();
  const error = profileForm.querySelector("[data-error]");
  const button = profileForm.querySelector('button[type="submit"]');
  say(error, "");
  button.disabled = true;
  show(profileForm.querySelector("[data-working]"));
  try {
    const keys = await e2ee.generateKeySet();
    const code = e2ee.newRecoveryCode();
    state.pending = {
      keys,
      sealed: await e2ee.sealPrivate(keys, e2ee.normaliseRecoveryCode(code)),
      lookup: await e2ee.recoveryLookup(code),
      profile: {
        nickname: profileForm.querySelector("#join-nickname").value.trim(),
        gender: profileForm.querySelector("#join-gender").value,
        age: profileForm.querySelector("#join-age").value,
      },
    };
    say(recovery.querySelector("[data-recovery-code]"), code);
    show(codeForm, false);
    show(profileForm, false);
    show(root.querySelector("[data-recover]"), false);
    show(recovery);
    recovery.querySelector('input[type="checkbox"]').focus();
  } catch (failure) {
    say(error, errorText(failure, texts));
    button.disabled = false;
  } finally {
    show(profileForm.querySelector("[data-working]"), false);
  }
}

async function join() {
  const error = recovery.querySelector("[data-error]");
  const finish = recovery.querySelector("[data-finish]");
  say(error, "");
  finish.disabled = true;
  try {
    const { keys, sealed, lookup, profile } = state.pending;
    const conversationId = crypto.randomUUID();
    await api(root.dataset.apiJoin, {
      method: "POST",
      body: {
        code: state.code,
        conversation_id: conversationId,
        key_id: keys.keyId,
        kem_public: e2ee.b64(keys.kemPublic),
        sig_public: e2ee.b64(keys.sigPublic),
        sealed_private: sealed,
        recovery_lookup: lookup,
      },
    });
    const locked = await e2ee.lockKeySet(keys);
    await keystore.saveKeys(locked);
    await keystore.saveReporter({
      keyId: keys.keyId, conversationId, clinicFingerprint: state.fingerprint, profile,
    });
    state.pending = null;
    await reporterSignIn(locked, root.dataset.apiChallenge, root.dataset.apiSession);
    location.assign(root.dataset.chat);
  } catch (failure) {
    say(error, errorText(failure, texts));
    finish.disabled = false;
  }
}

async function recover(event) {
  event.preventDefault();
  const error = recoverForm.querySelector("[data-error]");
  const field = recoverForm.querySelector("input");
  const button = recoverForm.querySelector('button[type="submit"]');
  say(error, "");
  let code;
  try {
    code = e2ee.normaliseRecoveryCode(field.value);
  } catch {
    say(error, texts.notRecoveryCode);
    return;
  }
  button.disabled = true;
  try {
    const found = await api(root.dataset.apiRecover, {
      method: "POST", body: { recovery_lookup: await e2ee.recoveryLookup(code) },
    });
    const keys = await e2ee.openPrivate(found.sealed_private, code, found.key_id);
    field.value = "";
    await keystore.saveKeys(keys);
    // The clinic key is taken on trust from the first chat page (no QR link here).
    await keystore.saveReporter({ keyId: keys.keyId, conversationId: null, clinicFingerprint: null });
    await reporterSignIn(keys, root.dataset.apiChallenge, root.dataset.apiSession);
    location.assign(root.dataset.chat);
  } catch (failure) {
    say(error, errorText(failure, texts));
  } finally {
    button.disabled = false;
  }
}

codeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  lookUp();
});
profileForm.addEventListener("submit", makeKeys);
recovery.querySelector('input[type="checkbox"]').addEventListener("change", (event) => {
  recovery.querySelector("[data-finish]").disabled = !event.target.checked;
});
recovery.querySelector("[data-finish]").addEventListener("click", join);
recoverForm.addEventListener("submit", recover);
ready(root);
resume();
if (codeForm.querySelector("input").value.trim()) lookUp();
