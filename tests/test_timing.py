"""The stamp rules (server/timing.py) against the cases the app runs too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server import timing
from server.questionnaire import load_default
from server.scoring import score_visit

CASES = json.loads((Path(__file__).parent / "cases" / "timing.json").read_text())["cases"]


def stamps_of(case: dict[str, Any]) -> dict[str, str]:
    return {name: f"2026-11-24T{hhmmss}+07:00" for name, hhmmss in case["stamps"].items()}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_shared_timing_cases(case: dict[str, Any]) -> None:
    found = timing.problems(stamps_of(case), case["answers"], load_default())
    assert sorted([f["path"], f["code"]] for f in found) == sorted(case["expect"])


def test_the_timing_screen_shows_only_the_stamps_timed_questions_use() -> None:
    definition = load_default()
    assert timing.used_stamps(definition) == ["entered", "greeted", "joined_queue", "served"]
    for section in definition["sections"]:
        section["questions"] = [q for q in section["questions"] if q["type"] != "timed"]
    assert timing.used_stamps(definition) == []


def test_never_greeted_scores_no_better_than_greeted_late() -> None:
    """A missing stamp used to make the question N/A, so the score went up."""
    definition = load_default()
    case = next(c for c in CASES if c["name"] == "all in order")
    late = stamps_of(case) | {"greeted": "2026-11-24T10:05:00+07:00"}
    never = {k: v for k, v in stamps_of(case).items() if k != "greeted"}
    answers = {"greeting_delay": {"never": True}}
    late_score = score_visit(definition, {}, late)
    never_score = score_visit(definition, answers, never)
    greeting = {s.key: s for s in never_score.sections}["greeting"]
    assert never_score.total is not None and late_score.total is not None
    assert never_score.total <= late_score.total
    assert never_score.possible == late_score.possible  # it still counts, for 0
    q = {r.key: r for r in never_score.questions}["greeting_delay"]
    assert (q.status, q.earned, q.possible) == ("scored", 0.0, 2.0)
    assert greeting.possible == {s.key: s for s in late_score.sections}["greeting"].possible
