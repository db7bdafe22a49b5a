// Visitscore service worker. The server fills in VERSION (a hash of the shell's files)
// and PRECACHE (their URLs) when it serves this file: no bundler.
//
// - shell (/app/…, icons, strings): cache-first from a versioned cache, filled on install;
// - navigations under /app/ get the cached shell; other pages offline get offline.html;
// - the API: network-first for what the app reads offline (assignments, questionnaire
//   versions); everything else (visit and photo uploads, status) goes to the network
//   untouched: the app's own outbox, in IndexedDB, is what survives being offline;
// - a new version installs beside the old one and waits: the app offers "Update ready"
//   and tells it to take over only when nothing is being saved;
// - Background Sync sends the outbox when no page of the app is open.

import { syncOutbox, unsent } from "/app/sync.js";

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const PREFIX = "visitscore-";
const SHELL = `${PREFIX}shell-${VERSION}`;
const API = `${PREFIX}api`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) =>
      cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "no-cache" })))),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== SHELL && name !== API) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
  if (event.data && event.data.type === "version" && event.ports[0]) {
    event.ports[0].postMessage({ version: VERSION });
  }
});

const OFFLINE_READ = [/^\/api\/v1\/assignments$/, /^\/api\/v1\/questionnaires\/[^/]+\/versions\/\d+$/];

async function networkFirst(request) {
  const cache = await caches.open(API);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

async function shellFirst(request) {
  const cache = await caches.open(SHELL);
  // The shell cache is versioned as a whole: Vary (Accept-Encoding, Accept-Language)
  // must not make a cached file miss while offline.
  const hit = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
  if (hit) return hit;
  return fetch(request);
}

async function navigation(request, url) {
  const cache = await caches.open(SHELL);
  if (url.pathname === "/app" || url.pathname.startsWith("/app/")) {
    const shell = await cache.match("/app/", { ignoreVary: true });
    if (shell) return shell;
  }
  try {
    return await fetch(request);
  } catch (error) {
    return (await cache.match("/app/offline.html", { ignoreVary: true })) || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(navigation(request, url));
  } else if (OFFLINE_READ.some((pattern) => pattern.test(url.pathname))) {
    event.respondWith(networkFirst(request));
  } else if (PRECACHE.includes(url.pathname)) {
    event.respondWith(shellFirst(request));
  }
  // Anything else: the browser's own network handling.
});

self.addEventListener("sync", (event) => {
  if (event.tag !== "visitscore-outbox") return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window" });
    if (windows.length) {
      // An open page syncs itself, with its progress on screen.
      windows.forEach((client) => client.postMessage({ type: "sync" }));
      return;
    }
    // The browser fires this when there is a connection and spaces out its own retries,
    // so items in the app's backoff go now. Whatever is left unsent (offline, a 5xx, a
    // sender that died) rejects, and the browser fires the event again later.
    const result = await syncOutbox({ force: true });
    if (result === "auth") return; // nothing can go until the shopper logs in again
    if (result === "busy" || (await unsent())) throw new Error("unsent: the browser will try again");
  })());
});
