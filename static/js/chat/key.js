// A person's chat key (the counsellor's /counsellor/key/, the clinic team's and the patient's
// under /messages/): set it up once (passphrase and recovery key, both only in this browser),
// unlock it on this device, or lock the device again.
import {
  api, e2ee, errorText, keySetUp, keystore, ready, say, show, strings, trustedClinicKey,
} from "./common.js";

const root = document.getElementById("chat-key");
const texts = strings();

// Pins the clinic key on this device the first time; warns if it ever changes. (A patient's
// page has no clinic directory: a patient may have several clinics, each pinned on its thread.)
async function pinClinicKey() {
  if (!root.dataset.apiDirectory) return true;
  const directory = await api(root.dataset.apiDirectory);
  if (directory.clinic_key && !(await trustedClinicKey(directory))) {
    const warning = root.querySelector("[data-clinic-warning]");
    say(warning, texts.clinicKeyChangedStaff);
    show(warning);
    return false;
  }
  return true;
}

// First set-up, or (data-replace) starting over after losing both the passphrase and the
// recovery key: the same steps, and the server replaces the old key set.
function setUp() {
  const form = root.querySelector("[data-setup-form]");
  const replace = form.hasAttribute("data-replace");
  keySetUp({
    form,
    recovery: root.querySelector("[data-recovery]"),
    texts,
    generate: e2ee.generateKeySet,
    save: async (keys, sealed) => {
      await api(root.dataset.apiKey, {
        method: "POST",
        body: {
          key_id: keys.keyId,
          kem_public: e2ee.b64(keys.kemPublic),
          sig_public: e2ee.b64(keys.sigPublic),
          sealed_private: sealed,
          replace,
        },
      });
      if (replace) await keystore.deleteKeys(root.dataset.keyId);
      await keystore.saveKeys(await e2ee.lockKeySet(keys));
      await pinClinicKey();
      location.assign(root.dataset.inbox);
    },
  });
}

async function device() {
  const storedPromise = api(root.dataset.apiKey);
  const unlockForm = root.querySelector("[data-unlock-form]");
  const lockForm = root.querySelector("[data-lock-form]");
  const unlocked = root.querySelector("[data-unlocked]");
  const field = unlockForm.querySelector('input[type="password"]');
  const label = unlockForm.querySelector("[data-secret-label]");
  const useRecovery = unlockForm.querySelector("[data-use-recovery]");
  const remember = unlockForm.querySelector('input[type="checkbox"]');
  const error = unlockForm.querySelector("[data-error]");
  let recoveryMode = false;

  const state = (isUnlocked) => {
    show(unlocked, isUnlocked);
    show(lockForm, isUnlocked);
    show(unlockForm, !isUnlocked);
  };

  useRecovery.addEventListener("click", () => {
    recoveryMode = true;
    say(label, texts.recoveryLabel);
    field.type = "text";
    field.value = "";
    show(useRecovery, false);
    show(unlockForm.querySelector("[data-secret-help]"), false);
    field.focus();
  });

  unlockForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(error, "");
    const button = unlockForm.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const stored = await storedPromise;
      let keys;
      if (recoveryMode) {
        let code;
        try {
          code = e2ee.normaliseRecoveryCode(field.value);
        } catch {
          say(error, texts.notRecoveryCode);
          return;
        }
        keys = await e2ee.openPrivate(stored.sealed_private.recovery, code, stored.key_id);
      } else {
        keys = await e2ee.openPrivate(stored.sealed_private.passphrase, field.value, stored.key_id);
      }
      field.value = "";
      const trusted = await pinClinicKey();
      if (remember.checked) {
        await keystore.saveKeys(keys);
        state(true);
        if (trusted) location.assign(root.dataset.inbox);
      } else {
        // Not kept: CryptoKeys cannot live in sessionStorage, so each page asks again.
        show(unlocked);
        show(unlockForm, false);
      }
    } catch (failure) {
      say(error, errorText(failure, texts));
    } finally {
      button.disabled = false;
    }
  });

  lockForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    await keystore.deleteKeys((await storedPromise).key_id);
    state(false);
  });

  const stored = await storedPromise;
  state(Boolean(await keystore.loadKeys(stored.key_id)));
}

if (root.dataset.hasKey === "true") {
  setUp();
  device()
    .catch((failure) => say(root.querySelector("[data-unlock-form] [data-error]"), errorText(failure, texts)))
    .finally(() => ready(root));
} else {
  setUp();
  ready(root);
}
