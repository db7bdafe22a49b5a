"""Editing a questionnaire draft from the browser's forms, as pure functions.

Each operation takes a definition and the submitted form values and answers a new
definition (the old one is never changed), or raises :class:`EditError` with a message
for the editor. A draft may be incomplete while it is edited (a new section with no
question yet); :func:`questionnaire.validate_definition` decides whether it can be
published. Question and section keys never change once made: answers are compared
across versions by key.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from . import condition_edit, conditions
from .i18n import _
from .question_types import TYPES
from .questionnaire import (
    LANGUAGES,
    QUESTION_TYPES,
    SCORED_TYPES,
    Definition,
    Problem,
    Question,
)

# A form's values: one string per field, or several (checkbox lists).
Form = Mapping[str, str]

# Blank rows offered under a choice's options and a timed question's thresholds.
SPARE_ROWS = 2
MAX_ROWS = 20


class EditError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def slug(text: str, taken: set[str], fallback: str = "item") -> str:
    """A key from a text ("Greeting & welcome" → "greeting_welcome"), unique in ``taken``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = [w for w in re.split(r"[^a-z0-9]+", ascii_text.lower()) if w]
    base = ""
    for word in words:  # whole words only, up to 40 characters (never cut mid-word)
        longer = f"{base}_{word}" if base else word
        if len(longer) > 40:
            break
        base = longer
    base = base or (words[0][:40] if words else fallback)
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _clean_key(raw: str, text: str, taken: set[str], fallback: str) -> str:
    raw = raw.strip()
    if not raw:
        return slug(text, taken, fallback)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,63}", raw):
        raise EditError(_("A key is lower-case letters, digits and _ (for example greeting)."))
    if raw in taken:
        raise EditError(_("The key %(key)s is already used in this questionnaire.") % {"key": raw})
    return raw


def texts_from(form: Form, prefix: str) -> dict[str, str]:
    """``title_en``, ``title_id``, ``title_fr`` → {"en": ..., ...}, leaving out blank ones."""
    out = {}
    for lang in LANGUAGES:
        value = str(form.get(f"{prefix}_{lang}", "")).strip()
        if value:
            out[lang] = value[:2000]
    return out


def _need_english(texts: dict[str, str]) -> dict[str, str]:
    if not texts.get("en"):
        raise EditError(_("An English text is required; the other languages fall back to it."))
    return texts


def _number(raw: object, label: str, low: float | None = None, high: float | None = None) -> float:
    text = str(raw or "").strip().replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise EditError(_("%(field)s must be a number.") % {"field": label}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise EditError(_("%(field)s must be a number.") % {"field": label})
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            message = _("%(field)s must be at least %(low)s.") % {"field": label, "low": low}
        else:
            message = _("%(field)s must be from %(low)s to %(high)s.") % {
                "field": label,
                "low": low,
                "high": high,
            }
        raise EditError(message)
    return int(value) if value == int(value) else value


def section_keys(definition: Definition) -> set[str]:
    return {s.get("key", "") for s in definition.get("sections", [])}


def question_keys(definition: Definition) -> set[str]:
    return {q.get("key", "") for s in definition.get("sections", []) for q in s["questions"]}


def find_section(definition: Definition, key: str) -> dict[str, Any]:
    for section in definition.get("sections", []):
        if section.get("key") == key:
            return section
    raise EditError(_("There is no section %(key)s in this draft.") % {"key": key})


def find_question(definition: Definition, key: str) -> tuple[dict[str, Any], Question]:
    for section in definition.get("sections", []):
        for question in section.get("questions", []):
            if question.get("key") == key:
                return section, question
    raise EditError(_("There is no question %(key)s in this draft.") % {"key": key})


def _move(items: list[Any], index: int, direction: str) -> None:
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]


# --- whole questionnaire -----------------------------------------------------------------


def blank(questionnaire_id: str, title: dict[str, str]) -> Definition:
    return {"id": questionnaire_id, "title": title, "sections": []}


def set_title(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    out["title"] = _need_english(texts_from(form, "title"))
    return out


# --- sections ---------------------------------------------------------------------------


def add_section(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    title = _need_english(texts_from(form, "title"))
    key = _clean_key(str(form.get("key", "")), title["en"], section_keys(out), "section")
    out.setdefault("sections", []).append({"key": key, "title": title, "questions": []})
    return out


def update_section(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    section = find_section(out, str(form.get("section", "")))
    section["title"] = _need_english(texts_from(form, "title"))
    help_texts = texts_from(form, "help")
    if help_texts:
        section["help"] = help_texts
    else:
        section.pop("help", None)
    earlier = questions_before(out, section_key=section["key"])
    _set(
        section,
        "show_if",
        condition_edit.read(form, "show", section.get("show_if"), earlier, _refuse),
    )
    _check_conditions(out, f"sections[{out['sections'].index(section)}].show_if")
    return out


def questions_before(
    definition: Definition, section_key: str | None = None, question_key: str | None = None
) -> dict[str, Question]:
    """The questions a condition may use: those before a section, or before a question
    (and the question itself, for its rule, when ``question_key`` is given)."""
    out: dict[str, Question] = {}
    for section in definition.get("sections", []):
        if section["key"] == section_key:
            return out
        for q in section.get("questions", []):
            out[q["key"]] = q
            if q["key"] == question_key:
                return out
    return out


def _set(item: dict[str, Any], name: str, value: Any) -> None:
    if value is None:
        item.pop(name, None)
    else:
        item[name] = value


def _refuse(message: str) -> None:
    raise EditError(message)


def _check_conditions(definition: Definition, path: str) -> None:
    """Refuse at once a condition that publishing would refuse (its first problem)."""
    problems: list[Problem] = []
    conditions.check_definition(definition, problems)
    for problem in problems:
        if problem.path.startswith(path):
            raise EditError(problem.message)


def add_scenario(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    text = _need_english(texts_from(form, "scenario"))
    taken = {s["key"] for s in out.get("scenarios", [])}
    key = _clean_key(str(form.get("key", "")), text["en"], taken, "scenario")
    out.setdefault("scenarios", []).append({"key": key, "text": text})
    return out


def delete_scenario(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    key = str(form.get("scenario", ""))
    out["scenarios"] = [s for s in out.get("scenarios", []) if s["key"] != key]
    if not out["scenarios"]:
        del out["scenarios"]
    return out


def move_section(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    section = find_section(out, str(form.get("section", "")))
    _move(out["sections"], out["sections"].index(section), str(form.get("direction")))
    return out


def delete_section(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    section = find_section(out, str(form.get("section", "")))
    out["sections"].remove(section)
    return out


# --- questions --------------------------------------------------------------------------


def add_question(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    section = find_section(out, str(form.get("section", "")))
    kind = str(form.get("type", ""))
    if kind not in QUESTION_TYPES:
        raise EditError(_("Choose a question type."))
    text = _need_english(texts_from(form, "text"))
    key = _clean_key(str(form.get("key", "")), text["en"], question_keys(out), "question")
    question: Question = {"key": key, "type": kind, "text": text, **TYPES[kind].defaults()}
    if kind in SCORED_TYPES:
        question["weight"] = 1
    section["questions"].append(question)
    return out


class _Editor:
    """What a question type reads its own fields with (:class:`question_types.EditorForm`)."""

    def __init__(self, form: Form) -> None:
        self.form = form

    def number(
        self, raw: object, label: str, low: float | None = None, high: float | None = None
    ) -> float:
        return _number(raw, label, low, high)

    def rows(self, prefix: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                **{f: str(self.form.get(f"{prefix}_{f}_{i}", "")).strip() for f in fields},
                "texts": texts_from(self.form, f"{prefix}_text_{i}"),
            }
            for i in range(MAX_ROWS)
        ]

    def english(self, texts: dict[str, str]) -> dict[str, str]:
        return _need_english(texts)

    def refuse(self, message: str) -> None:
        raise EditError(message)


def update_question(definition: Definition, form: Form) -> Definition:
    """Every field of one question from its edit form (and, if asked, another section)."""
    out = copy.deepcopy(definition)
    section, old = find_question(out, str(form.get("question", "")))
    kind = str(form.get("type", old["type"]))
    if kind not in QUESTION_TYPES:
        raise EditError(_("Choose a question type."))
    question: Question = {"key": old["key"], "type": kind}
    question["text"] = _need_english(texts_from(form, "text"))
    help_texts = texts_from(form, "help")
    if help_texts:
        question["help"] = help_texts
    if kind != old["type"]:
        question.update(TYPES[kind].defaults())  # the new type's fields start from its defaults
    else:
        TYPES[kind].edit(question, _Editor(form))
    if kind in SCORED_TYPES:
        question["weight"] = _number(form.get("weight", old.get("weight", 1)), _("Weight"), 0)
        critical = str(form.get("critical", ""))
        if critical == "section":
            question["critical"] = True
        elif critical == "visit":
            question["critical"] = "visit"
    if form.get("na"):
        question["na"] = True
    required = bool(form.get("required"))
    default_required = kind in SCORED_TYPES and kind != "timed"
    if kind != "timed" and required != default_required:
        question["required"] = required
    earlier = questions_before(out, question_key=old["key"])
    own = {**earlier, old["key"]: question}
    earlier.pop(old["key"], None)
    _set(
        question, "show_if", condition_edit.read(form, "show", old.get("show_if"), earlier, _refuse)
    )
    old_rule = old.get("rule")
    old_check = conditions.rule_condition(old_rule) if old_rule else None
    rule = condition_edit.read(form, "rule", old_check, own, _refuse)
    if rule is not None:
        message = texts_from(form, "rule_message") or (old_rule or {}).get("message") or {}
        if not message.get("en"):
            raise EditError(_("A rule needs a message for the shopper, in English at least."))
        rule = {**rule, "message": message}
    _set(question, "rule", rule)
    index = section["questions"].index(old)
    target_key = str(form.get("move_to", "") or section["key"])
    if target_key != section["key"]:
        target = find_section(out, target_key)
        del section["questions"][index]
        target["questions"].append(question)
    else:
        section["questions"][index] = question
    where = next(
        f"sections[{i}].questions[{j}]"
        for i, s in enumerate(out["sections"])
        for j, q in enumerate(s["questions"])
        if q is question
    )
    _check_conditions(out, where)
    return out


def move_question(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    section, question = find_question(out, str(form.get("question", "")))
    _move(section["questions"], section["questions"].index(question), str(form.get("direction")))
    return out


def delete_question(definition: Definition, form: Form) -> Definition:
    out = copy.deepcopy(definition)
    section, question = find_question(out, str(form.get("question", "")))
    section["questions"].remove(question)
    return out


OPERATIONS: dict[str, Callable[[Definition, Form], Definition]] = {
    "title": set_title,
    "add_section": add_section,
    "update_section": update_section,
    "move_section": move_section,
    "delete_section": delete_section,
    "add_question": add_question,
    "update_question": update_question,
    "move_question": move_question,
    "delete_question": delete_question,
    "add_scenario": add_scenario,
    "delete_scenario": delete_scenario,
}


def apply(definition: Definition, op: str, form: Form) -> Definition:
    """Run one named operation; an unknown one is an :class:`EditError`."""
    operation = OPERATIONS.get(op)
    if operation is None:
        raise EditError(_("Unknown change to the draft."))
    return operation(definition, form)


def question_rows(question: Question) -> dict[str, list[dict[str, Any]]]:
    """A question's options and thresholds padded with blank rows, for its edit form."""
    options = list(question.get("options", []))
    thresholds = list(question.get("thresholds", []))
    return {
        "options": (options + [{}] * SPARE_ROWS)[:MAX_ROWS],
        "thresholds": (thresholds + [{}] * SPARE_ROWS)[:MAX_ROWS],
    }


def fingerprint(definition: Definition) -> str:
    """Short hash of a draft: a form sends back the one it was made from, so two people
    editing at once cannot overwrite each other's changes unseen."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
