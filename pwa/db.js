// The phone's storage: the only module that opens IndexedDB.
//
// Stores: kv (session, cached assignments, questionnaires, strings, settings),
// drafts (visits being recorded), photos (the bytes, by photo id), outbox (visits
// submitted and not yet acknowledged by the server). Upgrades are cumulative
// `if (oldVersion < N)` steps that never drop a store holding shoppers' work.

const NAME = "visitscore";
export const DB_VERSION = 1;

let opening = null;
let pending = 0;
const idleWaiters = [];

function upgrade(db, oldVersion) {
  if (oldVersion < 1) {
    db.createObjectStore("kv");
    db.createObjectStore("drafts", { keyPath: "visit_id" });
    const photos = db.createObjectStore("photos", { keyPath: "photo_id" });
    photos.createIndex("visit_id", "visit_id");
    db.createObjectStore("outbox", { keyPath: "visit_id" });
  }
  // Later versions add steps here, e.g. `if (oldVersion < 2) { ... }`, migrating
  // records in place: drafts, photos and outbox items are never deleted by an upgrade.
}

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, DB_VERSION);
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      request.onsuccess = () => {
        const db = request.result;
        // Another tab (or a new app version) wants to upgrade: step aside.
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = () => { opening = null; reject(request.error); };
      request.onblocked = () => console.warn("visitscore: database upgrade waits for other tabs");
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(storeNames, mode, work) {
  const db = await open();
  const tx = db.transaction(storeNames, mode);
  const finished = new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
  const result = await work(tx);
  await finished;
  return result;
}

async function write(storeNames, work) {
  pending += 1;
  try {
    return await run(storeNames, "readwrite", work);
  } finally {
    pending -= 1;
    if (pending === 0) idleWaiters.splice(0).forEach((resolve) => resolve());
  }
}

/** Resolves when no write is in flight: an update may then reload the page. */
export function idle() {
  return pending === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
}

export const get = (store, key) => run(store, "readonly", (tx) => done(tx.objectStore(store).get(key)));
export const all = (store) => run(store, "readonly", (tx) => done(tx.objectStore(store).getAll()));
export const put = (store, value, key) =>
  write(store, (tx) => done(key === undefined ? tx.objectStore(store).put(value) : tx.objectStore(store).put(value, key)));
export const del = (store, key) => write(store, (tx) => done(tx.objectStore(store).delete(key)));

/** Read-modify-write one record in a single transaction (no lost update between tabs). */
export function update(store, key, change) {
  return write(store, async (tx) => {
    const os = tx.objectStore(store);
    const current = await done(os.get(key));
    const next = change(current);
    if (next === undefined) return current;
    if (next === null) { await done(os.delete(key)); return null; }
    // Stores without a key path (kv) take the key beside the value.
    await done(os.keyPath === null ? os.put(next, key) : os.put(next));
    return next;
  });
}

export const kvGet = (key) => get("kv", key);
export const kvSet = (key, value) => put("kv", value, key);

// --- photos ------------------------------------------------------------------------

async function digest(buffer) {
  const hash = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
export { digest as sha256 };

/** The photo's bytes as a Blob, whichever way they were stored. */
export function photoBlob(record) {
  if (!record) return null;
  return record.blob instanceof Blob ? record.blob : new Blob([record.buffer], { type: record.content_type });
}

/**
 * Store a photo and read it back to check it before anyone calls it saved. Blobs are
 * preferred; where a browser cannot store Blobs the bytes go in as an ArrayBuffer.
 */
export async function savePhoto(meta, blob) {
  const buffer = await blob.arrayBuffer();
  const sha = await digest(buffer);
  const record = { ...meta, sha256: sha, bytes: buffer.byteLength, content_type: blob.type };
  try {
    await put("photos", { ...record, blob });
  } catch (error) {
    console.warn("visitscore: storing the photo as a Blob failed, using an ArrayBuffer", error);
    await put("photos", { ...record, buffer });
  }
  const back = await get("photos", meta.photo_id);
  const again = back && (await photoBlob(back).arrayBuffer());
  if (!again || again.byteLength !== record.bytes || (await digest(again)) !== sha) {
    await del("photos", meta.photo_id);
    throw new Error("The photo could not be saved on this phone.");
  }
  return record;
}

export async function photosOf(visitId) {
  return run("photos", "readonly", (tx) => done(tx.objectStore("photos").index("visit_id").getAll(visitId)));
}

/** Several writes in one transaction: all happen or none (e.g. draft → outbox). */
export function transact(storeNames, work) {
  return write(storeNames, (tx) => work((store) => ({
    put: (value) => done(tx.objectStore(store).put(value)),
    del: (key) => done(tx.objectStore(store).delete(key)),
  })));
}
