// The device's keystore (docs/chat-protocol.md, "Private keys at rest"): IndexedDB database
// `portal-e2ee`, store `keys`, one record per key id holding NON-extractable CryptoKeys
// (E2EE.md check 8: a cached private key cannot be exported), and store `pins`, the clinic key
// fingerprint a counsellor trusted the first time (trust on first use, warned on change), and
// store `reporter`: which key and conversation this browser's reporter has (no secret in it).
// Invariant: saveKeys refuses an extractable private key, so nothing exportable is ever cached.
const DB_NAME = "portal-e2ee";
const DB_VERSION = 2; // 2: the `reporter` store
const KEYS = "keys";
const PINS = "pins";
const REPORTER = "reporter";
const REPORTER_RECORD = "current";

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS);
      if (!db.objectStoreNames.contains(PINS)) db.createObjectStore(PINS);
      if (!db.objectStoreNames.contains(REPORTER)) db.createObjectStore(REPORTER);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(storeName, mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(storeName, mode);
      const request = action(transaction.objectStore(storeName));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

// `keys` as openPrivate or lockKeySet return them: {keyId, kemPrivate, kemPublic,
// sigPrivate, sigPublic}.
export async function saveKeys(keys) {
  for (const key of [keys.kemPrivate, keys.sigPrivate]) {
    if (key && (!(key instanceof CryptoKey) || key.extractable)) {
      throw new TypeError("only non-extractable private keys may be cached on a device");
    }
  }
  const record = {
    keyId: keys.keyId,
    kemPrivate: keys.kemPrivate,
    kemPublic: keys.kemPublic,
    sigPrivate: keys.sigPrivate,
    sigPublic: keys.sigPublic,
  };
  await run(KEYS, "readwrite", (store) => store.put(record, keys.keyId));
}

export async function loadKeys(keyId) {
  return (await run(KEYS, "readonly", (store) => store.get(keyId))) ?? null;
}

// "Lock this device".
export async function deleteKeys(keyId) {
  await run(KEYS, "readwrite", (store) => store.delete(keyId));
}

// Returns "new" (pinned now), "matched" or "changed". A changed fingerprint is NOT stored: the
// caller warns, and only replaceClinicPin, after the person has compared safety codes, moves it.
export async function pinClinicKey(clinicId, fingerprint) {
  const pinned = await run(PINS, "readonly", (store) => store.get(String(clinicId)));
  if (pinned === undefined) {
    await replaceClinicPin(clinicId, fingerprint);
    return "new";
  }
  return pinned === fingerprint ? "matched" : "changed";
}

export async function replaceClinicPin(clinicId, fingerprint) {
  await run(PINS, "readwrite", (store) => store.put(fingerprint, String(clinicId)));
}

// The reporter's pointer to their key: {keyId, conversationId, clinicFingerprint, profile?}.
// The keys themselves are in `keys` (non-extractable); `profile` ({nickname, gender, age}) is
// kept only until the first message carries it, as every later one does.
export async function saveReporter(record) {
  await run(REPORTER, "readwrite", (store) => store.put({ ...record }, REPORTER_RECORD));
}

export async function loadReporter() {
  return (await run(REPORTER, "readonly", (store) => store.get(REPORTER_RECORD))) ?? null;
}

export async function forgetReporter() {
  await run(REPORTER, "readwrite", (store) => store.delete(REPORTER_RECORD));
}
