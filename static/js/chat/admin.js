// The clinic admin's chat keys (/counsellor/manage/): set up the clinic key once (clinic key
// passphrase and recovery key, both only in this browser), and certify a staff key by signing
// its key id and purpose with the clinic key, opened here for that one signature. The purpose
// (counsellor chat or clinic messages) is the server's, from the holder's role: the key as
// api_certify_list gives it must be the one the button names, for the same purpose, or nothing
// is signed.
import { api, e2ee, errorText, keySetUp, ready, say, show, strings } from "./common.js";

const root = document.getElementById("chat-admin");
const texts = strings();

// The listed key differs from the button's (its id or its purpose changed since the page
// loaded): a VerificationError of its own, so the page says so instead of "wrong passphrase".
class ListingChanged extends e2ee.VerificationError {}

async function listedSubject(button) {
  const { keys } = await api(root.dataset.apiCertifyList);
  const subject = keys.find((k) => String(k.id) === button.dataset.certify);
  if (!subject || (await e2ee.keyId(subject.kem_public, subject.sig_public)) !== subject.key_id
      || subject.key_id !== button.dataset.keyId || subject.purpose !== button.dataset.purpose) {
    throw new ListingChanged("the listed key is not the one shown");
  }
  return subject;
}

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
      // The key as the server lists it for certification: its id must be its public keys'.
      const subject = await listedSubject(chosen);
      const stored = await api(root.dataset.apiClinicKey);
      const clinic = await e2ee.openPrivate(
        stored.sealed_private.passphrase, field.value, stored.key_id);
      field.value = "";
      const certificate = await e2ee.certify(
        clinic.sigPrivate, clinic.keyId, subject.key_id, subject.purpose);
      await api(root.dataset.certifyUrl.replace(/\/0\/$/, `/${Number(subject.id)}/`), {
        method: "POST", body: { certificate },
      });
      location.reload();
    } catch (failure) {
      say(error, failure instanceof ListingChanged
        ? root.dataset.listingChanged : errorText(failure, texts));
      submit.disabled = false;
    }
  });
}

const setupForm = root.querySelector("[data-setup-form]");
if (setupForm) setUp(setupForm);
const unlockForm = root.querySelector("[data-unlock-form]");
if (unlockForm) certifying(unlockForm);
ready(root);
