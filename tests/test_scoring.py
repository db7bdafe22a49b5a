from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.questionnaire import load_default, validate_definition
from server.scoring import (
    interval_seconds,
    score_visit,
    stored,
    stored_sections,
    timed_value,
    to_record,
)


def text(en: str) -> dict[str, str]:
    return {"en": en}


DEFINITION: dict[str, Any] = {
    "id": "t",
    "version": 1,
    "title": text("Test"),
    "sections": [
        {
            "key": "greet",
            "title": text("Greeting"),
            "questions": [
                {"key": "q1", "type": "yes_no", "weight": 2, "text": text("greeted")},
                {
                    "key": "q2",
                    "type": "scale",
                    "min": 0,
                    "max": 4,
                    "weight": 1,
                    "text": text("eyes"),
                },
                {
                    "key": "q3",
                    "type": "timed",
                    "from": "entered",
                    "to": "greeted",
                    "weight": 2,
                    "thresholds": [
                        {"max_seconds": 10, "value": 1.0},
                        {"max_seconds": 30, "value": 0.5},
                    ],
                    "text": text("delay"),
                },
                {
                    "key": "q4",
                    "type": "yes_no",
                    "inverse": True,
                    "weight": 1,
                    "text": text("script"),
                },
            ],
        },
        {
            "key": "problem",
            "title": text("Problem"),
            "questions": [
                {
                    "key": "r",
                    "type": "choice",
                    "weight": 3,
                    "critical": True,
                    "na": True,
                    "text": text("resolved"),
                    "options": [
                        {"key": "resolved", "value": 1.0, "text": text("yes")},
                        {"key": "partly", "value": 0.5, "text": text("partly")},
                        {"key": "passed_on", "value": 0.0, "text": text("no")},
                    ],
                },
                {
                    "key": "c",
                    "type": "scale",
                    "min": 0,
                    "max": 4,
                    "weight": 2,
                    "na": True,
                    "text": text("courteous"),
                },
            ],
        },
        {
            "key": "overall",
            "title": text("Overall"),
            "questions": [
                {
                    "key": "v",
                    "type": "yes_no",
                    "weight": 1,
                    "critical": "visit",
                    "text": text("safe"),
                },
                {"key": "n", "type": "number", "text": text("people")},
                {"key": "p", "type": "photo", "required": False, "text": text("photo")},
            ],
        },
    ],
}

STAMPS = {"entered": "2026-11-20T10:00:00+07:00", "greeted": "2026-11-20T10:00:20+07:00"}
GOOD: dict[str, Any] = {
    "q1": {"value": True},
    "q2": {"value": 3},
    "q4": {"value": False},
    "r": {"value": "partly"},
    "c": {"na": True},
    "v": {"value": True},
    "n": {"value": 4},
}


def test_definition_is_valid() -> None:
    assert validate_definition(DEFINITION) == []


def test_everything_best_scores_100() -> None:
    answers = {**GOOD, "q2": {"value": 4}, "r": {"value": "resolved"}, "c": {"value": 4}}
    stamps = {**STAMPS, "greeted": "2026-11-20T10:00:05+07:00"}
    result = score_visit(DEFINITION, answers, stamps)
    assert result.total == pytest.approx(100)
    assert all(s.score == pytest.approx(100) for s in result.sections)


def test_hand_computed_visit() -> None:
    result = score_visit(DEFINITION, GOOD, STAMPS)
    # greet: q1 2/2, q2 3/4 of 1 = .75/1, q3 20 s → 0.5 × 2 = 1/2, q4 inverse false → 1/1
    assert result.section("greet").earned == pytest.approx(4.75)
    assert result.section("greet").possible == pytest.approx(6)
    assert result.section("greet").score == pytest.approx(4.75 / 6 * 100)
    # problem: partly 0.5 × 3 = 1.5/3, c is N/A and leaves the denominator
    assert result.section("problem").score == pytest.approx(50)
    assert result.section("overall").score == pytest.approx(100)
    assert result.total == pytest.approx(72.5)  # (4.75 + 1.5 + 1) / (6 + 3 + 1)
    q3 = next(q for q in result.questions if q.key == "q3")
    assert q3.seconds == 20 and q3.value == 0.5


def test_failed_critical_zeroes_its_section_and_its_points_in_the_total() -> None:
    answers = {**GOOD, "r": {"value": "passed_on"}, "c": {"value": 4}}
    result = score_visit(DEFINITION, answers, STAMPS)
    problem = result.section("problem")
    assert problem.score == 0 and problem.zeroed_by == ("r",)
    assert problem.possible == pytest.approx(5)
    assert result.total == pytest.approx((4.75 + 0 + 1) / (6 + 5 + 1) * 100)
    c = next(q for q in result.questions if q.key == "c")
    assert c.earned == 0 and c.zeroed
    assert result.explanation[0] == {
        "kind": "critical_failure",
        "question": "r",
        "section": "problem",
        "scope": "section",
    }


def test_failed_visit_critical_zeroes_the_visit_but_sections_keep_their_scores() -> None:
    result = score_visit(DEFINITION, {**GOOD, "v": {"value": False}}, STAMPS)
    assert result.total == 0
    assert result.zeroed_by == ("v",)
    assert result.section("greet").score == pytest.approx(4.75 / 6 * 100)
    assert result.explanation[0] == {"kind": "visit_zeroed", "questions": ["v"]}


def test_all_na_section_has_no_score_not_zero() -> None:
    answers = {**GOOD, "r": {"na": True}, "c": {"na": True}}
    result = score_visit(DEFINITION, answers, STAMPS)
    assert result.section("problem").score is None
    assert result.total == pytest.approx((4.75 + 1) / (6 + 1) * 100)


def test_nothing_answered_has_no_score() -> None:
    result = score_visit(DEFINITION, {}, {})
    assert result.total is None
    assert all(s.score is None for s in result.sections)


def test_missing_stamp_leaves_timed_question_unanswered() -> None:
    result = score_visit(DEFINITION, GOOD, {"entered": STAMPS["entered"]})
    assert result.section("greet").score == pytest.approx(3.75 / 4 * 100)
    assert {"kind": "unanswered", "question": "q3", "section": "greet"} in result.explanation


@pytest.mark.parametrize(
    ("seconds", "value"), [(0, 1.0), (10, 1.0), (10.5, 0.5), (30, 0.5), (31, 0.0), (3600, 0.0)]
)
def test_timed_thresholds_are_inclusive(seconds: float, value: float) -> None:
    question = DEFINITION["sections"][0]["questions"][2]
    assert timed_value(question, seconds) == value


def test_stamps_out_of_order_or_without_offset_count_as_missing() -> None:
    assert (
        interval_seconds(
            {"a": "2026-11-20T10:00:10+07:00", "b": "2026-11-20T10:00:00+07:00"}, "a", "b"
        )
        is None
    )
    assert (
        interval_seconds({"a": "2026-11-20T10:00:00", "b": "2026-11-20T10:00:05"}, "a", "b") is None
    )
    # Different offsets are compared as moments, not as wall-clock text.
    assert (
        interval_seconds(
            {"a": "2026-11-20T03:00:00+00:00", "b": "2026-11-20T10:02:00+07:00"}, "a", "b"
        )
        == 120
    )


def test_count_pair_earns_open_over_total() -> None:
    definition = {
        "id": "x",
        "version": 1,
        "title": text("x"),
        "sections": [
            {
                "key": "s",
                "title": text("s"),
                "questions": [
                    {"key": "tills", "type": "count_pair", "weight": 2, "text": text("tills")}
                ],
            }
        ],
    }
    result = score_visit(definition, {"tills": {"value": {"open": 1, "total": 15}}})
    assert result.total == pytest.approx(100 / 15)
    with pytest.raises(ValueError):
        score_visit(definition, {"tills": {"value": {"open": 3, "total": 2}}})


def test_explanation_lists_biggest_losses_first() -> None:
    answers = {**GOOD, "q1": {"value": False}}  # loses 2 of 10 possible points
    result = score_visit(DEFINITION, answers, STAMPS)
    lost = [item for item in result.explanation if item["kind"] == "lost"]
    assert lost[0]["question"] == "q1"
    assert lost[0]["points"] == pytest.approx(20)
    assert [item["points"] for item in lost] == sorted(
        (item["points"] for item in lost), reverse=True
    )
    assert {"kind": "na", "question": "c", "section": "problem"} in result.explanation


def test_default_questionnaire_scores_a_realistic_visit() -> None:
    definition = load_default()
    answers = {
        "greeted_verbally": {"value": False},
        "eye_contact": {"value": 1},
        "thanked": {"value": False},
        "farewell": {"value": False},
        "tills": {"value": {"open": 1, "total": 15}},
        "self_checkouts": {"na": True},
        "staff_idle": {"value": True},
        "asked_needs": {"value": True},
        "tailored_suggestion": {"value": False},
        "sounded_scripted": {"value": True},
        "used_name": {"na": True},
        "offered_options": {"value": True},
        "took_ownership": {"value": False},
        "resolution": {"value": "passed_on"},
        "stayed_courteous": {"value": 2},
        "friendliness": {"value": 2},
        "would_return": {"value": False},
    }
    stamps = {
        "entered": "2026-11-20T10:00:00+07:00",
        "joined_queue": "2026-11-20T10:05:00+07:00",
        "served": "2026-11-20T10:13:00+07:00",
    }
    result = score_visit(definition, answers, stamps)
    assert result.section("greeting").score == pytest.approx(0.25 / 5 * 100)
    # tills 1/15 × 2, queue 8 min → 0 of 3, staff idle (inverse) → 0 of 1
    assert result.section("checkout").score == pytest.approx((2 / 15) / 6 * 100)
    assert result.section("problem_handling").score == 0
    assert result.total is not None and result.total < 30


# --- properties -----------------------------------------------------------------

QUESTION_KINDS = ["yes_no", "scale", "choice", "count_pair", "timed", "number", "text"]


@st.composite
def questionnaires(draw: st.DrawFn) -> dict[str, Any]:
    sections = []
    n = 0
    for s in range(draw(st.integers(1, 4))):
        questions = []
        for _ in range(draw(st.integers(1, 5))):
            n += 1
            kind = draw(st.sampled_from(QUESTION_KINDS))
            q: dict[str, Any] = {
                "key": f"q{n}",
                "type": kind,
                "text": text("q"),
                "weight": draw(st.integers(0, 5)),
                "na": draw(st.booleans()),
            }
            if kind == "scale":
                q.update(min=0, max=draw(st.integers(1, 10)))
            if kind == "choice":
                q["options"] = [
                    {"key": f"o{i}", "value": v, "text": text("o")}
                    for i, v in enumerate(
                        draw(
                            st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=2, max_size=4)
                        )
                    )
                ]
            if kind == "timed":
                q.update(
                    {
                        "from": "entered",
                        "to": "served",
                        "thresholds": [
                            {"max_seconds": 60, "value": 1.0},
                            {"max_seconds": 300, "value": 0.5},
                        ],
                    }
                )
            if kind in ("yes_no", "scale", "choice", "count_pair", "timed"):
                q["critical"] = draw(st.sampled_from([False, False, True, "visit"]))
            questions.append(q)
        sections.append({"key": f"s{s}", "title": text("s"), "questions": questions})
    return {"id": "h", "version": 1, "title": text("h"), "sections": sections}


@st.composite
def answer_for(draw: st.DrawFn, q: dict[str, Any]) -> dict[str, Any] | None:
    kind = q["type"]
    choice = draw(st.sampled_from(["missing", "na", "value"]))
    if choice == "missing" or kind in ("timed", "number", "text"):
        return None
    if choice == "na":
        return {"na": True}
    if kind == "yes_no":
        return {"value": draw(st.booleans())}
    if kind == "scale":
        return {"value": draw(st.integers(q["min"], q["max"]))}
    if kind == "choice":
        return {"value": draw(st.sampled_from([o["key"] for o in q["options"]]))}
    total = draw(st.integers(1, 20))
    return {"value": {"open": draw(st.integers(0, total)), "total": total}}


@st.composite
def scored_visits(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    definition = draw(questionnaires())
    answers: dict[str, Any] = {}
    for section in definition["sections"]:
        for q in section["questions"]:
            answer = draw(answer_for(q))
            if answer is not None:
                answers[q["key"]] = answer
    stamps: dict[str, Any] = {}
    if draw(st.booleans()):
        wait = draw(st.integers(0, 900))
        stamps = {
            "entered": "2026-11-20T10:00:00+07:00",
            "served": f"2026-11-20T10:{wait // 60:02d}:{wait % 60:02d}+07:00",
        }
    return definition, answers, stamps


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(scored_visits())
def test_scores_are_within_0_and_100_or_none(case: tuple[Any, Any, Any]) -> None:
    definition, answers, stamps = case
    assert validate_definition(definition) == []
    result = score_visit(definition, answers, stamps)
    assert result.total is None or 0 <= result.total <= 100
    for section in result.sections:
        assert section.score is None or 0 <= section.score <= 100


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(scored_visits(), st.data())
def test_adding_an_na_answer_never_changes_the_score(
    case: tuple[Any, Any, Any], data: st.DataObject
) -> None:
    """N/A for a question that had no answer (none given, no stamps) is not a zero."""
    definition, answers, stamps = case
    before = score_visit(definition, answers, stamps)
    unanswered = [q.key for q in before.questions if q.status in ("unanswered", "unscored")]
    if not unanswered:
        return
    key = data.draw(st.sampled_from(unanswered))
    after = score_visit(definition, {**answers, key: {"na": True}}, stamps)
    assert after.total == before.total
    assert [s.score for s in after.sections] == [s.score for s in before.sections]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(scored_visits())
def test_a_failed_critical_zeroes_its_scope(case: tuple[Any, Any, Any]) -> None:
    definition, answers, stamps = case
    result = score_visit(definition, answers, stamps)
    failed = [q for q in result.questions if q.critical_failed]
    for q in failed:
        if q.critical == "visit":
            assert result.total == 0
        else:
            section = result.section(q.section)
            assert section.score == 0
            assert all(
                other.earned == 0 for other in result.questions if other.section == q.section
            )
    if not any(q.critical == "visit" for q in failed) and result.possible > 0:
        assert result.total == pytest.approx(result.earned / result.possible * 100)


@given(scored_visits())
def test_the_section_scores_alone_read_as_the_whole_stored_record(
    case: tuple[Any, Any, Any],
) -> None:
    """Readers of many visits (action plans' judgements) read only the sections."""
    definition, answers, stamps = case
    record = to_record(score_visit(definition, answers, stamps))
    kept = stored(definition, record)
    assert kept is not None
    assert stored_sections(definition, record) == kept.sections
