// The app's screens outside a visit: log in, home (assignments, drafts, returned
// visits), and the outbox.

import { call } from "./api.js";
import * as db from "./db.js";
import { LANGUAGES, lang, t } from "./i18n.js";
import { mine, othersWork, ownerOf } from "./owner.js";
import { day, daysBetween, h, isoLocal, localized, money, relativeDays, todayIn, uuid, zoneName } from "./util.js";

// --- log in --------------------------------------------------------------------------

/** Other shoppers' unsent work on this phone, said plainly: it is kept and sent by them. */
function othersLine(waiting) {
  if (!waiting.length) return null;
  return h("p", { class: "notice", role: "note", id: "others-work" },
    waiting.map(({ name, count }) => t("This phone keeps unsent visits of %(name)s (%(n)s). They stay here, untouched, and are sent when %(name)s logs in again.", { n: count, name })).join(" "));
}

export function renderLogin({ onLoggedIn, resume, waiting = [] }) {
  const error = h("p", { class: "error", role: "alert", id: "login-error" });
  const email = h("input", { id: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const button = h("button", { type: "submit", class: "primary" }, t("Log in"));
  const form = h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    const result = await call("POST", "/api/v1/session", { json: { email: email.value, password: password.value } });
    button.disabled = false;
    if (result.kind === "ok") {
      await onLoggedIn(result.data.user);
    } else if (result.kind === "network" || result.kind === "notjson") {
      error.textContent = t("No connection to the server. Logging in needs the internet; your visits stay on this phone.");
    } else {
      error.textContent = result.message;
    }
  } },
  h("label", { for: "email" }, t("Email")), email,
  h("label", { for: "password" }, t("Password")), password,
  error, button);
  return h("section", { class: "narrow" },
    h("h1", {}, t("Log in")),
    resume ? h("p", { class: "notice", role: "note" },
      t("Your session ended. Log in again to send the visits waiting on this phone; nothing was deleted.")) : null,
    othersLine(waiting),
    form);
}

// --- home ----------------------------------------------------------------------------

async function unsyncedCount(user) {
  const items = mine(await db.all("outbox"), user);
  return items.filter((item) => item.state !== "synced").length;
}

async function storageLine(user) {
  const unsynced = await unsyncedCount(user);
  const persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : false;
  // A warning only while something is at risk: nothing unsent, nothing to lose.
  const atRisk = !persisted && unsynced > 0;
  return h("p", { class: atRisk ? "notice" : "muted", id: "storage-status" },
    persisted ? [t("Storage on this phone is kept safe."), " "] : null,
    atRisk ? [t("This browser may clear its storage when space runs low: send your visits soon."), " "] : null,
    t("Visits not yet sent: %(n)s", { n: unsynced }));
}

/** The branch's address and city, leaving out what is empty (never ", Depok" or ","). */
function addressLine(branch) {
  const text = [branch.address, branch.city].filter((part) => part && part.trim()).join(", ");
  return text ? h("p", {}, text) : null;
}

/** The assignment's scenario in the shopper's language, and the agency's note. */
function scenarioLine(a) {
  const declared = localized(a.scenario_texts || {}, lang());
  if (!declared && !a.scenario) return null;
  return h("p", { class: "scenario" }, t("Scenario:"), " ", declared || a.scenario,
    declared && a.scenario ? h("span", { class: "muted" }, ` (${a.scenario})`) : null);
}

export async function startVisit(assignment, definitionKey, user) {
  const draft = {
    ...ownerOf(user),
    visit_id: uuid(), assignment_id: assignment.id, questionnaire: assignment.questionnaire,
    revision: 1, started_at: isoLocal(), stamps: {}, answers: {}, comment: "", photos: [],
    branch_name: assignment.branch.name, created: Date.now(), updated: Date.now(),
    definition_key: definitionKey, scenario_key: assignment.scenario_key ?? null,
  };
  await db.put("drafts", draft);
  return draft;
}

/** A returned visit becomes a draft again, as the next revision of the same visit. */
export async function reopenReturned(returned, user) {
  const sent = await db.get("outbox", returned.visit_id);
  if (!sent || mine([sent], user).length === 0) return null;
  const body = sent.body;
  const draft = {
    visit_id: returned.visit_id, assignment_id: body.assignment_id, questionnaire: body.questionnaire,
    revision: returned.revision + 1, started_at: body.started_at, ended_at: body.ended_at,
    stamps: { ...body.stamps }, answers: structuredClone(body.answers), comment: body.comment || "",
    photos: (body.photos || []).map((photo) => ({ ...photo, uploaded: true })),
    branch_name: sent.title, created: Date.now(), updated: Date.now(), review_note: returned.review_note,
    review_questions: returned.questions || [], review_answer_notes: returned.answer_notes || {},
    ...ownerOf(user),
    geo: body.geo, scenario_key: sent.scenario_key ?? null,
  };
  await db.put("drafts", draft);
  return draft;
}

/** When and where an assignment's window is: its dates are local to the branch. */
/** What the visit pays: its fee, and a purchase reimbursed up to an amount. */
function payLine(a) {
  const pay = a.pay;
  if (!pay) return null;
  const amount = (minor) => money(minor, pay.currency, pay.minor_digits, lang());
  return h("p", { class: "pay" }, t("Pays %(amount)s", { amount: amount(pay.fee_minor) }),
    pay.reimburse_max_minor ? [" ", t("and your purchase up to %(amount)s, with a photo of the receipt.",
      { amount: amount(pay.reimburse_max_minor) })] : null);
}

function windowLine(a) {
  // Relative to today at the branch: "Starts in 4 days", "Ends tomorrow".
  const today = todayIn(a.branch.timezone);
  const toStart = daysBetween(today, a.window.start);
  const toEnd = daysBetween(today, a.window.end);
  let when;
  if (toStart > 0) when = t("Starts %(when)s", { when: relativeDays(toStart, lang()) });
  else if (toEnd >= 0) when = t("Ends %(when)s", { when: relativeDays(toEnd, lang()) });
  else when = t("Ended %(when)s", { when: relativeDays(toEnd, lang()) });
  return h("p", { class: "muted window" }, h("strong", { class: "when" }, when), " · ",
    t("Visit between %(start)s and %(end)s (%(zone)s)", {
      start: day(a.window.start, lang()), end: day(a.window.end, lang()),
      zone: zoneName(a.branch.timezone, lang()) }));
}

/** A link that opens the branch in the phone's map app (a geo: address, RFC 5870). */
function mapLink(branch) {
  if (branch.latitude == null || branch.longitude == null) return null;
  const at = `${branch.latitude},${branch.longitude}`;
  return h("a", { class: "map-link", href: `geo:${at}?q=${at}(${encodeURIComponent(branch.name)})` },
    t("Open %(branch)s in the map", { branch: branch.name }));
}

/** Whole days until the assignment's window opens at the branch (0 or less: open). */
export const daysUntilOpen = (a) => daysBetween(todayIn(a.branch.timezone), a.window.start);

// Assignments whose "start anyway?" question is open: it stays open across the redraws
// that sync and refreshed assignments make of the home screen.
const askingEarly = new Set();

/** The start button; before the window opens, what the programme says (issue 15):
 * "allow" starts, "warn" says when it opens and asks once more, "refuse" waits. */
function startControl(a, early, onStart) {
  const label = t("Start visit at %(branch)s", { branch: a.branch.name });
  if (daysUntilOpen(a) <= 0 || early === "allow") {
    return h("button", { type: "button", class: "primary", onclick: () => onStart(a) }, label);
  }
  const opens = t("This visit's window opens on %(day)s.", { day: day(a.window.start, lang()) });
  if (early === "refuse") {
    return [h("p", { class: "notice early" }, opens, " ", t("You can start it from that day.")),
            h("button", { type: "button", class: "primary", disabled: true }, label)];
  }
  const place = h("div", { class: "early" });
  const show = (asking) => {
    if (asking) askingEarly.add(a.id);
    else askingEarly.delete(a.id);
    place.replaceChildren(...(asking ? [
      h("p", { class: "notice", role: "alert" }, opens, " ",
        t("A visit made before then may not be accepted. Start it anyway?")),
      h("button", { type: "button", class: "primary", id: `start-anyway-${a.id}`,
                    onclick: () => { askingEarly.delete(a.id); onStart(a); } }, t("Start anyway")),
      h("button", { type: "button", class: "secondary", id: `not-yet-${a.id}`, onclick: () => {
        show(false);
        place.querySelector("button").focus();
      } }, t("Not yet")),
    ] : [
      h("p", { class: "muted early" }, opens),
      h("button", { type: "button", class: "primary", id: `start-${a.id}`, onclick: () => {
        show(true);
        place.querySelector(".primary").focus();
      } }, label),
    ]));
  };
  show(askingEarly.has(a.id));
  return place;
}

/** Where the phone is, only when the shopper already allowed it (this never asks). */
async function hereIfAllowed() {
  try {
    if (!navigator.permissions || !navigator.geolocation) return null;
    if ((await navigator.permissions.query({ name: "geolocation" })).state !== "granted") return null;
    return await new Promise((resolve) => navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }), () => resolve(null),
      { maximumAge: 10 * 60 * 1000, timeout: 3000 }));
  } catch {
    return null;
  }
}

function kmBetween(a, b) {
  const rad = (d) => (d * Math.PI) / 180;
  const s = Math.sin(rad(b.lat - a.lat) / 2) ** 2 +
    Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lon - a.lon) / 2) ** 2;
  return Math.round(2 * 6371 * Math.asin(Math.sqrt(s)) * 10) / 10;
}

/** Visits open to claim, nearest first: from where the phone is when it may say, else
 *  as the server sorted them (from the shopper's home). */
async function nearestFirst(offered) {
  const here = offered.length ? await hereIfAllowed() : null;
  if (!here) return offered;
  const measured = offered.map((a) => a.branch.latitude != null && a.branch.longitude != null
    ? { ...a, distance_km: kmBetween(here, { lat: a.branch.latitude, lon: a.branch.longitude }), from_here: true }
    : { ...a, distance_km: null });
  return measured.sort((a, b) => (a.distance_km ?? Infinity) - (b.distance_km ?? Infinity));
}

export async function renderHome({ user, online, authNeeded, onStart, onReopen, onSync, onLogout, onLanguage, onClaim }) {
  const cached = (await db.kvGet("assignments")) || { assignments: [], returned_visits: [] };
  const drafts = mine(await db.all("drafts"), user).sort((a, b) => b.updated - a.updated);
  const draftAssignments = new Set(drafts.map((d) => d.assignment_id));
  const outbox = mine(await db.all("outbox"), user);
  const sentAssignments = new Set(outbox.map((item) => item.body.assignment_id));
  const open = cached.assignments.filter((a) => !draftAssignments.has(a.id) && !sentAssignments.has(a.id));
  const assigned = new Set(cached.assignments.map((a) => a.id));
  const claimable = await nearestFirst((cached.claimable || []).filter((a) => !assigned.has(a.id)));
  // Each questionnaire's title, from the definitions this phone keeps.
  const titles = {};
  for (const a of open) {
    const key = `${a.questionnaire.id}@${a.questionnaire.version}`;
    const definition = await db.kvGet(`q:${key}`);
    if (definition) titles[key] = localized(definition.title, lang());
  }
  const languageSelect = h("select", { id: "app-lang", onchange: (e) => onLanguage(e.target.value) },
    Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code, selected: code === lang(), lang: code }, name)));
  return h("section", {},
    h("h1", {}, t("Hello, %(name)s", { name: user.name })),
    online ? null : h("p", { class: "notice", role: "note" }, t("You are offline. Everything you record is kept on this phone and sent later.")),
    authNeeded ? h("p", { class: "notice", role: "note" },
      t("Your session ended: visits are kept and sent after you log in again."), " ",
      h("a", { href: "#/login" }, t("Log in"))) : null,
    await storageLine(user),
    othersLine(await othersWork(user)),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: onSync }, t("Sync now")),
      h("a", { class: "button secondary", href: "#/outbox" }, t("Outbox")),
      h("a", { class: "button secondary", href: "#/visits" }, t("Your visits")),
      h("a", { class: "button secondary", href: "#/pay" }, t("Your earnings"))),
    cached.returned_visits.length ? h("section", {},
      h("h2", {}, t("Returned for changes")),
      h("ul", { class: "cards" }, cached.returned_visits.map((r) => h("li", {},
        h("strong", {}, r.branch ? r.branch.name : ""), " ",
        r.local_date ? h("span", { class: "muted" }, day(r.local_date, lang())) : null,
        h("p", {}, h("strong", {}, t("The reviewer's note:")), " ", r.review_note || ""),
        drafts.some((d) => d.visit_id === r.visit_id)
          ? h("a", { class: "button", href: `#/visit/${r.visit_id}/review` }, t("Continue editing"))
          : h("button", { type: "button", onclick: () => onReopen(r) }, t("Edit and send again")))))) : null,
    drafts.length ? h("section", {},
      h("h2", {}, t("Visits in progress")),
      h("ul", { class: "cards" }, drafts.map((d) => h("li", {},
        h("strong", {}, d.branch_name), " ",
        h("span", { class: "muted" }, new Date(d.started_at).toLocaleString(lang())),
        h("a", { class: "button", href: `#/visit/${d.visit_id}` }, t("Continue")))))) : null,
    h("section", {},
      h("h2", {}, t("Your assignments")),
      open.length ? h("ul", { class: "cards" }, open.map((a) => h("li", {},
        h("strong", {}, a.branch.name),
        titles[`${a.questionnaire.id}@${a.questionnaire.version}`]
          ? h("p", { class: "questionnaire" }, titles[`${a.questionnaire.id}@${a.questionnaire.version}`]) : null,
        addressLine(a.branch),
        mapLink(a.branch),
        windowLine(a),
        scenarioLine(a),
        payLine(a),
        startControl(a, cached.early_visits || "warn", onStart))))
        : h("p", {}, t("You have no open assignments."))),
    claimable.length ? h("section", { id: "claimable" },
      h("h2", {}, t("Open for any shopper to claim")),
      online ? null : h("p", { class: "notice", role: "note" }, t("Claiming a visit needs a connection.")),
      h("ul", { class: "cards" }, claimable.map((a) => h("li", {},
        h("strong", {}, a.branch.name),
        addressLine(a.branch),
        windowLine(a),
        scenarioLine(a),
        payLine(a),
        a.distance_km != null ? h("p", { class: "muted distance" }, a.from_here
          ? t("%(km)s km from where you are", { km: a.distance_km.toLocaleString(lang()) })
          : t("%(km)s km from your home", { km: a.distance_km.toLocaleString(lang()) })) : null,
        h("button", { type: "button", disabled: !online, onclick: (event) => onClaim(a, event.target) },
          t("Claim the visit to %(branch)s", { branch: a.branch.name })))))) : null,
    h("footer", { class: "app-foot" },
      h("label", { for: "app-lang" }, t("Language")), languageSelect,
      h("button", { type: "button", class: "secondary", onclick: onLogout }, t("Log out"))));
}

// --- outbox --------------------------------------------------------------------------

/** What became of a visit on the server, in the shopper's words. */
function serverStateText(state) {
  return {
    incomplete: t("Received, photos still coming"),
    submitted: t("Waiting for review"),
    approved: t("Approved"),
    returned: t("Returned to you for changes"),
    rejected: t("Rejected"),
  }[state] || state;
}

function stateText(item) {
  if (item.state === "synced") return t("Sent");
  if (item.state === "attention") return t("Needs attention");
  if (item.state === "uploading") {
    return item.progress ? t("Uploading photo %(n)s of %(total)s", { n: item.progress.photo, total: item.progress.of })
                         : t("Sending…");
  }
  return item.last_error === "offline" || !item.last_error ? t("Waiting to send") : t("Waiting to try again");
}

async function exportOutbox() {
  const items = await db.all("outbox");
  const photos = [];
  for (const item of items) {
    for (const entry of item.body.photos || []) {
      const record = await db.get("photos", entry.photo_id);
      if (!record) continue;
      const bytes = new Uint8Array(await db.photoBlob(record).arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 32768) binary += String.fromCharCode(...bytes.subarray(i, i + 32768));
      photos.push({ photo_id: entry.photo_id, visit_id: item.visit_id, content_type: record.content_type,
                    sha256: record.sha256, data_base64: btoa(binary) });
    }
  }
  const drafts = await db.all("drafts");
  const file = new Blob([JSON.stringify({ format: "visitscore-outbox", version: 1, exported_at: isoLocal(),
                                          visits: items, drafts, photos }, null, 1)],
                        { type: "application/json" });
  const link = h("a", { href: URL.createObjectURL(file), download: `visitscore-outbox-${isoLocal().slice(0, 10)}.json` });
  document.body.append(link);
  link.click();
  link.remove();
}

export async function renderOutbox({ user, onSync, onRetry }) {
  const items = mine(await db.all("outbox"), user).sort((a, b) => b.created - a.created);
  const known = new Map(((await db.kvGet("history"))?.visits || []).map((v) => [v.visit_id, v]));
  return h("section", {},
    h("h1", {}, t("Outbox")),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: onSync }, t("Sync now")),
      h("button", { type: "button", class: "secondary", onclick: exportOutbox }, t("Export to a file")),
      h("a", { class: "button secondary", href: "#/" }, t("Home"))),
    othersLine(await othersWork(user)),
    items.length ? h("ul", { class: "cards", id: "outbox-list" }, items.map((item) => h("li", {
      class: `outbox-item state-${item.state}`, "data-visit": item.visit_id },
      h("strong", {}, item.title || item.visit_id), " ",
      h("span", { class: "muted" }, new Date(item.body.started_at).toLocaleString(lang())),
      item.body.revision > 1 ? h("span", { class: "muted" }, " · ", t("revision %(n)s", { n: item.body.revision })) : null,
      h("p", { class: "sync-state" }, stateText(item)),
      // What became of it since, as the server said at the last sync.
      item.state === "synced" && known.has(item.visit_id)
        ? h("p", { class: "server-state" }, serverStateText(known.get(item.visit_id).state)) : null,
      item.state === "attention" ? h("div", { class: "notice", role: "note" },
        h("p", {}, item.message),
        item.details ? h("ul", {}, item.details.slice(0, 8).map((d) => h("li", {}, `${d.path}: ${d.message}`))) : null,
        h("button", { type: "button", onclick: () => onRetry(item) }, t("Try again"))) : null)))
      : h("p", {}, t("Nothing in the outbox.")));
}

export function localizedTitle(definition) {
  return definition ? localized(definition.title, lang()) : "";
}

// --- the shopper's visits ------------------------------------------------------------

/** Every visit the server has from this shopper, newest first, with what became of it:
 * from the last sync, so it reads the same offline. */
/** The shopper's own visit quality, as the agency sees it. */
function qualityLine(q) {
  if (!q || q.quality == null) return null;
  const n = (x) => x.toLocaleString(lang(), { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  return h("p", { class: "quality", id: "my-quality" },
    h("strong", {}, t("Your visit quality: %(q)s out of 10", { q: n(q.quality) })),
    q.trend && q.trend.recent != null && q.trend.before != null
      ? [" ", t("(last 90 days %(recent)s, the 90 before %(before)s)", { recent: n(q.trend.recent), before: n(q.trend.before) })]
      : null);
}

export async function renderHistory({ online, onSync, onReopen }) {
  const history = await db.kvGet("history");
  const visits = history?.visits || [];
  const returned = new Map((((await db.kvGet("assignments")) || {}).returned_visits || [])
    .map((r) => [r.visit_id, r]));
  const drafts = new Set((await db.all("drafts")).map((d) => d.visit_id));
  const asOf = history ? new Date(history.fetched_at).toLocaleString(lang(), { dateStyle: "medium", timeStyle: "short" }) : null;
  return h("section", {},
    h("h1", {}, t("Your visits")),
    qualityLine(history?.quality),
    h("p", { class: online ? "muted" : "notice", role: online ? null : "note" },
      asOf ? t("As the server said at %(when)s.", { when: asOf }) : t("Not fetched yet: connect once to see your visits."),
      online ? null : [" ", t("You are offline: this is the last list this phone received.")]),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: onSync }, t("Sync now")),
      h("a", { class: "button secondary", href: "#/" }, t("Home"))),
    visits.length ? h("ul", { class: "cards", id: "history" }, visits.map((v) => h("li", {
      class: `history-item state-${v.state}`, "data-visit": v.visit_id },
      h("strong", {}, v.branch.name), " ",
      h("span", { class: "muted" }, v.local_date ? day(v.local_date, lang()) : ""),
      h("p", { class: "visit-state" }, serverStateText(v.state)),
      v.note ? h("p", {}, h("strong", {}, t("The reviewer's note:")), " ", v.note) : null,
      v.reason ? h("p", {}, h("strong", {}, t("Why it was rejected:")), " ", v.reason) : null,
      v.state === "returned" && drafts.has(v.visit_id)
        ? h("a", { class: "button", href: `#/visit/${v.visit_id}/review` }, t("Continue editing"))
        : v.state === "returned" && returned.has(v.visit_id)
          ? h("button", { type: "button", onclick: () => onReopen(returned.get(v.visit_id)) }, t("Edit and send again"))
          : null)))
      : h("p", {}, t("No visits yet.")));
}

// --- earnings --------------------------------------------------------------------------

const PAY_STATES = () => ({
  to_approve: t("being checked"),
  approved: t("approved, to be paid"),
  paid: t("paid"),
});

function payLines(lines, digits) {
  return h("ul", { class: "pay-lines" }, lines.map((l) => h("li", {},
    l.branch || "", " ", l.local_date ? h("span", { class: "muted" }, day(l.local_date, lang())) : null, ": ",
    l.kind === "fee" ? t("visit fee") : t("purchase reimbursed"), " ",
    h("strong", {}, money(l.amount_minor, l.currency, digits[l.currency] ?? 2, lang())))));
}

/** The shopper's earnings: what is earned and not on a statement yet, then each
 *  month's statement (its state, total and lines); readable offline from the last sync. */
export async function renderPay({ online, onSync }) {
  const kept = await db.kvGet("pay");
  const digits = kept?.minor_digits || {};
  const total = (lines) => Object.entries(lines.reduce((sums, l) =>
    ({ ...sums, [l.currency]: (sums[l.currency] || 0) + l.amount_minor }), {}))
    .map(([currency, minor]) => money(minor, currency, digits[currency] ?? 2, lang())).join(" + ");
  const asOf = kept ? new Date(kept.fetched_at).toLocaleString(lang(), { dateStyle: "medium", timeStyle: "short" }) : null;
  const statements = kept?.statements || [];
  const pending = kept?.pending || [];
  return h("section", {},
    h("h1", {}, t("Your earnings")),
    h("p", { class: online ? "muted" : "notice", role: online ? null : "note" },
      asOf ? t("As the server said at %(when)s.", { when: asOf }) : t("Not fetched yet: connect once to see your earnings."),
      online ? null : [" ", t("You are offline: this is the last list this phone received.")]),
    h("p", { class: "actions" },
      h("button", { type: "button", class: "primary", onclick: onSync }, t("Sync now")),
      h("a", { class: "button secondary", href: "#/" }, t("Home"))),
    pending.length ? h("section", { id: "pay-pending" },
      h("h2", {}, t("Earned, not on a statement yet: %(amount)s", { amount: total(pending) })),
      payLines(pending, digits)) : null,
    statements.length ? h("ul", { class: "cards", id: "statements" }, statements.map((s) => h("li", {
      class: `statement state-${s.state}`, "data-month": s.month },
      h("h2", {}, s.month, ": ", money(s.total_minor, s.currency, digits[s.currency] ?? 2, lang())),
      h("p", {}, PAY_STATES()[s.state] || s.state,
        s.state === "paid" && s.paid_on ? [" ", t("on %(day)s, reference %(reference)s",
          { day: day(s.paid_on, lang()), reference: s.reference || "" })] : null),
      payLines(s.lines, digits))))
      : kept ? h("p", {}, t("No statements yet: a statement is made each month from your approved visits.")) : null);
}
