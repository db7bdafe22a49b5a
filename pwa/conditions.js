// Which questions and sections a visit asks (show_if), and which answers break their
// question's rule, decided as the server decides them (server/conditions.py); both run
// the cases in tests/cases/visibility.json.

const answered = (answer) => Boolean(answer) && answer.value !== undefined && answer.na !== true;

// Equal, with true never equal to 1 (JSON's booleans are not numbers).
const same = (a, b) => a === b;

const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

/** Whether a (published, so checked) condition holds for these answers and scenario. */
export function holds(condition, answers, scenario) {
  if ("all" in condition) return condition.all.every((c) => holds(c, answers, scenario));
  if ("any" in condition) return condition.any.some((c) => holds(c, answers, scenario));
  if ("not" in condition) return !holds(condition.not, answers, scenario);
  if ("scenario" in condition) return scenario != null && scenario === condition.scenario;
  const answer = answers[condition.question];
  if ("answered" in condition) return answered(answer) === condition.answered;
  if (!answered(answer)) return false;
  const value = answer.value;
  if ("equals" in condition) return same(value, condition.equals);
  if ("in" in condition) return condition.in.some((v) => same(value, v));
  if (!isNumber(value)) return false;
  if ("at_least" in condition) return value >= condition.at_least;
  return value <= condition.at_most;
}

/** The keys of the questions this visit asks, decided in order: a question not asked
 * counts as unanswered for every condition after it. */
export function visible(definition, answers, scenario = null) {
  const seen = {};
  const shown = new Set();
  for (const section of definition.sections) {
    const sectionShown = !section.show_if || holds(section.show_if, seen, scenario);
    for (const q of section.questions) {
      if (sectionShown && (!q.show_if || holds(q.show_if, seen, scenario))) {
        shown.add(q.key);
        if (q.key in answers) seen[q.key] = answers[q.key];
      }
    }
  }
  return shown;
}

/** Whether a section asks anything on this visit. */
export const sectionAsked = (section, shown) => section.questions.some((q) => shown.has(q.key));

const ruleCondition = (rule) => Object.fromEntries(Object.entries(rule).filter(([k]) => k !== "message"));

/** [{key, message}] for every question the visit asks whose answer breaks its rule
 * (tested once the question has a value, against the answers of the questions asked). */
export function brokenRules(definition, answers, scenario = null) {
  const shown = visible(definition, answers, scenario);
  const kept = Object.fromEntries(Object.entries(answers).filter(([k]) => shown.has(k)));
  const broken = [];
  for (const section of definition.sections) {
    for (const q of section.questions) {
      if (!q.rule || !answered(kept[q.key])) continue;
      if (!holds(ruleCondition(q.rule), kept, scenario)) broken.push({ key: q.key, message: q.rule.message || {} });
    }
  }
  return broken;
}
