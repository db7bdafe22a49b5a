"""Conditions: which questions and sections a visit asks (``show_if``).

A condition is JSON (docs/questionnaire-format.md):

- ``{"question": KEY, "equals": V}``, ``{"question": KEY, "in": [V, …]}``
- ``{"question": KEY, "at_least": N}``, ``{"question": KEY, "at_most": N}``
- ``{"question": KEY, "answered": true}`` (``false``: not answered)
- ``{"scenario": KEY}``: the assignment's scenario is KEY
- ``{"all": [C, …]}``, ``{"any": [C, …]}``, ``{"not": C}``

A question or a section with ``"show_if"`` is asked only when its condition holds. A
condition refers only to questions before the item that carries it. A question that is
not asked is neither required nor scored, and its answer is not kept; a condition on it
sees it unanswered. "Answered" means a value was given: N/A, "never happened" and no
answer are all unanswered.

A question may also carry a ``"rule"``: a condition in the same grammar, over its own
answer and earlier ones, with a ``"message"`` in en/id/fr; an answer that breaks it is
refused (422, at ``answers.KEY``, with the message) and the app says so as the shopper
answers. For example ``{"question": "items", "at_least": 1, "message": {"en": "…"}}``.

The app decides the same way (``pwa/conditions.js``); both run the cases in
``tests/cases/visibility.json``. The server never trusts the phone: it decides again
before checking, storing and scoring a visit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .i18n import _
from .question_types import TYPES, is_number
from .texts import Problem, check_texts

Condition = dict[str, Any]

COMPARISONS = ("equals", "in", "at_least", "at_most", "answered")
NUMERIC = frozenset({"scale", "number", "nps", "money"})
"""Types whose answers are numbers: the ones ``at_least`` and ``at_most`` apply to."""
MAX_DEPTH = 8


def _answered(answer: object) -> bool:
    return isinstance(answer, dict) and "value" in answer and not answer.get("na")


def _same(a: object, b: object) -> bool:
    """Equal, with true never equal to 1 (JSON's booleans are not numbers)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def holds(condition: Condition, answers: dict[str, Any], scenario: str | None) -> bool:
    """Whether a (checked) condition holds for these answers and scenario."""
    if "all" in condition:
        return all(holds(c, answers, scenario) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, answers, scenario) for c in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], answers, scenario)
    if "scenario" in condition:
        return scenario is not None and scenario == condition["scenario"]
    answer = answers.get(condition["question"])
    if "answered" in condition:
        return _answered(answer) is condition["answered"]
    if not _answered(answer):
        return False
    value = answer["value"]  # type: ignore[index]
    if "equals" in condition:
        return _same(value, condition["equals"])
    if "in" in condition:
        return any(_same(value, v) for v in condition["in"])
    if not is_number(value):
        return False
    if "at_least" in condition:
        return bool(value >= condition["at_least"])
    return bool(value <= condition["at_most"])


def visible(
    definition: dict[str, Any], answers: dict[str, Any], scenario: str | None = None
) -> set[str]:
    """The keys of the questions this visit asks. Decided in order: a question that is
    not asked counts as unanswered for every condition after it."""
    seen: dict[str, Any] = {}
    shown: set[str] = set()
    for section in definition.get("sections", []):
        section_shown = "show_if" not in section or holds(section["show_if"], seen, scenario)
        for q in section.get("questions", []):
            if section_shown and ("show_if" not in q or holds(q["show_if"], seen, scenario)):
                shown.add(q["key"])
                if q["key"] in answers:
                    seen[q["key"]] = answers[q["key"]]
    return shown


def asked_only(
    definition: dict[str, Any], answers: dict[str, Any], scenario: str | None = None
) -> dict[str, Any]:
    """``answers`` without those of questions the visit does not ask (not kept)."""
    shown = visible(definition, answers, scenario)
    return {key: answer for key, answer in answers.items() if key in shown}


def rule_condition(rule: dict[str, Any]) -> Condition:
    """A question's ``rule`` without its message: the condition its answer must meet."""
    return {k: v for k, v in rule.items() if k != "message"}


def broken_rules(
    definition: dict[str, Any], answers: dict[str, Any], scenario: str | None = None
) -> list[tuple[str, dict[str, str]]]:
    """(question key, message texts) for every question the visit asks whose answer
    breaks its ``rule``. A rule is tested only once its question has a value (an
    unanswered question is the required check's business), against the answers of the
    questions the visit asks."""
    kept = asked_only(definition, answers, scenario)
    broken = []
    for section in definition.get("sections", []):
        for q in section.get("questions", []):
            rule = q.get("rule")
            if rule is None or not _answered(kept.get(q["key"])):
                continue
            if not holds(rule_condition(rule), kept, scenario):
                broken.append((q["key"], rule.get("message", {})))
    return broken


def referenced(definition: dict[str, Any]) -> set[str]:
    """The questions some show_if depends on (what a preview lets the editor try)."""
    keys: set[str] = set()

    def walk(condition: Any) -> None:
        if not isinstance(condition, dict):
            return
        if isinstance(condition.get("question"), str):
            keys.add(condition["question"])
        for part in condition.get("all", []) + condition.get("any", []):
            walk(part)
        walk(condition.get("not"))

    for section in definition.get("sections", []):
        walk(section.get("show_if"))
        for q in section.get("questions", []):
            walk(q.get("show_if"))
    return keys


def uses_conditions(definition: dict[str, Any]) -> bool:
    return any(
        "show_if" in section or any("show_if" in q for q in section.get("questions", []))
        for section in definition.get("sections", [])
    )


# --- checking a definition's conditions ---------------------------------------------------


def check(
    condition: object,
    path: str,
    earlier: dict[str, dict[str, Any]],
    later: set[str],
    scenarios: set[str],
    problems: list[Problem],
    depth: int = 0,
) -> None:
    """Add a problem for everything wrong with one condition: its shape, a question that
    is unknown or not before it, a comparison the question's type cannot make, a
    scenario the questionnaire does not declare."""
    add = problems.append
    if depth > MAX_DEPTH:
        add(Problem(path, _("conditions may be nested at most %(n)d deep") % {"n": MAX_DEPTH}))
        return
    if not isinstance(condition, dict) or len(condition) == 0:
        add(Problem(path, _("must be a condition object")))
        return
    for combine in ("all", "any"):
        if combine in condition:
            parts = condition[combine]
            if len(condition) != 1 or not isinstance(parts, list) or not parts:
                add(
                    Problem(
                        path, _("%(word)s needs a list of conditions, alone") % {"word": combine}
                    )
                )
                return
            for i, part in enumerate(parts):
                check(
                    part, f"{path}.{combine}[{i}]", earlier, later, scenarios, problems, depth + 1
                )
            return
    if "not" in condition:
        if len(condition) != 1:
            add(Problem(path, _("not takes one condition, alone")))
            return
        check(condition["not"], f"{path}.not", earlier, later, scenarios, problems, depth + 1)
        return
    if "scenario" in condition:
        key = condition["scenario"]
        if len(condition) != 1 or not isinstance(key, str):
            add(Problem(path, _("scenario takes the key of one scenario, alone")))
        elif key not in scenarios:
            add(Problem(f"{path}.scenario", _("unknown scenario %(key)r") % {"key": key}))
        return
    key = condition.get("question")
    ops = [op for op in COMPARISONS if op in condition]
    if not isinstance(key, str) or len(ops) != 1 or len(condition) != 2:
        add(
            Problem(
                path,
                _("must name a question and one of: %(ops)s") % {"ops": ", ".join(COMPARISONS)},
            )
        )
        return
    if key not in earlier:
        message = (
            _("%(key)r comes later: a condition may only use questions before it")
            if key in later
            else _("unknown question %(key)r")
        )
        add(Problem(f"{path}.question", message % {"key": key}))
        return
    _check_comparison(earlier[key], ops[0], condition[ops[0]], f"{path}.{ops[0]}", add)


def _check_comparison(q: dict[str, Any], op: str, operand: object, path: str, add: Any) -> None:
    kind = q["type"]
    if op == "answered":
        if not isinstance(operand, bool):
            add(Problem(path, _("must be true or false")))
        elif not TYPES[kind].takes_value:
            add(Problem(path, _("a %(type)s question has no answer to test") % {"type": kind}))
        return
    if op in ("at_least", "at_most"):
        if kind not in NUMERIC:
            add(Problem(path, _("only a question answered with a number can be compared")))
        elif not is_number(operand):
            add(Problem(path, _("must be a number")))
        return
    values = operand if op == "in" else [operand]
    if op == "in" and (not isinstance(operand, list) or not operand):
        add(Problem(path, _("must be a list of answers")))
        return
    for value in values:  # type: ignore[union-attr]
        if not TYPES[kind].takes_value or kind in ("count_pair", "multi_choice"):
            add(Problem(path, _("a %(type)s question has no answer to compare") % {"type": kind}))
            return
        if TYPES[kind].value_problem(q, value) is not None:
            message = _("%(value)s is not an answer to %(key)r") % {
                "value": repr(value),
                "key": q["key"],
            }
            add(Problem(path, message))
            return


def check_definition(definition: dict[str, Any], problems: list[Problem]) -> None:
    """Every condition of a definition (sections and questions are already checked)."""
    scenarios = {
        s["key"]
        for s in definition.get("scenarios", [])
        if isinstance(s, dict) and isinstance(s.get("key"), str)
    }
    order = [q.get("key") for _p, _s, q in _questions(definition)]
    earlier: dict[str, dict[str, Any]] = {}
    later = {k for k in order if isinstance(k, str)}
    for s_index, section in enumerate(definition.get("sections", [])):
        if not isinstance(section, dict):
            continue
        spath = f"sections[{s_index}]"
        if "show_if" in section:
            check(section["show_if"], f"{spath}.show_if", dict(earlier), later, scenarios, problems)
        for q_index, q in enumerate(section.get("questions") or []):
            if not isinstance(q, dict) or not isinstance(q.get("key"), str):
                continue
            if "show_if" in q:
                qpath = f"{spath}.questions[{q_index}].show_if"
                check(q["show_if"], qpath, dict(earlier), later, scenarios, problems)
            later.discard(q["key"])
            if q.get("type") in TYPES:
                earlier[q["key"]] = q
            if "rule" in q:  # its own answer and the ones before it
                _check_rule(
                    q, f"{spath}.questions[{q_index}].rule", earlier, later, scenarios, problems
                )


def _check_rule(
    q: dict[str, Any],
    path: str,
    earlier: dict[str, dict[str, Any]],
    later: set[str],
    scenarios: set[str],
    problems: list[Problem],
) -> None:
    rule = q["rule"]
    if not isinstance(rule, dict):
        problems.append(Problem(path, _("must be a condition with a message")))
        return
    check_texts(rule.get("message"), f"{path}.message", problems, required=True)
    if q.get("type") in TYPES and not TYPES[q["type"]].takes_value:
        message = _("a %(type)s question has no answer to test") % {"type": q["type"]}
        problems.append(Problem(path, message))
        return
    check(rule_condition(rule), path, dict(earlier), later, scenarios, problems)


def _questions(definition: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    for s_index, section in enumerate(definition.get("sections", [])):
        if isinstance(section, dict):
            for q in section.get("questions") or []:
                if isinstance(q, dict):
                    yield f"sections[{s_index}]", section, q
