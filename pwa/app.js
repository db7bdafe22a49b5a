// Visitscore shopper app: start-up, screens, sync triggers, and app updates.

import { call } from "./api.js";
import * as db from "./db.js";
import { lang, loadLanguage, t } from "./i18n.js";
import { adoptUnowned, isMine, mine, othersWork, ownerOf } from "./owner.js";
import { nextRetry, onChange, syncOutbox } from "./sync.js";
import { h } from "./util.js";
import * as views from "./views.js";
import * as visit from "./visit.js";

const view = document.getElementById("view");
const netStatus = document.getElementById("net-status");
const toastBox = document.getElementById("toast");
let user = null;
let retryTimer = null;
let registration = null;
let updating = false; // set when the shopper accepts an update; only then may we reload

// --- small UI helpers -------------------------------------------------------------------

let toastTimer = null;

/** A message at the bottom of the screen. The page keeps room below its last button so
 * nothing is covered; it can be closed, and one without an action goes by itself. */
function toast(message, action) {
  const close = () => {
    clearTimeout(toastTimer);
    toastBox.replaceChildren();
    document.body.classList.remove("with-toast");
  };
  const children = [h("span", {}, message)];
  if (action) children.push(h("button", { type: "button", onclick: action.run }, action.label));
  children.push(h("button", { type: "button", class: "close", "aria-label": t("Close"), onclick: close }, "×"));
  toastBox.replaceChildren(h("div", { class: "toast" }, children));
  document.body.classList.add("with-toast");
  clearTimeout(toastTimer);
  if (!action) toastTimer = setTimeout(close, 8000);
}

async function updateStatus() {
  const unsynced = mine(await db.all("outbox"), user).filter((item) => item.state !== "synced").length;
  // (No t() inside template literals: the message extractor cannot see them there.)
  const network = navigator.onLine ? t("Online") : t("Offline");
  netStatus.textContent = network + " · " + t("Not sent: %(n)s", { n: unsynced });
}

// --- data from the server -------------------------------------------------------------------

// A definition kept by an app from before the server resolved `required` and `scored` for
// every question is fetched again.
const isResolved = (definition) =>
  definition.sections.every((s) => s.questions.every((q) => typeof q.scored === "boolean"));

async function ensureQuestionnaire({ id, version }) {
  const key = `q:${id}@${version}`;
  const kept = await db.kvGet(key);
  if (kept && isResolved(kept)) return;
  const result = await call("GET", `/api/v1/questionnaires/${encodeURIComponent(id)}/versions/${version}`);
  if (result.kind === "ok") await db.kvSet(key, result.data);
}

async function refreshAssignments() {
  const [result, history, pay] = await Promise.all([
    call("GET", "/api/v1/assignments"), call("GET", "/api/v1/me/visits"), call("GET", "/api/v1/me/pay")]);
  if (result.kind === "auth") {
    await db.kvSet("auth_needed", true);
    return;
  }
  // The shopper's visits and what became of them, readable offline from the last sync.
  if (history.kind === "ok") await db.kvSet("history", { ...history.data, fetched_at: Date.now() });
  if (pay.kind === "ok") await db.kvSet("pay", { ...pay.data, fetched_at: Date.now() });
  if (result.kind !== "ok") return;
  await db.kvSet("assignments", result.data);
  for (const a of result.data.assignments) await ensureQuestionnaire(a.questionnaire);
}

// --- sync ------------------------------------------------------------------------------------

/** "Sync now": says so when there is no connection, instead of doing nothing visible. */
function syncNow() {
  if (!navigator.onLine) toast(t("You are offline. Everything you record is kept on this phone and sent later."));
  return sync({ force: true });
}

/** The earnings this phone keeps, to tell whether a sync changed them. */
async function earnings() {
  const kept = await db.kvGet("pay");
  return JSON.stringify(kept ? [kept.statements, kept.pending] : null);
}

async function sync({ force = false } = {}) {
  if (!user) return;
  const result = await syncOutbox({ force });
  if (result === "auth") {
    toast(t("Log in again to send your visits. Nothing was deleted."));
    if (!location.hash.startsWith("#/login")) location.hash = "#/login";
  } else if (navigator.onLine) {
    // Each sync also fetches the assignments: new, moved, cancelled or open to claim.
    const before = JSON.stringify(await db.kvGet("assignments"));
    const seen = JSON.stringify((await db.kvGet("history"))?.visits);
    const earned = await earnings();
    await refreshAssignments();
    const changed = before !== JSON.stringify(await db.kvGet("assignments")) ||
      seen !== JSON.stringify((await db.kvGet("history"))?.visits) ||
      earned !== await earnings();
    if (changed && showsSyncState()) route();
  }
  clearTimeout(retryTimer);
  // Unsent work and nobody sending means a retry is scheduled (a hidden page is synced
  // again when it becomes visible, and by Background Sync where the browser has it).
  const next = result === "auth" ? null : await nextRetry(result);
  if (next && document.visibilityState === "visible") {
    retryTimer = setTimeout(() => sync(), Math.max(1000, next - Date.now()));
  }
  updateStatus();
}

// Sync progress redraws the home and outbox screens only: never a visit being recorded
// (checked again when the redraw runs, since the shopper may have moved on).
const showsSyncState = () => ["#/outbox", "#/visits", "#/pay", "#/", ""].includes(location.hash);
let redrawQueued = false;
onChange(() => {
  updateStatus();
  if (showsSyncState() && !redrawQueued) {
    redrawQueued = true;
    setTimeout(() => {
      redrawQueued = false;
      if (showsSyncState()) route();
    }, 150);
  }
});

// --- actions ---------------------------------------------------------------------------------

async function askForPersistentStorage() {
  if (!navigator.storage || !navigator.storage.persist || (await db.kvGet("asked_persist"))) return;
  await db.kvSet("asked_persist", true);
  try {
    await navigator.storage.persist();
  } catch {
    // the status line on the home screen says whether storage is persistent
  }
}

async function submitVisit(draft) {
  const definition = await db.kvGet(`q:${draft.questionnaire.id}@${draft.questionnaire.version}`);
  if (visit.missing(draft, definition).length) return;
  const body = visit.buildBody(draft);
  const item = { visit_id: draft.visit_id, revision: draft.revision, body, state: "waiting", attempts: 0,
                 created: Date.now(), title: draft.branch_name, scenario_key: draft.scenario_key ?? null,
                 ...ownerOf(user) };
  await db.transact(["drafts", "outbox"], async (store) => {
    await store("outbox").put(item);
    await store("drafts").del(draft.visit_id);
  });
  await askForPersistentStorage();
  try {
    if (registration && registration.sync) await registration.sync.register("visitscore-outbox");
  } catch {
    // no Background Sync here: the page syncs on open, online and visible
  }
  location.hash = "#/outbox";
  sync();
}

async function logout() {
  const unsent = mine(await db.all("outbox"), user).filter((item) => item.state !== "synced").length +
    mine(await db.all("drafts"), user).length;
  if (unsent && !window.confirm(t("%(n)s visits are not sent yet. They stay on this phone and are sent after the next login. Log out?", { n: unsent }))) {
    return;
  }
  // With no signal the server's session lives on: end it at the next chance, and never
  // adopt it meanwhile (the next shopper on this phone must not open as this one).
  const ended = await call("DELETE", "/api/v1/session");
  await db.kvSet("logout_pending", !["ok", "auth", "client"].includes(ended.kind));
  user = null;
  await db.kvSet("user", null);
  // The next shopper on this phone sees none of this one's assignments or history.
  await db.kvSet("assignments", null);
  await db.kvSet("history", null);
  await db.kvSet("pay", null);
  location.hash = "#/login";
}

async function loggedIn(who) {
  const before = await db.kvGet("user");
  if (before && before.id !== who.id) { // someone else was logged in here: not theirs to see
    await db.kvSet("assignments", null);
    await db.kvSet("history", null);
    await db.kvSet("pay", null);
  }
  user = who;
  await db.kvSet("user", who);
  await db.kvSet("logout_pending", false); // the new session replaced the old one
  await adoptUnowned(who);
  visit.forgetLoaded();
  await db.kvSet("auth_needed", false);
  await refreshAssignments();
  location.hash = "#/";
  sync({ force: true });
}

/** A returned visit becomes a draft again, opened where the reviewer pointed. */
async function reopen(returned) {
  const draft = await views.reopenReturned(returned, user);
  if (!draft) {
    toast(t("This visit was recorded on another phone: edit it there."));
    return;
  }
  await ensureQuestionnaire(draft.questionnaire);
  // Straight to the first answer the reviewer pointed at, else to the review.
  const loaded = await visit.loadVisit(draft.visit_id);
  location.hash = loaded && loaded.definition ? visit.reopenScreen(draft, loaded.definition)
                                              : `#/visit/${draft.visit_id}/review`;
}

// --- screens ---------------------------------------------------------------------------------

async function screen(hash) {
  const parts = hash.replace(/^#?\/?/, "").split("/").filter(Boolean);
  if (!user || parts[0] === "login") {
    return views.renderLogin({ onLoggedIn: loggedIn, resume: Boolean(await db.kvGet("auth_needed")),
                              waiting: await othersWork(null) });
  }
  if (parts[0] === "outbox") {
    return views.renderOutbox({
      user,
      onSync: syncNow,
      onRetry: async (item) => {
        await db.update("outbox", item.visit_id, (current) =>
          ({ ...current, state: "waiting", attempts: 0, next_try: 0, message: null, details: null }));
        sync({ force: true });
      },
    });
  }
  if (parts[0] === "pay") return views.renderPay({ online: navigator.onLine, onSync: syncNow });
  if (parts[0] === "visits") return views.renderHistory({ online: navigator.onLine, onSync: syncNow, onReopen: reopen });
  if (parts[0] === "visit" && parts[1]) {
    const loaded = await visit.loadVisit(parts[1]);
    if (loaded && !isMine(loaded.draft, user)) {
      return h("section", {}, h("h1", {}, t("This visit belongs to another shopper")),
        h("p", {}, t("It stays on this phone until %(name)s logs in again.", { name: loaded.draft.owner_name })),
        h("a", { class: "button", href: "#/" }, t("Home")));
    }
    if (!loaded || !loaded.definition) {
      return h("section", {}, h("h1", {}, t("This visit is not on this phone")),
        h("p", {}, t("It may have been submitted already: see the outbox.")),
        h("a", { class: "button", href: "#/outbox" }, t("Outbox")));
    }
    if (parts[2] === "section") return visit.renderSection(loaded, Number(parts[3]) || 0);
    if (parts[2] === "review") return visit.renderReview(loaded, { onSubmit: submitVisit });
    return visit.renderTiming(loaded) || visit.renderSection(loaded, 0);
  }
  return views.renderHome({
    user, online: navigator.onLine, authNeeded: Boolean(await db.kvGet("auth_needed")),
    onStart: async (assignment) => {
      await ensureQuestionnaire(assignment.questionnaire);
      const key = `q:${assignment.questionnaire.id}@${assignment.questionnaire.version}`;
      if (!(await db.kvGet(key))) {
        toast(t("This assignment's questions are not on this phone yet. Connect once and try again."));
        return;
      }
      const draft = await views.startVisit(assignment, key, user);
      askForPersistentStorage(); // the first visit saved on this phone: keep it safe
      location.hash = visit.firstScreen(draft, await db.kvGet(key));
    },
    onReopen: reopen,
    onSync: syncNow,
    onClaim: async (assignment, button) => {
      button.disabled = true;
      const result = await call("POST", `/api/v1/assignments/${assignment.id}/claim`, { json: {} });
      if (result.kind === "ok") {
        toast(t("The visit to %(branch)s is yours.", { branch: assignment.branch.name }));
        await ensureQuestionnaire(assignment.questionnaire);
      } else if (result.kind === "network") {
        toast(t("No connection: claim it again when you have signal."));
      } else {
        toast(result.message || t("This visit could not be claimed."));
      }
      await refreshAssignments();
      route();
    },
    onLogout: logout,
    onLanguage: async (code) => {
      await loadLanguage(code);
      route();
    },
  });
}

let routing = Promise.resolve();
let shownHash = null;

function route() {
  // One drawing at a time; one whose hash moved on is skipped (hashchange asked anew).
  const hash = location.hash;
  routing = routing.then(async () => {
    if (location.hash !== hash) return;
    const node = await screen(hash);
    if (!node) return;
    const dark = node.classList.contains("timing");
    document.body.classList.toggle("dark", dark);
    const focused = document.activeElement;
    const keepFocus = focused && view.contains(focused) && focused.id && node.querySelector(`#${CSS.escape(focused.id)}`);
    view.replaceChildren(node);
    const heading = node.querySelector("h1");
    document.title = `${heading ? heading.textContent : ""} · Visitscore`;
    // A link to one question (#/visit/<id>/section/<n>/<question>) opens the section
    // there; any other new screen opens at its top (a redraw of the same one stays put).
    const [, , , , questionKey] = hash.replace(/^#?\/?/, "").split("/");
    const question = questionKey ? node.querySelector(`#q-${CSS.escape(questionKey)}`) : null;
    if (question) {
      question.scrollIntoView({ block: "start" });
      const first = question.querySelector("input, select, textarea, button");
      (first || question).focus({ preventScroll: true });
    } else if (keepFocus) node.querySelector(`#${CSS.escape(focused.id)}`).focus();
    else if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
    if (!question && hash !== shownHash) window.scrollTo(0, 0);
    shownHash = hash;
  }).catch((error) => console.error("visitscore: screen failed", error));
  return routing;
}

// --- app updates (service worker) ------------------------------------------------------------

function offerUpdate(worker) {
  toast(t("Update ready."), {
    label: t("Update now"),
    run: async () => {
      toast(t("Updating…"));
      await db.idle(); // never reload in the middle of saving
      updating = true;
      worker.postMessage({ type: "skip-waiting" });
    },
  });
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    registration = await navigator.serviceWorker.register("/service-worker.js", { type: "module", scope: "/" });
  } catch (error) {
    console.warn("visitscore: no offline support in this browser", error);
    return;
  }
  if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker.addEventListener("statechange", () => {
      if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
    });
  });
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", async () => {
    // The first service worker taking control is not an update: no reload then.
    if (!updating || reloading) return;
    reloading = true;
    await db.idle();
    location.reload();
  });
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "sync") sync();
  });
}

// --- start ---------------------------------------------------------------------------------

async function start() {
  // The strings and the session check go out together, and the login form is drawn
  // without waiting for the session: two round trips after the modules, not four.
  const language = loadLanguage();
  user = await db.kvGet("user");
  await adoptUnowned(user); // work kept by an app from before items had owners
  // A logout that could not reach the server is finished first; until it is, the
  // session it left is not adopted.
  if (!user && navigator.onLine && (await db.kvGet("logout_pending"))) {
    const ended = await call("DELETE", "/api/v1/session");
    if (["ok", "auth", "client"].includes(ended.kind)) await db.kvSet("logout_pending", false);
  }
  const session = !user && navigator.onLine && !(await db.kvGet("logout_pending"))
    ? call("GET", "/api/v1/session") : null;
  await language;
  // Logged in on the website already? The same session works here.
  const adopted = session && session.then(async (answer) => {
    if (user || answer.kind !== "ok" || answer.data.user.role !== "shopper") return;
    user = answer.data.user;
    await db.kvSet("user", user);
    if (!location.hash.startsWith("#/login")) await route();
    await refreshAssignments();
    if (showsSyncState()) await route();
    sync();
  });
  window.addEventListener("hashchange", route);
  // Back in signal: send at once, whatever backoff the failures while offline set.
  window.addEventListener("online", () => { updateStatus(); refreshAssignments().then(() => sync({ force: true })); });
  window.addEventListener("offline", updateStatus);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      sync();
      if (registration) registration.update().catch(() => {});
    }
  });
  await route();
  updateStatus();
  registerServiceWorker();
  if (user && navigator.onLine) {
    const before = JSON.stringify(await db.kvGet("assignments"));
    await refreshAssignments();
    if (before !== JSON.stringify(await db.kvGet("assignments")) && showsSyncState()) route();
  }
  sync();
  if (adopted) await adopted;
  document.documentElement.dataset.ready = lang();
}

start();
