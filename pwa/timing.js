// The shopper's event stamps: which ones a questionnaire uses, the order they must be in,
// and what a timed question needs before the visit can be sent. The server applies the
// same rules (server/timing.py); both run tests/cases/timing.json.

import { visible } from "./conditions.js";

export const STAMPS = ["entered", "greeted", "joined_queue", "served", "paid", "left"];

/** Pairs [earlier, later] that hold for every visit. */
export const FIXED_ORDER = [
  ...STAMPS.filter((s) => s !== "entered").map((s) => ["entered", s]),
  ...STAMPS.filter((s) => s !== "entered" && s !== "left").map((s) => [s, "left"]),
  ["joined_queue", "served"],
  ["served", "paid"],
];

/** Whether a question must be answered: the server resolves it in every definition it sends. */
export const isRequired = (q) => q.required === true;

export const timedQuestions = (definition) =>
  definition.sections.flatMap((s) => s.questions).filter((q) => q.type === "timed");

/** The stamps the timed questions use, in visit order (none: no timing screen). */
export function usedStamps(definition) {
  const used = new Set(timedQuestions(definition).flatMap((q) => [q.from, q.to]));
  return STAMPS.filter((s) => used.has(s));
}

function orderPairs(definition) {
  const pairs = FIXED_ORDER.map((p) => [...p]);
  for (const q of timedQuestions(definition)) {
    if (!pairs.some(([a, b]) => a === q.from && b === q.to)) pairs.push([q.from, q.to]);
  }
  return pairs;
}

const moment = (iso) => (iso ? Date.parse(iso) : NaN);
export const isNever = (answer) => Boolean(answer && answer.never === true);

/** [{path, code, before?, stamp?}]: stamps out of order, required timed questions the
 * visit asks unanswered. */
export function problems(stamps, answers, definition, scenario = null) {
  const asked = visible(definition, answers, scenario);
  const found = [];
  const reported = new Set();
  for (const [earlier, later] of orderPairs(definition)) {
    const a = moment(stamps[earlier]);
    const b = moment(stamps[later]);
    if (Number.isNaN(a) || Number.isNaN(b) || a <= b || reported.has(later)) continue;
    reported.add(later);
    found.push({ path: `stamps.${later}`, code: "out_of_order", before: earlier });
  }
  for (const q of timedQuestions(definition)) {
    const answer = answers[q.key];
    if (!isRequired(q) || !asked.has(q.key) || isNever(answer) || (answer && answer.na === true)) continue;
    const gap = [q.from, q.to].find((end) => Number.isNaN(moment(stamps[end])));
    if (gap) found.push({ path: `answers.${q.key}`, code: "missing_stamp", stamp: gap });
  }
  return found;
}
