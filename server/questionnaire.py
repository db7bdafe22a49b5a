"""Questionnaire definitions: the question types and the rules a definition must follow.

A definition is the JSON document of docs/questionnaire-format.md; it is kept as
plain dicts because it travels as JSON to the app, the database and back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import conditions
from .i18n import _
from .question_types import SCORED_TYPES, STAMPS, TYPES, UNSCORED_TYPES, is_number
from .texts import LANGUAGES, Problem, check_texts, localized

__all__ = ["LANGUAGES", "SCORED_TYPES", "STAMPS", "UNSCORED_TYPES", "Problem", "localized"]

QUESTION_TYPES = frozenset(TYPES)
DEFAULT_PATH = Path(__file__).parent / "questionnaires" / "default.json"

Definition = dict[str, Any]
Question = dict[str, Any]


def load_default() -> Definition:
    return json.loads(DEFAULT_PATH.read_text("utf-8"))


def iter_questions(definition: Definition) -> Iterator[tuple[dict[str, Any], Question]]:
    """Every (section, question) pair in order."""
    for section in definition.get("sections", []):
        for question in section.get("questions", []):
            yield section, question


def is_scored(question: Question) -> bool:
    return question.get("type") in SCORED_TYPES


def is_required(question: Question) -> bool:
    """``required`` defaults to true for scored types. A timed question is answered by its
    two stamps, or by saying the event never happened (see timing.py)."""
    return bool(question.get("required", is_scored(question)))


def resolved(definition: Definition) -> Definition:
    """The definition as clients get it: every question carries its resolved
    ``required`` and ``scored`` (booleans), so no client works them out from the type."""
    return {
        **definition,
        "sections": [
            {
                **section,
                "questions": [
                    {**q, "required": is_required(q), "scored": is_scored(q)}
                    for q in section.get("questions", [])
                ],
            }
            for section in definition.get("sections", [])
        ],
    }


def scenario_text(definition: Definition, key: str | None, locale: str) -> str:
    """A declared scenario's text in the reader's language ('' for none or unknown)."""
    for scenario in definition.get("scenarios", []):
        if scenario.get("key") == key:
            return localized(scenario.get("text"), locale)
    return ""


def best_value(question: Question) -> float:
    """The value (0..1, or an option's value) of the best possible answer."""
    return TYPES[question["type"]].best(question)


def weight(question: Question) -> float:
    return float(question.get("weight", 1 if is_scored(question) else 0))


def _check_key(
    item: dict[str, Any], path: str, seen: set[str], what: str, problems: list[Problem]
) -> None:
    """A section's or question's key: a non-empty string, unique in the questionnaire."""
    key = item.get("key")
    if not isinstance(key, str) or not key.strip():
        problems.append(Problem(f"{path}.key", _("must be a non-empty string")))
    elif key in seen:
        problems.append(
            Problem(
                f"{path}.key",
                (
                    _("duplicate section key %(key)r")
                    if what == "section"
                    else _("duplicate question key %(key)r")
                )
                % {"key": key},
            )
        )
    else:
        seen.add(key)


def _check_question(q: object, path: str, seen: set[str], problems: list[Problem]) -> None:
    if not isinstance(q, dict):
        problems.append(Problem(path, _("must be an object")))
        return
    _check_key(q, path, seen, "question", problems)
    kind = q.get("type")
    if kind not in QUESTION_TYPES:
        problems.append(
            Problem(
                f"{path}.type",
                _("must be one of %(values)s") % {"values": ", ".join(sorted(QUESTION_TYPES))},
            )
        )
        return
    check_texts(q.get("text"), f"{path}.text", problems, required=True)
    check_texts(q.get("help"), f"{path}.help", problems, required=False)
    if "weight" in q and (not is_number(q["weight"]) or q["weight"] < 0):
        problems.append(Problem(f"{path}.weight", _("must be a number of at least 0")))
    for flag in ("na", "inverse", "required"):
        if flag in q and not isinstance(q[flag], bool):
            problems.append(Problem(f"{path}.{flag}", _("must be true or false")))
    if "proof" in q and kind != "photo":
        problems.append(Problem(f"{path}.proof", _("only a photo question can prove the visit")))
    critical = q.get("critical", False)
    if critical not in (True, False, "visit"):
        problems.append(Problem(f"{path}.critical", _('must be true, false or "visit"')))
    elif critical and kind not in SCORED_TYPES:
        problems.append(Problem(f"{path}.critical", _("only a scored question can be critical")))
    TYPES[kind].check_definition(q, path, problems)


def validate_definition(definition: object) -> list[Problem]:
    """Every problem with a questionnaire definition; an empty list means it is valid."""
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        return [Problem("", _("a questionnaire must be a JSON object"))]
    qid = definition.get("id")
    if not isinstance(qid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", qid):
        problems.append(Problem("id", _("must be 1 to 64 lower-case letters, digits, - or _")))
    check_texts(definition.get("title"), "title", problems, required=True)
    sections = definition.get("sections")
    if not isinstance(sections, list) or not sections:
        problems.append(Problem("sections", _("at least one section is required")))
        return problems
    section_keys: set[str] = set()
    question_keys: set[str] = set()
    for s_index, section in enumerate(sections):
        spath = f"sections[{s_index}]"
        if not isinstance(section, dict):
            problems.append(Problem(spath, _("must be an object")))
            continue
        _check_key(section, spath, section_keys, "section", problems)
        check_texts(section.get("title"), f"{spath}.title", problems, required=True)
        check_texts(section.get("help"), f"{spath}.help", problems, required=False)
        questions = section.get("questions")
        if not isinstance(questions, list) or not questions:
            problems.append(
                Problem(f"{spath}.questions", _("a section needs at least one question"))
            )
            continue
        for q_index, question in enumerate(questions):
            _check_question(question, f"{spath}.questions[{q_index}]", question_keys, problems)
    _check_scenarios(definition.get("scenarios"), problems)
    conditions.check_definition(definition, problems)
    return problems


def _check_scenarios(scenarios: object, problems: list[Problem]) -> None:
    """The scenarios a questionnaire declares (an assignment picks one; conditions may
    test it): each a key, unique, and texts with English."""
    if scenarios is None:
        return
    if not isinstance(scenarios, list):
        problems.append(Problem("scenarios", _("must be a list of scenarios")))
        return
    keys: set[str] = set()
    for i, scenario in enumerate(scenarios):
        path = f"scenarios[{i}]"
        if not isinstance(scenario, dict):
            problems.append(Problem(path, _("must be an object")))
            continue
        key = scenario.get("key")
        if not isinstance(key, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,63}", key):
            problems.append(
                Problem(f"{path}.key", _("must be 1 to 64 lower-case letters, digits or _"))
            )
        elif key in keys:
            problems.append(Problem(f"{path}.key", _("duplicate scenario %(key)r") % {"key": key}))
        else:
            keys.add(key)
        check_texts(scenario.get("text"), f"{path}.text", problems, required=True)


# --- the exchange format (docs/questionnaire-format.md) ---------------------------------

FORMAT = "visitscore-questionnaire"
FORMAT_VERSION = 2
"""Written on export. Version 2 added show_if, scenarios and the nps and money types;
files of every version in READABLE_VERSIONS import."""
READABLE_VERSIONS = (1, 2)


def export_document(definition: Definition, published: bool) -> dict[str, Any]:
    """A questionnaire version as a file another Visitscore (or any tool) can import."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "published": published,
        "questionnaire": definition,
    }


def parse_document(document: object) -> tuple[Definition | None, list[Problem]]:
    """The definition inside an exchange document, or every problem with its path. A bare
    definition (no envelope) is accepted too."""
    if isinstance(document, dict) and "questionnaire" in document:
        problems = []
        if document.get("format") != FORMAT:
            problems.append(Problem("format", _("must be %(value)s") % {"value": f'"{FORMAT}"'}))
        if document.get("format_version") not in READABLE_VERSIONS:
            versions = " or ".join(str(v) for v in READABLE_VERSIONS)
            problems.append(Problem("format_version", _("must be %(value)s") % {"value": versions}))
        inner = [
            Problem(f"questionnaire.{p.path}" if p.path else "questionnaire", p.message)
            for p in validate_definition(document["questionnaire"])
        ]
        problems += inner
        definition = document["questionnaire"]
    else:
        problems = validate_definition(document)
        definition = document
    if problems:
        return None, problems
    assert isinstance(definition, dict)
    return definition, []
