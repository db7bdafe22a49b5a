"""What report pages compute from stored visits: pure functions, no I/O.

Scores themselves are never recomputed here: they were stored with the visit by
``server.scoring`` when it was complete. This module turns them into what people read.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import conditions
from .i18n import _
from .question_types import TYPES
from .questionnaire import Definition, iter_questions, localized
from .scoring import interval_seconds

SMALL_SAMPLE = 3
"""Fewer scored visits than this: shown, flagged, never ranked (DESIGN: a score from one
visit is never ranked without that flag). Templates ask :func:`small_sample`."""


def small_sample(scored_visits: int | None) -> bool:
    return (scored_visits or 0) < SMALL_SAMPLE


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def location_check(
    visit_geo: dict[str, Any] | None, branch_lat: float | None, branch_lon: float | None
) -> dict[str, Any] | None:
    """How far the phone said it was from the branch: a trust hint, never a verdict."""
    if not visit_geo or visit_geo.get("lat") is None or branch_lat is None or branch_lon is None:
        return None
    distance = distance_m(visit_geo["lat"], visit_geo["lon"], branch_lat, branch_lon)
    accuracy = visit_geo.get("accuracy_m")
    near = distance <= max(150.0, 2 * (accuracy or 0))
    return {"distance_m": round(distance), "accuracy_m": accuracy, "near": near}


@dataclass(frozen=True)
class Interval:
    key: str
    label: str
    seconds: float | None
    over_line: bool
    line_seconds: float | None = None
    never: bool = False


def timeline(
    definition: Definition, stamps: dict[str, Any], answers: dict[str, Any], locale: str
) -> list[Interval]:
    """Each timed question of the questionnaire, measured from the shopper's stamps. The
    line is the question's own: its longest threshold (beyond it the question earns
    nothing; the default queue wait's is 5 minutes, as long as most customers wait)."""
    out = []
    for _section, q in iter_questions(definition):
        if q.get("type") != "timed":
            continue
        seconds = interval_seconds(stamps, q["from"], q["to"])
        limits = [float(t["max_seconds"]) for t in q.get("thresholds", [])]
        line = max(limits) if limits else None
        answer = answers.get(q["key"])
        out.append(
            Interval(
                q["key"],
                localized(q.get("text"), locale),
                seconds,
                seconds is not None and line is not None and seconds > line,
                line,
                isinstance(answer, dict) and answer.get("never") is True,
            )
        )
    return out


def question_texts(definition: Definition, locale: str) -> dict[str, str]:
    return {q["key"]: localized(q.get("text"), locale) for _s, q in iter_questions(definition)}


def section_titles(definition: Definition, locale: str) -> dict[str, str]:
    return {s["key"]: localized(s.get("title"), locale) for s in definition["sections"]}


def answer_text(question: dict[str, Any], answer: dict[str, Any] | None, locale: str) -> str:
    """An answer as a person would say it."""
    if not answer:
        return _("not answered")
    if answer.get("na"):
        return _("N/A")
    if "value" not in answer:
        return ""
    return TYPES[question["type"]].as_text(question, answer["value"], locale)


def explain(
    explanation: list[dict[str, Any]], definition: Definition, locale: str
) -> list[dict[str, Any]]:
    """The stored explanation with question and section names in the reader's language."""
    texts = question_texts(definition, locale)
    titles = section_titles(definition, locale)
    out = []
    for item in explanation:
        entry = dict(item)
        if "question" in item:
            entry["question_text"] = texts.get(item["question"], item["question"])
        if "section" in item:
            entry["section_title"] = titles.get(item["section"], item["section"])
        if "questions" in item:
            entry["question_texts"] = [texts.get(k, k) for k in item["questions"]]
        out.append(entry)
    return out


def percentile_ranks(values: dict[int, float]) -> dict[int, float]:
    """Each key's percentile within the group (share of others it scores at least as high
    as, 0..100); a single value is at 100."""
    if not values:
        return {}
    ordered = sorted(values.values())
    n = len(ordered)
    out = {}
    for key, value in values.items():
        below = bisect_left(ordered, value)
        equal = bisect_right(ordered, value) - below - 1
        out[key] = 100.0 if n == 1 else (below + equal / 2) / (n - 1) * 100
    return out


def ranks(rows: list[dict[str, Any]], key: str = "mean") -> None:
    """Rank rows with enough scored visits (``row["scored"]``) by ``row[key]`` (1 = best),
    in place; small samples and unscored rows get rank None and ``small_sample`` says
    why."""
    rankable = [r for r in rows if r[key] is not None and not small_sample(r["scored"])]
    rankable.sort(key=lambda r: -r[key])
    position = 0
    previous: float | None = None
    for index, row in enumerate(rankable, start=1):
        if row[key] != previous:
            position = index
            previous = row[key]
        row["rank"] = position
    for row in rows:
        row.setdefault("rank", None)
        row["small_sample"] = small_sample(row["scored"])


NOT_ASKED, ANSWERED = "-", "*"
"""Markers in the answer counts: a visit that did not ask the question, one that
answered it (the other rows count the answers themselves)."""
PROMOTERS, DETRACTORS = frozenset({"9", "10"}), frozenset(str(n) for n in range(7))


def counted_answers(
    definition: Definition, answers: dict[str, Any], scenario: str | None = None
) -> list[tuple[str, str]]:
    """What one approved visit adds to the answer counts, as (question key, answer):
    its 0-10 answers, its chosen options, and the questions it did not ask."""
    asked = conditions.visible(definition, answers, scenario)
    out: list[tuple[str, str]] = []
    for _s, q in iter_questions(definition):
        key = q["key"]
        if key not in asked:
            out.append((key, NOT_ASKED))
            continue
        answer = answers.get(key)
        if not isinstance(answer, dict) or "value" not in answer:
            continue
        if q["type"] == "nps":
            out.append((key, str(answer["value"])))
        elif q["type"] == "multi_choice":
            out.append((key, ANSWERED))
            out += [(key, str(option)) for option in answer["value"]]
    return out


@dataclass(frozen=True)
class Nps:
    score: float | None
    """Promoters' share minus detractors' share, in points from -100 to 100."""
    answers: int
    promoters: int
    detractors: int


def nps(counts: dict[str, int]) -> Nps:
    """The net promoter score of a question's 0-10 answer counts: promoters 9-10,
    detractors 0-6 (passives 7-8 count in n only)."""
    n = sum(v for k, v in counts.items() if k.isdigit())
    promoters = sum(counts.get(k, 0) for k in PROMOTERS)
    detractors = sum(counts.get(k, 0) for k in DETRACTORS)
    score = (promoters - detractors) / n * 100 if n else None
    return Nps(score, n, promoters, detractors)


def merged_counts(per_branch: dict[int, dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Answer counts of several branches added up (a chain's)."""
    out: dict[str, dict[str, int]] = {}
    for questions in per_branch.values():
        for key, counts in questions.items():
            mine = out.setdefault(key, {})
            for answer, n in counts.items():
                mine[answer] = mine.get(answer, 0) + n
    return out


def answer_report(
    definition: Definition, counts: dict[str, dict[str, int]], locale: str
) -> dict[str, list[dict[str, Any]]]:
    """What the answer counts say, for a report: each nps question's score and n, each
    multi_choice question's options with how often they were chosen, and the questions
    some visits did not ask."""
    out: dict[str, list[dict[str, Any]]] = {"nps": [], "choices": [], "not_asked": []}
    for _s, q in iter_questions(definition):
        mine = counts.get(q["key"], {})
        text = localized(q.get("text"), locale)
        if q["type"] == "nps" and any(k.isdigit() for k in mine):
            found = nps(mine)
            out["nps"].append(
                {
                    "key": q["key"],
                    "text": text,
                    "score": found.score,
                    "answers": found.answers,
                    "promoters": found.promoters,
                    "detractors": found.detractors,
                }
            )
        if q["type"] == "multi_choice" and mine.get(ANSWERED):
            answered = mine[ANSWERED]
            out["choices"].append(
                {
                    "key": q["key"],
                    "text": text,
                    "answers": answered,
                    "options": [
                        {
                            "key": o["key"],
                            "text": localized(o.get("text"), locale),
                            "visits": mine.get(o["key"], 0),
                            "share": mine.get(o["key"], 0) / answered * 100,
                        }
                        for o in q.get("options", [])
                    ],
                }
            )
        if mine.get(NOT_ASKED):
            out["not_asked"].append({"key": q["key"], "text": text, "visits": mine[NOT_ASKED]})
    return out


def met(score: float | None, target: float | None) -> bool | None:
    """Whether a score reaches its target (None: no score, or no target)."""
    if score is None or target is None:
        return None
    return score >= target - 1e-9


BIG_GAP = 15
"""A perception gap of this many points or more (either way) stands out on the dashboard."""


BAND_LIMITS = (50.0, 70.0, 85.0)
"""Score bands: 0 below 50, 1 from 50, 2 from 70, 3 from 85 (the comparison's colours)."""


def score_band(score: float | None) -> int | None:
    if score is None:
        return None
    return sum(score >= limit for limit in BAND_LIMITS)


DAYPART_HOURS = (12, 17)
"""Parts of the day: 0 before 12:00, 1 from 12:00, 2 from 17:00."""


def daypart(started_at: str | None) -> int | None:
    """The part of the day a visit started in, by the clock the phone kept at the branch
    (the wall-clock time in ``started_at``; the shopper's phone is at the branch)."""
    if not started_at or len(started_at) < 13 or not started_at[11:13].isdigit():
        return None
    hour = int(started_at[11:13])
    return sum(hour >= h for h in DAYPART_HOURS)


def weekday(local_date: str) -> int:
    """0 for Monday: the visit's day at the branch."""
    return date.fromisoformat(local_date).weekday()
