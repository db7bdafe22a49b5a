"""The scoring rules of docs/scoring.md, as pure functions. The only place scores are made.

- possible points = weight × best answer's value; earned = weight × given answer's value;
- N/A (and an unanswered optional question) leaves both earned and possible;
- section score = earned / possible × 100, None when nothing in it was scored;
- visit score = the same over every scored question;
- a failed critical question (value 0) zeroes its section, whose questions then earn
  nothing in the visit total either; ``"critical": "visit"`` zeroes the whole visit;
- timed questions come from the event stamps and the question's thresholds.

Nothing is rounded here; rounding is for display only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

from . import conditions
from .question_types import TIMED, TYPES
from .questionnaire import Definition, Question, best_value, is_scored, weight

Status = Literal["scored", "na", "unanswered", "unscored", "not_asked"]


@dataclass(frozen=True)
class QuestionResult:
    key: str
    section: str
    status: Status
    value: float | None  # the answer's value before weighting, None when not scored
    earned: float  # after any critical zeroing
    possible: float
    critical: Literal["section", "visit"] | None = None
    critical_failed: bool = False
    zeroed: bool = False  # earned nothing because a critical question zeroed its scope
    seconds: float | None = None  # timed questions: the measured interval


@dataclass(frozen=True)
class SectionResult:
    key: str
    score: float | None
    earned: float
    possible: float
    zeroed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class VisitScore:
    total: float | None
    earned: float
    possible: float
    sections: tuple[SectionResult, ...]
    questions: tuple[QuestionResult, ...]
    zeroed_by: tuple[str, ...] = ()  # visit-critical questions that failed
    explanation: tuple[dict[str, Any], ...] = field(default=())

    def section(self, key: str) -> SectionResult:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "earned": self.earned,
            "possible": self.possible,
            "zeroed_by": list(self.zeroed_by),
            "sections": [{**_flat(s), "zeroed_by": list(s.zeroed_by)} for s in self.sections],
            "questions": [_flat(q) for q in self.questions],
            "explanation": list(self.explanation),
        }


def _flat(result: QuestionResult | SectionResult) -> dict[str, Any]:
    """A result's fields as a dict: ``dataclasses.asdict`` without its deep copy of every
    value (all are plain numbers and strings), which was a fifth of a visit PUT."""
    return {f.name: getattr(result, f.name) for f in fields(result)}


EARLIEST_STAMP = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_STAMP = datetime(2100, 1, 1, tzinfo=UTC)


def parse_stamp(raw: object) -> datetime | None:
    """An event stamp: ISO 8601 with a UTC offset, between 2000 and 2100; anything else
    counts as missing (outside that range, date arithmetic and formatting overflow)."""
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        if not EARLIEST_STAMP <= moment <= LATEST_STAMP:
            return None
    except OverflowError:
        return None
    return moment


def interval_seconds(stamps: dict[str, Any], start: str, end: str) -> float | None:
    """Seconds between two stamps; None if either is missing or they are out of order."""
    a, b = parse_stamp(stamps.get(start)), parse_stamp(stamps.get(end))
    if a is None or b is None:
        return None
    seconds = (b - a).total_seconds()
    return seconds if seconds >= 0 else None


def timed_value(question: Question, seconds: float) -> float:
    """The value of the first threshold whose max_seconds is at least ``seconds``, else 0."""
    return TIMED.seconds_value(question, seconds)


def answer_value(question: Question, answer: object) -> float:
    """The value one given (non-N/A) answer earns before weighting.

    Raises ValueError for an answer that does not fit the question (the same check as
    the API's, :meth:`QuestionType.value_problem`); the API checks answers before they
    are stored, so this only guards against bad data.
    """
    kind = TYPES[question["type"]]
    if not isinstance(answer, dict) or "value" not in answer:
        raise ValueError(f"{question['key']}: answer must be an object with a value")
    if not kind.scored or not kind.takes_value:
        raise ValueError(f"{question['key']}: a {kind.name} question takes no scored answer")
    problem = kind.value_problem(question, answer["value"])
    if problem is not None:
        raise ValueError(f"{question['key']}: {problem}")
    return kind.value(question, answer["value"])


def possible_points(question: Question) -> float:
    """The most a question can earn: its weight times its best answer's value."""
    return weight(question) * best_value(question) if is_scored(question) else 0.0


def section_maxima(definition: Definition) -> list[tuple[dict[str, Any], float]]:
    """Each section with the most it can add to a visit (before N/A answers take any
    out), so an editor can check the weights before publishing."""
    return [
        (section, sum(possible_points(q) for q in section.get("questions", [])))
        for section in definition.get("sections", [])
    ]


def _critical_scope(question: Question) -> Literal["section", "visit"] | None:
    critical = question.get("critical", False)
    if critical == "visit":
        return "visit"
    return "section" if critical is True else None


def _score_question(
    question: Question,
    section_key: str,
    answers: dict[str, Any],
    stamps: dict[str, Any],
    asked: bool = True,
) -> QuestionResult:
    key = question["key"]
    critical = _critical_scope(question)
    if not asked:  # its show_if does not hold: neither required nor scored
        return QuestionResult(key, section_key, "not_asked", None, 0.0, 0.0)
    if not is_scored(question):
        return QuestionResult(key, section_key, "unscored", None, 0.0, 0.0)
    answer = answers.get(key)
    if isinstance(answer, dict) and answer.get("na") is True:
        return QuestionResult(key, section_key, "na", None, 0.0, 0.0, critical)
    w = weight(question)
    seconds: float | None = None
    if question["type"] == "timed":
        if isinstance(answer, dict) and answer.get("never") is True:
            value = 0.0  # the event never happened: never greeted, never served
        else:
            seconds = interval_seconds(stamps, question["from"], question["to"])
            if seconds is None:
                return QuestionResult(key, section_key, "unanswered", None, 0.0, 0.0, critical)
            value = timed_value(question, seconds)
    else:
        if answer is None:
            return QuestionResult(key, section_key, "unanswered", None, 0.0, 0.0, critical)
        value = answer_value(question, answer)
    return QuestionResult(
        key,
        section_key,
        "scored",
        value,
        earned=w * value,
        possible=possible_points(question),
        critical=critical,
        critical_failed=critical is not None and value == 0,
        seconds=seconds,
    )


def _percent(earned: float, possible: float) -> float | None:
    if possible <= 0:
        return None
    return max(0.0, min(100.0, earned / possible * 100.0))


def _explain(
    total_possible: float, questions: list[QuestionResult], zeroed_by: list[str]
) -> list[dict[str, Any]]:
    """What moved the score: critical failures first, then points lost, then N/As."""
    items: list[dict[str, Any]] = []
    for q in questions:
        if q.critical_failed:
            items.append(
                {
                    "kind": "critical_failure",
                    "question": q.key,
                    "section": q.section,
                    "scope": q.critical,
                }
            )
    lost: list[dict[str, Any]] = []
    for q in questions:
        if q.status != "scored" or q.possible <= q.earned:
            continue
        points = (q.possible - q.earned) / total_possible * 100 if total_possible else 0.0
        lost.append(
            {
                "kind": "lost",
                "question": q.key,
                "section": q.section,
                "points": points,
                "zeroed": q.zeroed,
            }
        )
    lost.sort(key=lambda item: (-item["points"], item["question"]))
    items.extend(lost)
    for q in questions:
        if q.status in ("na", "unanswered", "not_asked"):
            items.append({"kind": q.status, "question": q.key, "section": q.section})
    if zeroed_by:
        items.insert(0, {"kind": "visit_zeroed", "questions": list(zeroed_by)})
    return items


def score_visit(
    definition: Definition,
    answers: dict[str, Any],
    stamps: dict[str, Any] | None = None,
    scenario: str | None = None,
) -> VisitScore:
    """Score one visit (or a self-assessment) against its questionnaire version. Which
    questions the visit asks is decided here again (:mod:`server.conditions`)."""
    stamps = stamps or {}
    asked = conditions.visible(definition, answers, scenario)
    sections: list[SectionResult] = []
    all_questions: list[QuestionResult] = []
    visit_failures: list[str] = []
    for section in definition.get("sections", []):
        results = [
            _score_question(q, section["key"], answers, stamps, q["key"] in asked)
            for q in section["questions"]
        ]
        section_failures = tuple(
            r.key for r in results if r.critical_failed and r.critical == "section"
        )
        visit_failures.extend(r.key for r in results if r.critical_failed and r.critical == "visit")
        possible = sum(r.possible for r in results)
        if section_failures:
            results = [replace(r, earned=0.0, zeroed=r.status == "scored") for r in results]
            sections.append(SectionResult(section["key"], 0.0, 0.0, possible, section_failures))
        else:
            earned = sum(r.earned for r in results)
            sections.append(
                SectionResult(section["key"], _percent(earned, possible), earned, possible)
            )
        all_questions.extend(results)
    earned = sum(q.earned for q in all_questions)
    possible = sum(q.possible for q in all_questions)
    total = 0.0 if visit_failures else _percent(earned, possible)
    return VisitScore(
        total=total,
        earned=earned,
        possible=possible,
        sections=tuple(sections),
        questions=tuple(all_questions),
        zeroed_by=tuple(visit_failures),
        explanation=tuple(_explain(possible, all_questions, visit_failures)),
    )


# --- a visit's scores at rest ----------------------------------------------------------
#
# Stored per visit (``visits.scores``): the numbers reports and exports read, no more.
# Positional against the visit's own questionnaire version, which never changes once
# published: ``{"v": 2, "sections": [score|null, …], "earned": [points|null, …]}``, one
# entry per section and per question in the version's order (null: not scored, i.e. N/A,
# unanswered or a question that carries no points), plus ``"zeroed_by"`` when a
# visit-critical question failed. A question's possible points follow from its
# version (weight × best answer). The explanation and each question's details are
# rebuilt from the stored answers when a report is read (:func:`rebuild`); about 150
# bytes instead of the 6 KB of the full breakdown stored before migration 0014.

RECORD_VERSION = 2


@dataclass(frozen=True)
class StoredScore:
    """A visit's scores as stored: the section scores (every section of its version, in
    order) and each scored question's (earned, possible) points."""

    sections: dict[str, float | None]
    questions: dict[str, tuple[float, float]]
    zeroed_by: tuple[str, ...] = ()


def _compact(value: float) -> float | int:
    """2.0 is written 2: the same number in fewer bytes."""
    return int(value) if value == int(value) and abs(value) < 2**53 else value


def to_record(score: VisitScore) -> dict[str, Any]:
    """The stored form of a visit's scores (see above)."""
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "sections": [None if s.score is None else _compact(s.score) for s in score.sections],
        "earned": [_compact(q.earned) if q.status == "scored" else None for q in score.questions],
    }
    if score.zeroed_by:
        record["zeroed_by"] = list(score.zeroed_by)
    return record


def stored(definition: Definition, record: dict[str, Any] | None) -> StoredScore | None:
    """Read a stored record against its questionnaire version. Records made before
    migration 0014 (the full breakdown) read the same."""
    if not record:
        return None
    if record.get("v") != RECORD_VERSION:
        return StoredScore(
            sections={s["key"]: s["score"] for s in record.get("sections", [])},
            questions={
                q["key"]: (q["earned"], q["possible"])
                for q in record.get("questions", [])
                if q["status"] == "scored"
            },
            zeroed_by=tuple(record.get("zeroed_by", ())),
        )
    sections = definition.get("sections", [])
    questions = [q for s in sections for q in s.get("questions", [])]
    earned = record["earned"]
    if len(earned) != len(questions) or len(record["sections"]) != len(sections):
        raise ValueError("a stored score does not fit its questionnaire version")
    return StoredScore(
        sections={s["key"]: score for s, score in zip(sections, record["sections"], strict=True)},
        questions={
            q["key"]: (points, possible_points(q))
            for q, points in zip(questions, earned, strict=True)
            if points is not None
        },
        zeroed_by=tuple(record.get("zeroed_by", ())),
    )


def stored_sections(
    definition: Definition, record: dict[str, Any] | None
) -> dict[str, float | None] | None:
    """Only the section scores of a stored record (as :func:`stored` reads them), for
    readers of many visits that need no question's points."""
    if not record:
        return None
    if record.get("v") != RECORD_VERSION:
        return {s["key"]: s["score"] for s in record.get("sections", [])}
    sections = definition.get("sections", [])
    if len(record["sections"]) != len(sections):
        raise ValueError("a stored score does not fit its questionnaire version")
    return {s["key"]: score for s, score in zip(sections, record["sections"], strict=True)}


def rebuild(
    definition: Definition,
    answers: dict[str, Any],
    stamps: dict[str, Any],
    kept: StoredScore,
    scenario: str | None = None,
) -> tuple[VisitScore, bool]:
    """The full breakdown of a stored visit (each question's details, the explanation),
    made again from its answers; and whether it gives the stored numbers. When it does
    not (the scoring rules changed after the visit was scored) the stored numbers are
    the ones that count, and the report says so."""
    score = score_visit(definition, answers, stamps, scenario)
    same = (
        {s.key: s.score for s in score.sections} == kept.sections
        and {q.key: (q.earned, q.possible) for q in score.questions if q.status == "scored"}
        == kept.questions
        and score.zeroed_by == kept.zeroed_by
    )
    return score, same


def record_from_breakdown(definition: Definition, breakdown: dict[str, Any]) -> dict[str, Any]:
    """The compact record of a full breakdown stored before migration 0014 (the same
    numbers, nothing scored again)."""
    sections = {s["key"]: s["score"] for s in breakdown.get("sections", [])}
    questions = {q["key"]: q for q in breakdown.get("questions", [])}
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "sections": [
            None if sections.get(s["key"]) is None else _compact(sections[s["key"]])
            for s in definition.get("sections", [])
        ],
        "earned": [
            _compact(questions[q["key"]]["earned"])
            if questions.get(q["key"], {}).get("status") == "scored"
            else None
            for s in definition.get("sections", [])
            for q in s.get("questions", [])
        ],
    }
    if breakdown.get("zeroed_by"):
        record["zeroed_by"] = list(breakdown["zeroed_by"])
    return record
