// Recording a visit: discreet timing, the questionnaire section by section, review.
// Every change is written to IndexedDB at once; nothing waits for a "save" button.

import * as db from "./db.js";
import { lang, t } from "./i18n.js";
import { shrinkPhoto } from "./photos.js";
import { duration, h, isoLocal, localized, secondsBetween } from "./util.js";

import { brokenRules, sectionAsked, visible } from "./conditions.js";
import { isNever, isRequired, problems as timingProblems, usedStamps } from "./timing.js";

export { isRequired };
const STAMP_LABELS = () => ({
  entered: t("Entered"), greeted: t("Greeted"), joined_queue: t("Joined queue"),
  served: t("Served"), paid: t("Paid"), left: t("Left"),
});

export const questionsOf = (definition) => definition.sections.flatMap((s) => s.questions);

// The assignment's scenario (a key the questionnaire declares), which conditions may test.
const scenarioOf = (draft) => draft.scenario_key ?? null;

/** The keys of the questions this visit asks with its answers so far. */
const askedNow = (draft, definition) => visible(definition, draft.answers, scenarioOf(draft));

/** Stamp problems in words, each with where to fix it. */
function timingIssues(draft, definition) {
  const labels = STAMP_LABELS();
  const sectionOf = (key) => definition.sections.findIndex((s) => s.questions.some((q) => q.key === key));
  return timingProblems(draft.stamps, draft.answers, definition, scenarioOf(draft)).map((p) => {
    if (p.code === "out_of_order") {
      const what = labels[p.path.slice("stamps.".length)];
      return { href: `#/visit/${draft.visit_id}`, key: p.path,
               text: t("%(what)s is before %(other)s: correct the times.", { what, other: labels[p.before] }) };
    }
    const key = p.path.slice("answers.".length);
    return { href: `#/visit/${draft.visit_id}/section/${sectionOf(key)}/${key}`, key,
             text: t("%(what)s is not stamped: stamp it, or say it never happened.", { what: labels[p.stamp] }) };
  });
}

/** What must still be done before submitting: [{href, key, text}]. */
export function missing(draft, definition) {
  const out = [];
  const asked = askedNow(draft, definition);
  definition.sections.forEach((section, index) => {
    for (const q of section.questions) {
      if (!isRequired(q) || !asked.has(q.key) || q.type === "timed") continue; // timed: below
      const answer = draft.answers[q.key];
      const done = q.type === "photo"
        ? draft.photos.some((p) => p.question === q.key)
        : answer && (answer.na || answer.value !== undefined);
      if (!done) {
        out.push({ href: `#/visit/${draft.visit_id}/section/${index}/${q.key}`, key: q.key,
                   text: localized(q.text, lang()) });
      }
    }
  });
  for (const { key, message } of brokenRules(definition, draft.answers, scenarioOf(draft))) {
    const index = definition.sections.findIndex((s) => s.questions.some((q) => q.key === key));
    out.push({ href: `#/visit/${draft.visit_id}/section/${index}/${key}`, key, text: localized(message, lang()) });
  }
  return [...timingIssues(draft, definition), ...out];
}

/** The answers a reviewer pointed at when returning the visit: [{key, index, text}]. */
function pointedAt(draft, definition) {
  return (draft.review_questions || []).flatMap((key) => {
    const index = definition.sections.findIndex((s) => s.questions.some((q) => q.key === key));
    if (index < 0) return [];
    const q = definition.sections[index].questions.find((question) => question.key === key);
    return [{ key, index, text: localized(q.text, lang()), note: answerNote(draft, key) }];
  });
}

/** The reviewer's note on one answer ("" when none). */
const answerNote = (draft, key) => (draft.review_answer_notes || {})[key] || "";

/** What the app says on an answer the reviewer pointed at (with their note on it). */
function pointedNote(draft, key) {
  const note = answerNote(draft, key);
  return h("p", { class: "pointed-note" }, t("The reviewer asks about this answer."),
    note ? [" ", h("strong", {}, note)] : null);
}

/** Where a returned visit opens: the first answer the reviewer pointed at, else the review. */
export function reopenScreen(draft, definition) {
  const [first] = pointedAt(draft, definition);
  return first ? `#/visit/${draft.visit_id}/section/${first.index}/${first.key}` : `#/visit/${draft.visit_id}/review`;
}

/** The reviewer's note, and the answers it points at as links. */
function reviewerNote(draft, definition) {
  if (!draft.review_note) return null;
  const pointed = pointedAt(draft, definition);
  return h("div", { class: "notice", role: "note" },
    h("p", {}, h("strong", {}, t("The reviewer's note:")), " ", draft.review_note),
    pointed.length ? [h("p", {}, t("The reviewer asks about these answers:")),
      h("ul", { class: "pointed-list" }, pointed.map((p) =>
        h("li", {}, h("a", { href: `#/visit/${draft.visit_id}/section/${p.index}/${p.key}` }, p.text),
          p.note ? [": ", p.note] : null)))] : null);
}

/** Where a visit starts: the timing screen, or the first section when nothing is timed. */
export const firstScreen = (draft, definition) =>
  usedStamps(definition).length ? `#/visit/${draft.visit_id}` : `#/visit/${draft.visit_id}/section/0`;

// One draft object per visit, shared by every drawing of its screens: a drawing that read
// the store before the last answer would show it unanswered, then save it away.
const live = new Map();

/** Forget the drafts held in memory (at login: owners may have changed). */
export const forgetLoaded = () => live.clear();

export async function loadVisit(visitId) {
  const stored = await db.get("drafts", visitId);
  const held = live.get(visitId);
  if (!stored) {
    live.delete(visitId);
    return null;
  }
  // Kept while it is the same revision and at least as new as the stored one.
  const draft = held && held.revision === stored.revision && held.created === stored.created &&
    held.updated >= stored.updated ? held : stored;
  live.set(visitId, draft);
  const definition = await db.kvGet(`q:${draft.questionnaire.id}@${draft.questionnaire.version}`);
  return { draft, definition };
}

/** Save unless the draft has left (submitted in another tab, a newer revision): a screen
 * left open must not bring it back. Then the screen is drawn again, saying so. */
async function save(draft) {
  draft.updated = Date.now();
  const kept = await db.update("drafts", draft.visit_id, (stored) =>
    (stored && stored.revision === draft.revision ? draft : undefined));
  if (kept !== draft) window.dispatchEvent(new HashChangeEvent("hashchange"));
  return kept === draft;
}

function setAnswer(draft, key, change) {
  const next = { ...(draft.answers[key] || {}), ...change };
  for (const name of Object.keys(next)) if (next[name] === undefined) delete next[name];
  if (Object.keys(next).length === 0) delete draft.answers[key];
  else draft.answers[key] = next;
  return save(draft);
}

function visitHeader(draft, definition, active) {
  const link = (href, label, name) =>
    h("a", { href, class: "tab", "aria-current": active === name ? "page" : null }, label);
  const scenario = (definition.scenarios || []).find((sc) => sc.key === scenarioOf(draft));
  return h("header", { class: "visit-head" },
    h("p", { class: "muted" }, draft.branch_name),
    scenario ? h("p", { class: "scenario" }, t("Scenario:"), " ", localized(scenario.text, lang())) : null,
    h("nav", { "aria-label": t("Visit steps") },
      usedStamps(definition).length ? link(`#/visit/${draft.visit_id}`, t("Timing"), "timing") : null,
      link(`#/visit/${draft.visit_id}/section/0`, t("Questions"), "questions"),
      link(`#/visit/${draft.visit_id}/review`, t("Review"), "review")));
}

// --- timing ------------------------------------------------------------------------

function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString(lang(), { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

function withTime(base, hhmmss) {
  // Keep the date and UTC offset of the visit, change the wall-clock time.
  const match = /^(\d{4}-\d{2}-\d{2})T[\d:]+(.*)$/.exec(base);
  return match ? `${match[1]}T${hhmmss.length === 5 ? `${hhmmss}:00` : hhmmss}${match[2]}` : base;
}

/** The phone's position when the shopper enters, with its accuracy, kept in the draft
 * and sent with the visit; refused or unknown, the visit goes without it and the
 * reviewer sees "no location". Never shown to owners or managers. */
export function locate(draft) {
  const keep = (geo, status) => {
    draft.geo = geo || undefined;
    draft.geo_status = status;
    return db.update("drafts", draft.visit_id, (stored) =>
      (stored ? { ...stored, geo: draft.geo, geo_status: status } : undefined));
  };
  if (!navigator.geolocation) return keep(null, "unavailable");
  return new Promise((resolve) => navigator.geolocation.getCurrentPosition(
    (position) => resolve(keep({
      lat: position.coords.latitude, lon: position.coords.longitude,
      accuracy_m: Math.round(Math.min(position.coords.accuracy, 1e7)),
    }, "ok")),
    (error) => resolve(keep(null, error.code === 1 ? "refused" : "unavailable")),
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }));
}

export function renderTiming({ draft, definition }) {
  const labels = STAMP_LABELS();
  const STAMPS = usedStamps(definition);
  if (!STAMPS.length) return null; // nothing is timed: the visit starts at the questions
  const status = h("p", { class: "stamp-status", role: "status", "aria-live": "polite" });
  const flags = h("div", { class: "flags", role: "alert" });
  function refreshFlags() {
    const found = timingIssues(draft, definition).filter((issue) => issue.key.startsWith("stamps."));
    flags.replaceChildren(...found.map((issue) => h("p", { class: "warn" }, issue.text)));
  }
  const buttons = STAMPS.map((name) => {
    const button = h("button", {
      class: "stamp", type: "button", "aria-pressed": draft.stamps[name] ? "true" : "false",
      onclick: async () => {
        if (draft.stamps[name]) {
          status.textContent = t("%(what)s was already stamped at %(time)s; correct it below.",
                                 { what: labels[name], time: clock(draft.stamps[name]) });
          return;
        }
        draft.stamps[name] = isoLocal();
        await save(draft);
        button.setAttribute("aria-pressed", "true");
        button.querySelector(".when").textContent = clock(draft.stamps[name]);
        status.textContent = t("%(what)s stamped.", { what: labels[name] });
        refreshCorrections();
        refreshFlags();
        if (name === "entered") locate(draft);
      },
    }, h("span", { class: "label" }, labels[name]), h("span", { class: "when" }, clock(draft.stamps[name])));
    return button;
  });
  const corrections = h("div", { class: "corrections" });
  function refreshCorrections() {
    corrections.replaceChildren(...STAMPS.filter((name) => draft.stamps[name]).map((name) => {
      const id = `fix-${name}`;
      const value = draft.stamps[name].slice(11, 19);
      return h("div", { class: "row" },
        h("label", { for: id }, labels[name]),
        h("input", { id, type: "time", step: "1", value, onchange: async (event) => {
          if (!event.target.value) return;
          draft.stamps[name] = withTime(draft.stamps[name], event.target.value);
          await save(draft);
          buttons[STAMPS.indexOf(name)].querySelector(".when").textContent = clock(draft.stamps[name]);
          refreshFlags();
        } }),
        h("button", { type: "button", class: "secondary", onclick: async () => {
          delete draft.stamps[name];
          await save(draft);
          buttons[STAMPS.indexOf(name)].setAttribute("aria-pressed", "false");
          buttons[STAMPS.indexOf(name)].querySelector(".when").textContent = "";
          refreshCorrections();
          refreshFlags();
        } }, t("Remove %(what)s", { what: labels[name] })));
    }));
  }
  refreshCorrections();
  refreshFlags();
  return h("section", { class: "timing" },
    visitHeader(draft, definition, "timing"),
    h("h1", {}, t("Timing")),
    h("p", { class: "muted" }, t("Tap each moment as it happens. Nothing on screen counts time.")),
    h("div", { class: "stamps" }, buttons),
    status,
    flags,
    h("details", {}, h("summary", {}, t("Correct the times")), corrections),
    h("p", {}, h("a", { class: "button primary", href: `#/visit/${draft.visit_id}/section/0` },
                t("Go to the questions"))));
}

// --- questions ---------------------------------------------------------------------

function radios(name, legend, options, current, onpick) {
  return h("fieldset", { class: "choices" }, h("legend", {}, legend),
    options.map(([value, label]) => {
      const id = `${name}-${String(value).replace(/\W/g, "_")}`;
      return h("span", { class: "choice" },
        h("input", { type: "radio", id, name, checked: current === value,
                     onchange: () => onpick(value) }),
        h("label", { for: id }, label));
    }));
}

const NA = "__na__";

function answerControl(q, draft) {
  const answer = draft.answers[q.key] || {};
  const current = answer.na ? NA : answer.value;
  const pick = (value) => setAnswer(draft, q.key, value === NA ? { na: true, value: undefined }
                                                            : { value, na: undefined });
  const naOption = q.na ? [[NA, t("N/A")]] : [];
  const title = localized(q.text, lang()) + (isRequired(q) ? " *" : "");
  if (q.type === "yes_no") {
    return radios(q.key, title, [[true, t("Yes")], [false, t("No")], ...naOption], current, pick);
  }
  if (q.type === "scale") {
    const steps = [];
    for (let v = q.min; v <= q.max; v += 1) steps.push([v, String(v)]);
    return radios(q.key, title, [...steps, ...naOption], current, pick);
  }
  if (q.type === "choice") {
    return radios(q.key, title, [...q.options.map((o) => [o.key, localized(o.text, lang())]), ...naOption],
                  current, pick);
  }
  if (q.type === "multi_choice") return multiChoice(q, draft, title);
  if (q.type === "count_pair") return countPair(q, draft, title);
  if (q.type === "timed") {
    const seconds = secondsBetween(draft.stamps[q.from], draft.stamps[q.to]);
    const labels = STAMP_LABELS();
    const USE = "__stamps__";
    const NEVER = "__never__";
    const choice = isNever(answer) ? NEVER : answer.na ? NA : USE;
    const measured = seconds === null
      ? t("Not measured: stamp both moments on the timing screen.")
      : t("Measured from your stamps: %(time)s", { time: duration(seconds) });
    const options = [[USE, t("Use the stamps")],
                     [NEVER, t("%(what)s: never happened", { what: labels[q.to] })],
                     ...(q.na ? [[NA, t("N/A")]] : [])];
    return h("fieldset", { class: "choices" }, h("legend", {}, title), h("p", {}, measured),
      radios(`${q.key}-how`, t("How was it?"), options, choice, (v) => setAnswer(draft, q.key, {
        never: v === NEVER ? true : undefined, na: v === NA ? true : undefined })));
  }
  if (q.type === "nps") {
    const steps = [];
    for (let v = 0; v <= 10; v += 1) steps.push([v, String(v)]);
    return radios(q.key, title, [...steps, ...naOption], current, pick);
  }
  if (q.type === "money") {
    return h("div", { class: "field" }, h("label", { for: `m-${q.key}` }, `${title} (${q.currency})`),
      h("input", { id: `m-${q.key}`, type: "number", inputmode: "decimal", min: "0", step: "0.01",
                   value: answer.value ?? "",
                   oninput: (e) => setAnswer(draft, q.key, { value: e.target.value === "" ? undefined : Number(e.target.value) }) }));
  }
  if (q.type === "number") {
    return h("div", { class: "field" }, h("label", { for: `n-${q.key}` }, title),
      h("input", { id: `n-${q.key}`, type: "number", inputmode: "numeric", min: "0",
                   value: answer.value ?? "",
                   oninput: (e) => setAnswer(draft, q.key, { value: e.target.value === "" ? undefined : Number(e.target.value) }) }));
  }
  if (q.type === "text") {
    return h("div", { class: "field" }, h("label", { for: `t-${q.key}` }, title),
      h("textarea", { id: `t-${q.key}`, rows: 3, value: answer.value ?? "",
                      oninput: (e) => setAnswer(draft, q.key, { value: e.target.value || undefined }) }));
  }
  return h("p", { class: "question-title" }, title);
}

function multiChoice(q, draft, title) {
  const answer = draft.answers[q.key] || {};
  const chosen = new Set(answer.value || []);
  const boxes = [];
  const store = () => {
    const value = q.options.map((o) => o.key).filter((k, i) => boxes[i].checked);
    setAnswer(draft, q.key, { value, na: undefined });
    if (na) na.checked = false;
  };
  const options = q.options.map((o, i) => {
    const id = `${q.key}-${o.key}`;
    boxes[i] = h("input", { id, type: "checkbox", checked: chosen.has(o.key), onchange: store });
    return h("div", { class: "choice" }, boxes[i], h("label", { for: id }, localized(o.text, lang())));
  });
  const na = q.na ? h("input", { id: `${q.key}-na`, type: "checkbox", checked: Boolean(answer.na),
    onchange: (e) => {
      if (e.target.checked) boxes.forEach((b) => { b.checked = false; });
      setAnswer(draft, q.key, e.target.checked ? { na: true, value: undefined } : { na: undefined, value: [] });
    } }) : null;
  return h("fieldset", { class: "choices" }, h("legend", {}, title), options,
    na ? h("div", { class: "choice" }, na, h("label", { for: `${q.key}-na` }, t("N/A"))) : null,
    answer.value === undefined && !answer.na
      ? h("button", { type: "button", class: "secondary", onclick: (e) => {
          setAnswer(draft, q.key, { value: [] });
          e.target.hidden = true;
        } }, t("None of these")) : null);
}

function countPair(q, draft, title) {
  const value = (draft.answers[q.key] || {}).value || {};
  const stepper = (part, label) => {
    const id = `${q.key}-${part}`;
    const input = h("input", { id, type: "number", inputmode: "numeric", min: "0", max: "1000",
                               value: value[part] ?? "", oninput: () => store() });
    const bump = (delta) => {
      input.value = String(Math.max(0, (Number(input.value) || 0) + delta));
      store();
    };
    return h("div", { class: "stepper" }, h("label", { for: id }, label),
      h("button", { type: "button", "aria-label": t("%(what)s: one less", { what: label }), onclick: () => bump(-1) }, "−"),
      input,
      h("button", { type: "button", "aria-label": t("%(what)s: one more", { what: label }), onclick: () => bump(1) }, "+"));
  };
  const open = stepper("open", t("Open"));
  const total = stepper("total", t("Total"));
  const warn = h("p", { class: "warn", role: "status" });
  const inputs = () => [...open.querySelectorAll("input, button"), ...total.querySelectorAll("input, button")];
  let na = null;
  if (q.na) {
    const id = `${q.key}-na`;
    const isNa = Boolean((draft.answers[q.key] || {}).na);
    na = h("span", { class: "choice" },
      h("input", { id, type: "checkbox", checked: isNa, onchange: async (event) => {
        inputs().forEach((el) => { el.disabled = event.target.checked; });
        if (event.target.checked) await setAnswer(draft, q.key, { na: true, value: undefined });
        else await setAnswer(draft, q.key, { na: undefined });
      } }),
      h("label", { for: id }, t("N/A")));
    if (isNa) queueMicrotask(() => inputs().forEach((el) => { el.disabled = true; }));
  }
  function store() {
    const a = open.querySelector("input").value;
    const b = total.querySelector("input").value;
    if (a === "" || b === "") return setAnswer(draft, q.key, { value: undefined });
    const pair = { open: Number(a), total: Number(b) };
    const ok = pair.total >= 1 && pair.open <= pair.total;
    warn.textContent = ok ? "" : t("Open cannot be more than the total, and the total is at least 1.");
    return setAnswer(draft, q.key, { value: ok ? pair : undefined });
  }
  return h("fieldset", { class: "choices pair" }, h("legend", {}, title), open, total, na, warn);
}

function photoControl(q, draft) {
  const list = h("ul", { class: "photos" });
  const status = h("p", { role: "status", "aria-live": "polite" });
  async function show() {
    const mine = draft.photos.filter((p) => p.question === q.key);
    const items = [];
    for (const photo of mine) {
      const record = await db.get("photos", photo.photo_id);
      const blob = db.photoBlob(record);
      items.push(h("li", {},
        blob ? h("img", { src: URL.createObjectURL(blob), alt: t("Photo for: %(q)s", { q: localized(q.text, lang()) }) })
             : h("span", {}, t("Sent to the server")),
        h("button", { type: "button", class: "secondary", onclick: async () => {
          draft.photos = draft.photos.filter((p) => p.photo_id !== photo.photo_id);
          if (!(await save(draft))) return; // submitted meanwhile: the outbox needs the photo
          if (record && !photo.uploaded) await db.del("photos", photo.photo_id);
          show();
        } }, t("Remove photo"))));
    }
    list.replaceChildren(...items);
  }
  const id = `photo-${q.key}`;
  const input = h("input", { id, type: "file", accept: "image/*", capture: "environment", multiple: true,
    onchange: async (event) => {
      for (const file of event.target.files) {
        status.textContent = t("Saving photo…");
        try {
          const { blob, captured_at } = await shrinkPhoto(file);
          const photoId = crypto.randomUUID();
          const record = await db.savePhoto({ photo_id: photoId, visit_id: draft.visit_id, question: q.key }, blob);
          draft.photos.push({ photo_id: photoId, question: q.key, sha256: record.sha256, bytes: record.bytes,
                              content_type: record.content_type, captured_at });
          if (!(await save(draft))) return db.del("photos", photoId);
          status.textContent = t("Photo saved on this phone.");
        } catch (error) {
          status.textContent = t("This photo could not be saved: %(why)s", { why: error.message });
        }
      }
      event.target.value = "";
      show();
    } });
  show();
  return h("div", { class: "field" },
    h("label", { for: id, class: "button secondary" }, t("Take or choose a photo")), input, status, list);
}

function questionBlock(q, draft) {
  const pointed = (draft.review_questions || []).includes(q.key);
  const wrap = h("div", { class: pointed ? "question pointed" : "question", id: `q-${q.key}` });
  const parts = [answerControl(q, draft)];
  if (pointed) parts.unshift(pointedNote(draft, q.key));
  if (q.help) parts.push(h("p", { class: "help" }, localized(q.help, lang())));
  if (q.type === "photo") parts.push(photoControl(q, draft));
  if (q.type !== "text") {
    const id = `c-${q.key}`;
    parts.push(h("details", { class: "comment", open: Boolean((draft.answers[q.key] || {}).comment) },
      h("summary", {}, t("Comment")),
      h("label", { for: id, class: "visually-hidden" }, t("Comment")),
      h("textarea", { id, rows: 2, value: (draft.answers[q.key] || {}).comment || "",
                      oninput: (e) => setAnswer(draft, q.key, { comment: e.target.value || undefined }) })));
  }
  wrap.append(...parts);
  return wrap;
}

export function renderSection({ draft, definition }, index) {
  const sections = definition.sections;
  const section = sections[index];
  if (!section) return null;
  // Sections this visit asks, with its answers so far (a later one may appear or go as
  // earlier answers change; this one stays while it is open).
  const asked = askedNow(draft, definition);
  const shownSections = sections.map((s, i) => i).filter((i) => i === index || sectionAsked(sections[i], asked));
  const at = shownSections.indexOf(index);
  const before = shownSections[at - 1];
  const after = shownSections[at + 1];
  const prev = before !== undefined ? `#/visit/${draft.visit_id}/section/${before}` : `#/visit/${draft.visit_id}`;
  const next = after !== undefined ? `#/visit/${draft.visit_id}/section/${after}` : `#/visit/${draft.visit_id}/review`;
  const blocks = section.questions.map((q) => {
    const block = questionBlock(q, draft);
    block.hidden = !asked.has(q.key);
    return block;
  });
  // A question appears or goes as soon as an answer it depends on changes.
  // An answer that breaks its question's rule says so under the question.
  const notes = section.questions.map((q, i) => {
    const note = h("p", { class: "rule-error", id: `rule-${q.key}`, role: "alert", hidden: true });
    blocks[i].append(note);
    return note;
  });
  const refresh = () => {
    const now = askedNow(draft, definition);
    const broken = new Map(brokenRules(definition, draft.answers, scenarioOf(draft)).map((b) => [b.key, b.message]));
    section.questions.forEach((q, i) => {
      blocks[i].hidden = !now.has(q.key);
      notes[i].hidden = !broken.has(q.key);
      notes[i].textContent = broken.has(q.key) ? localized(broken.get(q.key), lang()) : "";
    });
  };
  refresh();
  return h("section", { oninput: refresh, onchange: refresh },
    visitHeader(draft, definition, "questions"),
    h("p", { class: "muted" }, t("Section %(n)s of %(total)s", { n: at + 1, total: shownSections.length })),
    h("h1", {}, localized(section.title, lang())),
    section.help ? h("p", { class: "help" }, localized(section.help, lang())) : null,
    h("p", { class: "muted" }, t("* required")),
    blocks,
    h("nav", { class: "pager", "aria-label": t("Sections") },
      h("a", { class: "button secondary", href: prev }, t("Back")),
      h("a", { class: "button primary", href: next }, after !== undefined ? t("Next section") : t("Review"))));
}

// --- review and submit ---------------------------------------------------------------

export function buildBody(draft) {
  const body = {
    assignment_id: draft.assignment_id, questionnaire: draft.questionnaire, revision: draft.revision,
    started_at: draft.started_at, ended_at: draft.ended_at || draft.stamps.left || isoLocal(),
    stamps: draft.stamps, answers: draft.answers, comment: draft.comment || "",
    photos: draft.photos.map(({ photo_id, question, sha256, bytes, content_type, captured_at }) =>
      ({ photo_id, question, sha256, bytes, content_type, ...(captured_at ? { captured_at } : {}) })),
  };
  if (Date.parse(body.ended_at) < Date.parse(body.started_at)) body.ended_at = body.started_at;
  if (draft.geo) body.geo = draft.geo;
  return body;
}

function timedFacts(draft, definition) {
  const labels = STAMP_LABELS();
  const asked = askedNow(draft, definition);
  return questionsOf(definition).filter((q) => q.type === "timed" && asked.has(q.key)).flatMap((q) => {
    const answer = draft.answers[q.key] || {};
    const seconds = secondsBetween(draft.stamps[q.from], draft.stamps[q.to]);
    const limit = Math.max(...(q.thresholds || []).map((th) => Number(th.max_seconds)));
    let shown;
    if (isNever(answer)) shown = t("%(what)s: never happened", { what: labels[q.to] });
    else if (answer.na) shown = t("N/A");
    else shown = duration(seconds);
    return [h("dt", {}, localized(q.text, lang())),
            h("dd", {}, shown, seconds !== null && !isNever(answer) && seconds > limit
              ? h("span", { class: "flag" }, " ", t("over %(time)s", { time: duration(limit) })) : null)];
  });
}

/** An answer in words as the shopper gave it, or null when there is none yet. Timed
 * questions are shown with the timing, photo questions by their photos. */
export function answerText(q, answer) {
  if (!answer) return null;
  if (answer.na) return t("N/A");
  const v = answer.value;
  if (v === undefined || v === null) return null;
  const number = (n, options = {}) => {
    try {
      return new Intl.NumberFormat(lang(), options).format(n);
    } catch {
      return String(n); // a currency code the browser does not know
    }
  };
  const option = (key) => localized((q.options || []).find((o) => o.key === key)?.text, lang()) || String(key);
  switch (q.type) {
    case "yes_no": return v ? t("Yes") : t("No");
    case "scale": return t("%(value)s on a scale of %(min)s to %(max)s", { value: v, min: q.min, max: q.max });
    case "nps": return t("%(value)s out of 10", { value: v });
    case "choice": return option(v);
    case "multi_choice": return v.length ? v.map(option).join(", ") : t("None of these");
    case "count_pair": return t("%(open)s of %(total)s open", { open: v.open, total: v.total });
    case "money": return number(v, { style: "currency", currency: q.currency });
    case "number": return number(v);
    default: return String(v);
  }
}

/** Where the phone was when the shopper entered, as the reviewer will see it. */
function locationLine(draft) {
  if (draft.geo) return t("Location recorded (accurate to about %(m)s m).", { m: draft.geo.accuracy_m });
  if (draft.geo_status === "refused") return t("No location: this phone refused to give it. The reviewer sees that the visit has none.");
  if (draft.geo_status === "unavailable") return t("No location: this phone could not tell where it was. The reviewer sees that the visit has none.");
  return t("No location: it is recorded when you stamp Entered.");
}

/** Every stamp with its time, as recorded on the timing screen. */
function stampLines(draft, definition) {
  const labels = STAMP_LABELS();
  return usedStamps(definition).flatMap((name) => [
    h("dt", {}, labels[name]),
    h("dd", {}, draft.stamps[name] ? clock(draft.stamps[name]) : h("span", { class: "muted" }, t("Not stamped")))]);
}

/** The whole visit as it will be sent, section by section, each item with a way back. */
function wholeVisit(draft, definition) {
  const asked = askedNow(draft, definition);
  const urls = [];
  const thumbs = async (list, q) => {
    for (const photo of draft.photos.filter((p) => p.question === q.key)) {
      const blob = db.photoBlob(await db.get("photos", photo.photo_id));
      if (blob) {
        const url = URL.createObjectURL(blob);
        urls.push(url);
        list.append(h("li", {}, h("img", { src: url, alt: t("Photo for: %(q)s", { q: localized(q.text, lang()) }) })));
      } else {
        list.append(h("li", { class: "muted" }, t("Sent to the server")));
      }
    }
  };
  const sections = definition.sections.map((section, index) => {
    const questions = section.questions.filter((q) => asked.has(q.key));
    if (!questions.length) return null;
    return h("section", { class: "review-section", "aria-labelledby": `rs-${index}` },
      h("h3", { id: `rs-${index}` }, localized(section.title, lang())),
      h("dl", { class: "review-answers" }, questions.flatMap((q) => {
        const answer = draft.answers[q.key];
        const title = localized(q.text, lang());
        let shown;
        if (q.type === "timed") {
          const seconds = secondsBetween(draft.stamps[q.from], draft.stamps[q.to]);
          shown = isNever(answer) ? t("%(what)s: never happened", { what: STAMP_LABELS()[q.to] })
            : answer?.na ? t("N/A") : seconds === null ? null : duration(seconds);
        } else if (q.type === "photo") {
          const n = draft.photos.filter((p) => p.question === q.key).length;
          shown = answer?.na ? t("N/A") : n ? t("Photos: %(n)s", { n }) : null;
        } else {
          shown = answerText(q, answer);
        }
        const photos = h("ul", { class: "thumbs" });
        thumbs(photos, q);
        const pointed = (draft.review_questions || []).includes(q.key);
        return [
          h("dt", { class: pointed ? "pointed" : null }, title),
          h("dd", { class: pointed ? "pointed" : null },
            pointed ? pointedNote(draft, q.key) : null,
            shown === null
              ? h("span", { class: isRequired(q) ? "unanswered" : "unanswered optional" }, t("Not answered"))
              : h("span", { class: "answer" }, shown),
            answer?.comment ? h("p", { class: "comment" }, t("Comment:"), " ", answer.comment) : null,
            photos,
            h("a", { class: "change", href: `#/visit/${draft.visit_id}/section/${index}/${q.key}`,
                     "aria-label": t("Change: %(q)s", { q: title }) }, t("Change")))];
      })));
  });
  const timing = usedStamps(definition).length
    ? h("section", { class: "review-section", "aria-labelledby": "rs-timing" },
        h("h3", { id: "rs-timing" }, t("Timing")),
        h("dl", { class: "facts" }, stampLines(draft, definition), timedFacts(draft, definition)),
        h("p", {}, h("a", { class: "change", href: `#/visit/${draft.visit_id}` }, t("Change the times"))))
    : null;
  const whole = h("section", { class: "whole-visit", "aria-labelledby": "whole-h" },
    h("h2", { id: "whole-h" }, t("Your visit")),
    timing,
    h("p", { class: "location" }, locationLine(draft)),
    sections);
  // Thumbnails are object URLs: let them go when the screen is left.
  addEventListener("hashchange", () => urls.forEach((u) => URL.revokeObjectURL(u)), { once: true });
  return whole;
}

export function renderReview({ draft, definition }, { onSubmit }) {
  const todo = missing(draft, definition);
  const submit = h("button", { type: "button", class: "primary", disabled: todo.length > 0,
                               onclick: () => onSubmit(draft) }, t("Submit visit"));
  return h("section", {},
    visitHeader(draft, definition, "review"),
    h("h1", {}, t("Review and submit")),
    reviewerNote(draft, definition),
    todo.length
      ? h("div", { class: "missing", role: "alert" },
          h("h2", {}, t("Still missing")),
          h("ul", {}, todo.map((m) => h("li", {}, h("a", { href: m.href }, m.text)))))
      : h("p", {}, t("Everything required is answered.")),
    wholeVisit(draft, definition),
    h("div", { class: "field" },
      h("label", { for: "visit-comment" }, t("Anything else about this visit")),
      h("textarea", { id: "visit-comment", rows: 4, value: draft.comment || "",
                      oninput: (e) => { draft.comment = e.target.value; save(draft); } })),
    h("p", {}, submit));
}
