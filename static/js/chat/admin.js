// The clinic admin's chat keys (/counsellor/manage/): set up the clinic key once (clinic key
// passphrase and recovery key, both only in this browser), and certify a counsellor's key by
// signing its key id with the clinic key, opened here for that one signature.
import { api, e2ee, errorText, keySetUp, ready, say, show, strings } from "./common.js";

const root = document.getElementById("chat-admin");
const texts = strings();

function setUp(form) {
  keySetUp({
    form,
    recovery: root.querySelector("[data-recovery]"),
    texts,
    generate: e2ee.generateClinicKey,
    save: async (keys, sealed) => {
      await api(root.dataset.apiClinicKey, {
        method: "POST",
        body: { key_id: keys.keyId, sig_public: e2ee.b64(keys.sigPublic), sealed_private: sealed },
      });
      location.reload();
    },
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
