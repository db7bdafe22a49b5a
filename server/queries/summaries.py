"""What reports read instead of visits: the rollups :mod:`.rollups` keeps (per branch and
month: scores, questions, answers, score bands, weekday × time-of-day slots, appeals),
and a few reads of visits themselves (a visit row's stored scores, recent visits, self
assessments and their gap)."""

from __future__ import annotations

import json
from typing import Any

from .. import reports
from ..db import Reader, Transaction, utcnow
from ..db.sql import placeholders
from ..scoring import StoredScore, stored, stored_sections
from . import audit, questionnaires

SLOTS = 21
"""Weekday (0 Monday) × part of the day (0 before noon, 1 before 17:00, 2 after): slot
``weekday * 3 + daypart``, a column group of ``branch_month_slots`` (one row per branch
and month, so a comparison sums columns instead of sorting slot rows)."""


SLOT_COLUMNS = ", ".join(f"visits_{slot}, scored_{slot}, score_sum_{slot}" for slot in range(SLOTS))

BANDS = len(reports.BAND_LIMITS) + 1
"""Score bands (``reports.score_band``): columns ``band_0`` to ``band_3`` of
``branch_month_bands`` (one row per branch and month, ``visits`` its total)."""

BAND_COLUMNS = ", ".join(f"band_{band}" for band in range(BANDS))


async def stored_scores(db: Reader, row: Any) -> StoredScore | None:
    """A visit row's stored scores (``scores``, ``questionnaire_id``,
    ``questionnaire_version``), read against its questionnaire version."""
    if not row["scores"]:
        return None
    definition = await questionnaires.get_published(
        db, row["questionnaire_id"], row["questionnaire_version"]
    )
    return stored(definition or {}, json.loads(row["scores"]))


async def stored_section_scores(db: Reader, row: Any) -> dict[str, float | None] | None:
    """Like :func:`stored_scores`, the section scores only (cheaper, for many visits)."""
    if not row["scores"]:
        return None
    definition = await questionnaires.get_published(
        db, row["questionnaire_id"], row["questionnaire_version"]
    )
    return stored_sections(definition or {}, json.loads(row["scores"]))


async def answer_counts(
    db: Reader, month_from: str, month_to: str, branch_ids: list[int]
) -> dict[int, dict[str, dict[str, int]]]:
    """{branch: {question: {answer: visits}}} over a range of months (see
    ``reports.counted_answers`` for what is counted)."""
    if not branch_ids:
        return {}
    rows = await db.fetchall(
        "SELECT branch_id, question_key, answer, sum(visits) AS visits FROM branch_month_answers"
        f" WHERE month BETWEEN ? AND ? AND branch_id IN ({placeholders(branch_ids)})"
        " GROUP BY branch_id, question_key, answer",
        (month_from, month_to, *branch_ids),
    )
    out: dict[int, dict[str, dict[str, int]]] = {}
    for r in rows:
        out.setdefault(r["branch_id"], {}).setdefault(r["question_key"], {})[r["answer"]] = int(
            r["visits"]
        )
    return out


async def months(db: Reader) -> list[str]:
    """Every month with a summary, in order: one index seek per month (each the first
    month after the last), not a scan of every branch's months."""
    rows = await db.fetchall(
        "WITH RECURSIVE m(month) AS ("
        " SELECT min(month) FROM branch_month_scores"
        " UNION ALL"
        " SELECT (SELECT min(b.month) FROM branch_month_scores b WHERE b.month > m.month)"
        " FROM m WHERE m.month IS NOT NULL)"
        " SELECT month FROM m WHERE month IS NOT NULL"
    )
    return [r[0] for r in rows]


async def by_branch(
    db: Reader,
    month_from: str,
    month_to: str,
    branch_ids: list[int],
    section: str | None = None,
) -> dict[int, dict[str, dict[str, Any]]]:
    """{branch: {section ('' = total): {visits, scored, mean}}} over a range of months;
    given ``section``, that section alone (``''``: the totals)."""
    if not branch_ids:
        return {}
    marks = placeholders(branch_ids)
    one = "" if section is None else " AND section_key = ?"
    rows = await db.fetchall(
        "SELECT branch_id, section_key, sum(visits) AS visits, sum(scored) AS scored,"
        " sum(score_sum) AS score_sum FROM branch_month_scores"
        f" WHERE branch_id IN ({marks}){one} AND month BETWEEN ? AND ?"
        " GROUP BY branch_id, section_key",
        (*branch_ids, *([] if section is None else [section]), month_from, month_to),
    )
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for r in rows:
        mean = r["score_sum"] / r["scored"] if r["scored"] else None
        out.setdefault(r["branch_id"], {})[r["section_key"]] = {
            "visits": r["visits"],
            "scored": r["scored"],
            "mean": mean,
        }
    return out


async def on_target(
    db: Reader, branch_id: int, month_from: str, month_to: str, target: float
) -> dict[str, int]:
    """A branch's scored approved visits in a range of months, and how many reached the
    target (the share of visits on target, with its n)."""
    row = await db.fetchone(
        "SELECT count(score_total), coalesce(sum(CASE WHEN score_total >= ? THEN 1 ELSE 0 END), 0)"
        " FROM visits WHERE branch_id = ? AND state = 'approved'"
        " AND local_date BETWEEN ? AND ?",
        (target, branch_id, f"{month_from}-01", f"{month_to}-31"),
    )
    assert row is not None
    return {"visits": int(row[0]), "on_target": int(row[1])}


async def bands(db: Reader, month_from: str, month_to: str, branch_ids: list[int]) -> list[int]:
    """How many scored visits of some branches fell in each score band over a range of
    months (reports.score_band: below 50, 50-69, 70-84, 85 and above)."""
    if not branch_ids:
        return [0] * BANDS
    sums = ", ".join(f"coalesce(sum(band_{band}), 0)" for band in range(BANDS))
    row = await db.fetchone(
        f"SELECT {sums} FROM branch_month_bands"
        f" WHERE branch_id IN ({placeholders(branch_ids)}) AND month BETWEEN ? AND ?",
        (*branch_ids, month_from, month_to),
    )
    assert row is not None
    return [int(n) for n in row]


async def slots(
    db: Reader, month_from: str, month_to: str, branch_ids: list[int]
) -> dict[tuple[int, int], dict[str, Any]]:
    """{(weekday, part of the day): {visits, scored, mean}} for some branches over a range
    of months: when service is best and worst."""
    if not branch_ids:
        return {}
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c in SLOT_COLUMNS.split(", "))
    row = await db.fetchone(
        f"SELECT {sums} FROM branch_month_slots"
        f" WHERE month BETWEEN ? AND ? AND branch_id IN ({placeholders(branch_ids)})",
        (month_from, month_to, *branch_ids),
    )
    assert row is not None
    out = {}
    for slot in range(SLOTS):
        visits, scored, total = row[3 * slot], row[3 * slot + 1], row[3 * slot + 2]
        if visits:
            out[divmod(slot, 3)] = {
                "visits": int(visits),
                "scored": int(scored),
                "mean": float(total) / int(scored) if scored else None,
            }
    return out


async def monthly(
    db: Reader, branch_ids: list[int], month_from: str, month_to: str, section_key: str = ""
) -> list[dict[str, Any]]:
    """Each branch's mean score per month (for trend lines)."""
    if not branch_ids:
        return []
    marks = placeholders(branch_ids)
    rows = await db.fetchall(
        "SELECT branch_id, month, visits, scored, score_sum FROM branch_month_scores"
        f" WHERE section_key = ? AND month BETWEEN ? AND ? AND branch_id IN ({marks})"
        " ORDER BY month",
        (section_key, month_from, month_to, *branch_ids),
    )
    return [
        {
            "branch_id": r["branch_id"],
            "month": r["month"],
            "visits": r["visits"],
            "scored": r["scored"],
            "mean": r["score_sum"] / r["scored"] if r["scored"] else None,
        }
        for r in rows
    ]


async def monthly_by_region(
    db: Reader, branch_ids: list[int], month_from: str, month_to: str
) -> dict[str, dict[str, float]]:
    """{region: {month: mean}} of some branches' visit totals, each branch-month weighing
    as many as its scored visits; months with none scored are left out (for the trend
    lines of a comparison: summed here rather than in Python over every branch-month)."""
    if not branch_ids:
        return {}
    rows = await db.fetchall(
        "SELECT b.region, s.month, sum(s.scored), sum(s.score_sum)"
        " FROM branch_month_scores s JOIN branches b ON b.id = s.branch_id"
        f" WHERE s.branch_id IN ({placeholders(branch_ids)}) AND s.section_key = ''"
        " AND s.month BETWEEN ? AND ? AND s.scored > 0 GROUP BY b.region, s.month",
        (*branch_ids, month_from, month_to),
    )
    out: dict[str, dict[str, float]] = {}
    for region, month, scored, score_sum in rows:
        out.setdefault(region, {})[month] = float(score_sum) / int(scored)
    return out


async def self_assessment(db: Reader, branch_id: int) -> dict[str, Any] | None:
    """The branch's newest self-assessment: its total and section scores."""
    row = await db.fetchone(
        "SELECT score_total, scores, created_at FROM self_assessments WHERE branch_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        (branch_id,),
    )
    if row is None:
        return None
    scores = json.loads(row["scores"]) if row["scores"] else {"sections": []}
    return {
        "total": row["score_total"],
        "created_at": row["created_at"],
        "sections": {s["key"]: s["score"] for s in scores["sections"]},
    }


GAP_MONTHS = 3
"""A self-assessment is set beside the shoppers' average of the months up to its own."""


async def gap_history(db: Reader, branch_id: int, limit: int = 12) -> list[dict[str, Any]]:
    """Each of the branch's self-assessments (newest ``limit``, oldest first), dated, with
    the shoppers' average over the GAP_MONTHS months up to its month (from the summaries)
    and the gap between them: whether the owner's view and the shoppers' are closing."""
    rows = await db.fetchall(
        "SELECT score_total, created_at FROM self_assessments WHERE branch_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (branch_id, limit),
    )
    if not rows:
        return []

    def first_month(month: str) -> str:
        index = int(month[:4]) * 12 + int(month[5:7]) - 1 - (GAP_MONTHS - 1)
        return f"{index // 12:04d}-{index % 12 + 1:02d}"

    # Every month the assessments need, read once.
    months = [r["created_at"][:7] for r in rows]
    totals = {
        m: (int(scored or 0), float(total or 0))
        for m, scored, total in await db.fetchall(
            "SELECT month, scored, score_sum FROM branch_month_scores"
            " WHERE branch_id = ? AND section_key = '' AND month BETWEEN ? AND ?",
            (branch_id, first_month(min(months)), max(months)),
        )
    }
    out = []
    for row in reversed(rows):
        month = row["created_at"][:7]
        window = [v for m, v in totals.items() if first_month(month) <= m <= month]
        scored = sum(n for n, _ in window)
        shoppers = sum(t for _, t in window) / scored if scored else None
        owner = row["score_total"]
        out.append(
            {
                "created_at": row["created_at"],
                "owner": owner,
                "shoppers": shoppers,
                "visits": scored,
                "gap": owner - shoppers if owner is not None and shoppers is not None else None,
            }
        )
    return out


async def recent_visits(db: Reader, branch_id: int, limit: int = 10) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT visit_uuid, started_at, score_total FROM visits WHERE branch_id = ?"
        " AND state = 'approved' ORDER BY started_utc DESC LIMIT ?",
        (branch_id, limit),
    )
    return [
        {"visit_id": r["visit_uuid"], "started_at": r["started_at"], "total": r["score_total"]}
        for r in rows
    ]


async def branch_visits(
    db: Reader, branch_id: int, month_from: str, month_to: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A branch's approved visits in a range of months (days at the branch), newest
    first, one page of them, with how many there are in all; each says whether the
    agency corrected it and whether it was appealed."""
    period = (branch_id, f"{month_from}-01", f"{month_to}-31")
    rows = await db.fetchall(
        "SELECT v.visit_uuid, v.started_at, v.local_date, v.score_total,"
        " EXISTS (SELECT 1 FROM visit_corrections c WHERE c.visit_id = v.id) AS corrected,"
        " (SELECT a.state FROM appeals a WHERE a.visit_id = v.id ORDER BY a.id DESC LIMIT 1)"
        " AS appeal FROM visits v WHERE v.branch_id = ? AND v.state = 'approved'"
        " AND v.local_date BETWEEN ? AND ? ORDER BY v.local_date DESC, v.started_utc DESC,"
        " v.id DESC LIMIT ? OFFSET ?",
        (*period, limit, offset),
    )
    count = await db.fetchone(
        "SELECT count(*) FROM visits WHERE branch_id = ? AND state = 'approved'"
        " AND local_date BETWEEN ? AND ?",
        period,
    )
    return [
        {
            "visit_id": r["visit_uuid"],
            "started_at": r["started_at"],
            "local_date": r["local_date"],
            "total": r["score_total"],
            "corrected": bool(r["corrected"]),
            "appeal": r["appeal"],
        }
        for r in rows
    ], int(count[0] if count else 0)


async def question_means(
    db: Reader, branch_id: int, month_from: str, month_to: str
) -> dict[str, dict[str, float]]:
    """Per question over the period: the share of its possible points earned (0..100),
    from the per-month question summary kept with each approval."""
    rows = await db.fetchall(
        "SELECT question_key AS key, sum(earned) AS earned, sum(possible) AS possible,"
        " sum(visits) AS n FROM branch_month_questions"
        " WHERE branch_id = ? AND month BETWEEN ? AND ? GROUP BY question_key",
        (branch_id, month_from, month_to),
    )
    return {
        r["key"]: {"score": r["earned"] / r["possible"] * 100, "visits": r["n"]}
        for r in rows
        if r["possible"]
    }


async def latest_self_assessment_answers(
    db: Reader, branch_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The branch's newest self-assessment as (answers, stamps); empty when there is none."""
    row = await db.fetchone(
        "SELECT answers, stamps FROM self_assessments WHERE branch_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        (branch_id,),
    )
    if row is None:
        return {}, {}
    return json.loads(row["answers"]), json.loads(row["stamps"])


async def add_self_assessment(
    tx: Transaction,
    *,
    branch_id: int,
    author_id: int,
    definition: dict[str, Any],
    answers: dict[str, Any],
    stamps: dict[str, Any],
    total: float | None,
    scores: dict[str, Any],
) -> int:
    """Store an owner's self-assessment, with its audit row."""
    row_id = await tx.insert(
        "INSERT INTO self_assessments (branch_id, author_id, questionnaire_id,"
        " questionnaire_version, answers, stamps, score_total, scores, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            branch_id,
            author_id,
            definition["id"],
            definition["version"],
            json.dumps(answers),
            json.dumps(stamps),
            total,
            json.dumps(scores),
            utcnow(),
        ),
    )
    await audit.record(
        tx, author_id, "selfassessment.created", "branch", branch_id, {"self_assessment": row_id}
    )
    return row_id
