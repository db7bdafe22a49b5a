"""The shopper's event stamps: which ones a questionnaire uses, the order they must be
in, and what a timed question needs before a visit can be sent.

The app applies the same rules before submit (``pwa/timing.js``); both run the cases in
``tests/cases/timing.json``. Paths and codes are the contract; messages are each side's.

- Order: ``entered`` comes before every other stamp and ``left`` after every other;
  ``joined_queue`` before ``served``, ``served`` before ``paid``; and each timed
  question's ``from`` before its ``to``. A stamp out of order is reported at
  ``stamps.<the later one>`` (code ``out_of_order``), naming the one it should follow.
- A timed question is answered by both of its stamps, by ``{"never": true}`` (the
  event never happened: it earns 0) or, only where the question allows it, by N/A. A
  required one with a stamp missing and neither is reported at ``answers.<key>`` (code
  ``missing_stamp``). A missing stamp never makes a shop score better.
"""

from __future__ import annotations

from typing import Any

from . import conditions
from .questionnaire import STAMPS, Definition, is_required, iter_questions
from .scoring import parse_stamp

FIXED_ORDER = (
    *(("entered", stamp) for stamp in STAMPS if stamp != "entered"),
    *((stamp, "left") for stamp in STAMPS if stamp not in ("entered", "left")),
    ("joined_queue", "served"),
    ("served", "paid"),
)
"""Pairs (earlier, later) that hold for every visit."""


def timed_questions(definition: Definition) -> list[dict[str, Any]]:
    return [q for _s, q in iter_questions(definition) if q.get("type") == "timed"]


def used_stamps(definition: Definition) -> list[str]:
    """The stamps the questionnaire's timed questions use, in the order of a visit
    (the timing screen shows only these; none means no timing screen)."""
    used = {q[end] for q in timed_questions(definition) for end in ("from", "to")}
    return [stamp for stamp in STAMPS if stamp in used]


def order_pairs(definition: Definition) -> list[tuple[str, str]]:
    pairs = list(FIXED_ORDER)
    for q in timed_questions(definition):
        pair = (q["from"], q["to"])
        if pair not in pairs:
            pairs.append(pair)
    return pairs


def never(answer: object) -> bool:
    return isinstance(answer, dict) and answer.get("never") is True


def problems(
    stamps: dict[str, Any],
    answers: dict[str, Any],
    definition: Definition,
    scenario: str | None = None,
) -> list[dict[str, str]]:
    """Every stamp out of order and every required timed question the visit asks left
    unanswered, as ``{"path", "code", ...}`` (``before`` names the stamp that should come
    first; ``stamp`` the one a timed question is missing)."""
    asked = conditions.visible(definition, answers, scenario)
    found: list[dict[str, str]] = []
    reported: set[str] = set()
    for earlier, later in order_pairs(definition):
        a, b = parse_stamp(stamps.get(earlier)), parse_stamp(stamps.get(later))
        if a is None or b is None or a <= b or later in reported:
            continue
        reported.add(later)
        found.append({"path": f"stamps.{later}", "code": "out_of_order", "before": earlier})
    for q in timed_questions(definition):
        answer = answers.get(q["key"])
        if not is_required(q) or q["key"] not in asked or never(answer):
            continue
        if isinstance(answer, dict) and answer.get("na") is True:
            continue
        for end in (q["from"], q["to"]):
            if parse_stamp(stamps.get(end)) is None:
                found.append({"path": f"answers.{q['key']}", "code": "missing_stamp", "stamp": end})
                break
    return found
