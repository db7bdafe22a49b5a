// The outbox: visits the shopper submitted, sent to the server by the sync protocol.
// Used by the page and by the service worker (Background Sync); one loop at a time.
//
// Item states: waiting → uploading → synced, or attention (a 4xx: the server's message
// is shown, the rest of the queue goes on). Network errors, 5xx and answers that are
// not our JSON keep the item waiting with a backoff. A 401 pauses the whole queue
// until the shopper logs in again. Nothing is deleted before the server says
// `complete`; then only the photo bytes are dropped (the server holds them). Only the
// logged-in shopper's items are sent (owner.js): another shopper's wait for them.

import { call } from "./api.js";
import * as db from "./db.js";
import { t } from "./i18n.js";
import { mine } from "./owner.js";

const LOCK = "visitscore-sync";
const LEASE_MS = 5 * 60 * 1000;
export const BUSY_RECHECK_MS = 10 * 1000;
const listeners = new Set();
// Other tabs and the service worker hear about progress too, so every open screen of
// the outbox shows the same thing whoever is sending.
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("visitscore-sync") : null;
if (channel) channel.onmessage = (event) => listeners.forEach((listener) => listener(event.data));

export const onChange = (listener) => listeners.add(listener);
function changed(detail) {
  listeners.forEach((listener) => listener(detail));
  if (channel) channel.postMessage(detail ? JSON.parse(JSON.stringify(detail)) : detail);
}

export function backoffMs(attempts) {
  const base = Math.min(5000 * 2 ** Math.max(0, attempts - 1), 15 * 60 * 1000);
  return base / 2 + Math.random() * (base / 2);
}

async function setItem(visitId, change) {
  const next = await db.update("outbox", visitId, (item) => (item ? { ...item, ...change(item) } : undefined));
  changed(next);
  return next;
}

const retryLater = (visitId, reason) =>
  setItem(visitId, (item) => ({
    state: "waiting", progress: null, last_error: reason,
    attempts: (item.attempts || 0) + 1,
    next_try: Date.now() + backoffMs((item.attempts || 0) + 1),
  }));

const needsAttention = (visitId, result) =>
  setItem(visitId, () => ({
    state: "attention", progress: null, status: result.status,
    message: result.message || `HTTP ${result.status}`, details: result.details || null,
  }));

/** What one answer means for the item; answers "next", "stop" (offline or paused). */
async function judge(item, result) {
  if (result.kind === "ok") return null;
  if (result.kind === "auth") {
    await db.kvSet("auth_needed", true);
    await setItem(item.visit_id, () => ({ state: "waiting", progress: null }));
    changed({ auth_needed: true });
    return "stop";
  }
  if (result.kind === "client") {
    await needsAttention(item.visit_id, result);
    return "next";
  }
  await retryLater(item.visit_id, result.kind === "network" ? "offline" : result.message);
  return result.kind === "network" ? "stop" : "next";
}

async function syncItem(item) {
  await setItem(item.visit_id, () => ({ state: "uploading", progress: null, message: null }));
  const base = `/api/v1/visits/${item.visit_id}`;
  const sent = await call("PUT", base, { json: item.body });
  const verdict = await judge(item, sent);
  if (verdict) return verdict;
  const manifest = item.body.photos || [];
  const missing = new Set(sent.data.photos_missing || []);
  const todo = manifest.filter((photo) => missing.has(photo.photo_id));
  const total = manifest.length;
  for (const [index, photo] of todo.entries()) {
    const number = total - todo.length + index + 1;
    await setItem(item.visit_id, () => ({ progress: { photo: number, of: total } }));
    const record = await db.get("photos", photo.photo_id);
    if (!record) {
      await needsAttention(item.visit_id, {
        status: 0, message: t("A photo of this visit is no longer on this phone."),
      });
      return "next";
    }
    const blob = db.photoBlob(record);
    const upload = await call("PUT", `${base}/photos/${photo.photo_id}`,
                              { body: blob, contentType: record.content_type, timeout: 300000 });
    const photoVerdict = await judge(item, upload);
    if (photoVerdict) return photoVerdict;
  }
  const status = await call("GET", base);
  const statusVerdict = await judge(item, status);
  if (statusVerdict) return statusVerdict;
  if (!status.data.complete) {
    await retryLater(item.visit_id, "incomplete");
    return "next";
  }
  await setItem(item.visit_id, () => ({
    state: "synced", progress: null, message: null, synced_at: Date.now(),
    server_state: status.data.state,
  }));
  for (const photo of manifest) await db.del("photos", photo.photo_id);
  return "next";
}

/** The logged-in shopper's outbox items (none when nobody is logged in). */
const ownOutbox = async () => mine(await db.all("outbox"), await db.kvGet("user"));

/** Not sent yet: waiting, or left "uploading" by whoever was sending. */
const unsentItem = (item) => item.state === "waiting" || item.state === "uploading";

/** The items to send now, oldest first; `force` ignores backoff (Sync now). */
async function due(force) {
  const items = await ownOutbox();
  return items
    .filter(unsentItem)
    .filter((item) => force || !item.next_try || item.next_try <= Date.now())
    .sort((a, b) => a.created - b.created);
}

async function loop(force) {
  if (await db.kvGet("auth_needed")) return "auth";
  for (const item of await due(force)) {
    const fresh = await db.get("outbox", item.visit_id);
    if (!fresh || (fresh.state !== "waiting" && fresh.state !== "uploading")) continue;
    if ((await syncItem(fresh)) === "stop") {
      return (await db.kvGet("auth_needed")) ? "auth" : "offline";
    }
  }
  return "done";
}

/** An IndexedDB lease, where the browser has no Web Locks: taken in one transaction. */
async function withLease(work) {
  const owner = Math.random().toString(36).slice(2);
  const taken = await db.update("kv", "sync_lease", (lease) =>
    lease && lease.until > Date.now() ? undefined : { owner, until: Date.now() + LEASE_MS });
  if (!taken || taken.owner !== owner) return "busy";
  try {
    return await work();
  } finally {
    await db.update("kv", "sync_lease", (lease) => (lease && lease.owner === owner ? null : undefined));
  }
}

/**
 * Send what is due. Answers "done", "offline", "auth" (log in again) or "busy" (another
 * tab or the service worker is already syncing: it will send everything).
 */
export async function syncOutbox({ force = false } = {}) {
  const work = async () => {
    changed({ syncing: true });
    try {
      return await loop(force);
    } finally {
      changed({ syncing: false });
    }
  };
  if (globalThis.navigator && navigator.locks) {
    return navigator.locks.request(LOCK, { ifAvailable: true }, (lock) => (lock ? work() : "busy"));
  }
  return withLease(work);
}

/**
 * When sending should be tried again (ms since epoch), or null when nothing is left to
 * send. An item still marked "uploading" once nobody is sending was left by a tab or
 * worker that died mid-upload: it is due now. After "busy", whoever is sending may die
 * too, so the caller checks again soon (BUSY_RECHECK_MS). The rule: unsent work and
 * nobody sending means a retry is scheduled.
 */
export async function nextRetry(result) {
  const items = (await ownOutbox()).filter(unsentItem);
  if (!items.length) return null;
  if (result === "busy") return Date.now() + BUSY_RECHECK_MS;
  const times = items.map((item) => (item.state === "uploading" ? Date.now() : item.next_try || Date.now()));
  return Math.min(...times);
}

/** Whether anything is still waiting to be sent (for Background Sync to ask again). */
export async function unsent() {
  return (await ownOutbox()).some(unsentItem);
}
