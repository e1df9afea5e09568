// The clinic team's inbox (/messages/team/): rendered by the server, with the patients' names
// (each one shown is in the access log). Its poll answers only a digest of what the page shows;
// when that changes, the page offers to show the new state (no names travel in the poll). A
// member whose key is kept on this device also does the re-wrap duty for colleagues certified
// later (common.js rewrapPending); a locked key is not asked for here.
import {
  POLL_MS, REWRAP_MS, api, every, keystore, ready, rewrapPending, show,
} from "./common.js";

const root = document.getElementById("team-inbox");

async function poll() {
  const { fingerprint } = await api(root.dataset.apiInbox);
  show(root.querySelector("[data-changed]"), fingerprint !== root.dataset.fingerprint);
}

async function rewrapDuty() {
  if (root.dataset.certified !== "true") return;
  const stored = await api(root.dataset.apiKey);
  const me = await keystore.loadKeys(stored.key_id);
  if (!me) return;
  const rewrap = () => rewrapPending(root.dataset.apiRewrap, root.dataset.clinic, me, "team")
    .catch(() => {});
  await rewrap();
  every(REWRAP_MS, rewrap);
}

if (root) {
  every(POLL_MS, poll);
  rewrapDuty().catch(() => {}).finally(() => ready(root));
}
