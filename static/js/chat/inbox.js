// The counsellor's inbox (/counsellor/): the rows polled every 3 seconds, each with the
// nickname from its newest reporter message (opened here, checked against the conversation's
// reporter key), and the re-wrap duty: giving a colleague certified later the content keys of
// the retained messages (E2EE.md check 12), after checking their certificate.
import {
  POLL_MS, REWRAP_MS, api, e2ee, every, formatDate, formatTime, ready, rewrapPending, say, show,
  staffKeys, strings,
} from "./common.js";

const root = document.getElementById("chat-inbox");
const texts = { ...strings(), ...strings(root) };
const tbody = root.querySelector("[data-rows]");
const nicknames = new Map(); // latest message id -> nickname (or null: cannot be verified)
let me = null;

async function nicknameOf(row) {
  const latest = row.latest;
  // No wrap for me yet (a colleague's browser re-wraps for a key certified later): nothing to
  // open, and nothing wrong either.
  if (!me || !latest || !latest.wraps?.[me.keyId]) return undefined;
  if (nicknames.has(latest.id)) return nicknames.get(latest.id);
  let nickname = null;
  try {
    const id = await e2ee.keyId(row.reporter_kem_public, row.reporter_sig_public);
    if (id !== row.reporter_key_id || !latest.from_reporter) throw new e2ee.VerificationError();
    const plain = await e2ee.openMessage({
      conversationId: row.id,
      row: latest,
      me,
      sender: { kemPublic: row.reporter_kem_public, sigPublic: row.reporter_sig_public },
    });
    nickname = typeof plain.nickname === "string" && plain.nickname ? plain.nickname : undefined;
  } catch {
    nickname = null;
  }
  nicknames.set(latest.id, nickname);
  return nickname;
}

function cell(tag, ...children) {
  const element = document.createElement(tag);
  element.append(...children);
  return element;
}

const SAME_SITE_PATH = /^\/[^/\\]/; // a path on this site, not "//host" or "javascript:"

async function rowElement(row) {
  const nickname = await nicknameOf(row);
  const link = document.createElement("a");
  if (SAME_SITE_PATH.test(row.url)) link.href = row.url;
  link.textContent = nickname ?? texts.reporter;
  const head = cell("th", link);
  head.scope = "row";
  if (nickname === null) {
    const bad = document.createElement("span");
    bad.className = "muted";
    bad.textContent = ` (${texts.unverifiable})`;
    head.append(bad);
  }
  if (row.unread) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = texts.unread;
    head.append(" ", badge);
  }
  const tr = cell("tr", head, cell("td", formatTime(row.last_message_at)),
    cell("td", formatDate(row.created_at)));
  if (row.unread) tr.className = "unread";
  tr.dataset.conversation = row.id;
  return tr;
}

async function render(data) {
  const rows = await Promise.all(data.rows.map(rowElement));
  if (rows.length === 0) {
    const empty = cell("td", texts.empty);
    empty.colSpan = 3;
    empty.className = "muted";
    rows.push(cell("tr", empty));
  }
  tbody.replaceChildren(...rows);
}

// The unread conversations per organisation, on the organisation tabs.
function showCounts(counts) {
  for (const link of document.querySelectorAll("a[data-organisation]")) {
    const count = counts?.[link.dataset.organisation] ?? 0;
    let badge = link.parentElement.querySelector(".badge");
    if (count && !badge) {
      badge = document.createElement("span");
      badge.className = "badge";
      badge.title = texts.unread;
      link.parentElement.append(" ", badge);
    }
    if (badge) {
      badge.textContent = String(count);
      show(badge, count > 0);
    }
  }
}

async function refresh() {
  const data = await api(root.dataset.apiInbox);
  await render(data);
  showCounts(data.counts);
}

async function start() {
  every(POLL_MS, refresh);
  me = await staffKeys(root.dataset.apiKey, texts).catch(() => null);
  if (!me) {
    const note = root.querySelector("[data-lock-note]");
    say(note, texts.locked);
    show(note);
    return;
  }
  nicknames.clear();
  await refresh();
  ready(root);
  // Only a certified counsellor may re-wrap (the server answers 403 otherwise).
  if (root.dataset.certified !== "true") return;
  const rewrap = async () => {
    await rewrapPending(root.dataset.apiRewrap, root.dataset.clinic, me).catch(() => {});
    root.dataset.rewrapped = String(Number(root.dataset.rewrapped ?? 0) + 1); // runs so far
  };
  await rewrap();
  every(REWRAP_MS, rewrap);
}

if (root) start();
