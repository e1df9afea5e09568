// The clinic admin's chat keys (/counsellor/manage/): set up the clinic key once (clinic key
// passphrase and recovery key, both only in this browser), and certify a counsellor's key by
// signing its key id with the clinic key, opened here for that one signature.
import { api, e2ee, errorText, ready, say, show, strings } from "./common.js";

const root = document.getElementById("chat-admin");
const texts = strings();

function setUp(form) {
  const [first, again] = form.querySelectorAll('input[type="password"]');
  const recovery = root.querySelector("[data-recovery]");
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
      const keys = await e2ee.generateClinicKey();
      const code = e2ee.newRecoveryCode();
      pending = {
        key_id: keys.keyId,
        sig_public: e2ee.b64(keys.sigPublic),
        sealed_private: {
          passphrase: await e2ee.sealPrivate(keys, first.value),
          recovery: await e2ee.sealPrivate(keys, e2ee.normaliseRecoveryCode(code)),
        },
      };
      first.value = "";
      again.value = "";
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
      await api(root.dataset.apiClinicKey, { method: "POST", body: pending });
      pending = null;
      location.reload();
    } catch (failure) {
      say(error, errorText(failure, texts));
      finish.disabled = false;
    }
  });
}

function certifying(form) {
  const field = form.querySelector('input[type="password"]');
  const error = form.querySelector("[data-error]");
  let chosen = null; // the button of the key to certify

  for (const button of root.querySelectorAll("[data-certify]")) {
    button.addEventListener("click", () => {
      chosen = button;
      say(form.querySelector("[data-certify-key]"), button.dataset.keyId.slice(0, 8));
      say(error, "");
      show(form);
      field.focus();
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!chosen) return;
    say(error, "");
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      const pk = chosen.dataset.certify;
      // The key as the server lists it for certification: its id must be its public keys'.
      const { keys } = await api(root.dataset.apiCertifyList);
      const subject = keys.find((k) => String(k.id) === pk);
      if (!subject || (await e2ee.keyId(subject.kem_public, subject.sig_public)) !== subject.key_id
          || subject.key_id !== chosen.dataset.keyId) {
        throw new e2ee.VerificationError();
      }
      const stored = await api(root.dataset.apiClinicKey);
      const clinic = await e2ee.openPrivate(
        stored.sealed_private.passphrase, field.value, stored.key_id);
      field.value = "";
      const certificate = await e2ee.certify(
        clinic.sigPrivate, clinic.keyId, subject.key_id, "counsellor");
      await api(root.dataset.certifyUrl.replace(/\/0\/$/, `/${Number(pk)}/`), {
        method: "POST", body: { certificate },
      });
      location.reload();
    } catch (failure) {
      say(error, errorText(failure, texts));
      submit.disabled = false;
    }
  });
}

const setupForm = root.querySelector("[data-setup-form]");
if (setupForm) setUp(setupForm);
const unlockForm = root.querySelector("[data-unlock-form]");
if (unlockForm) certifying(unlockForm);
ready(root);
