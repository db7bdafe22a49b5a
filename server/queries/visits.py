"""Visits: one row per revision, with the scores computed when it is complete."""

from __future__ import annotations

import json
from typing import Any

from ..db import Reader, Transaction, utcnow
from ..scoring import VisitScore


async def insert(
    tx: Transaction,
    *,
    visit_uuid: str,
    revision: int,
    assignment_id: int,
    branch_id: int,
    shopper_id: int,
    questionnaire_id: str,
    questionnaire_version: int,
    state: str,
    content_hash: str,
    payload: dict[str, Any],
    started_at: str | None,
    ended_at: str | None,
    started_utc: str | None,
    stamps: dict[str, Any],
    answers: dict[str, Any],
    comment: str,
    geo: dict[str, Any] | None,
    received_at: str | None = None,
    submitted_at: str | None = None,
    score: VisitScore | None = None,
) -> int:
    received = received_at or utcnow()
    geo = geo or {}
    return await tx.execute(
        "INSERT INTO visits (visit_uuid, revision, assignment_id, branch_id, shopper_id,"
        " questionnaire_id, questionnaire_version, state, content_hash, payload, started_at,"
        " ended_at, started_utc, received_at, submitted_at, stamps, answers, comment, geo_lat,"
        " geo_lon, geo_accuracy_m, score_total, scores, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            visit_uuid,
            revision,
            assignment_id,
            branch_id,
            shopper_id,
            questionnaire_id,
            questionnaire_version,
            state,
            content_hash,
            json.dumps(payload, ensure_ascii=False),
            started_at,
            ended_at,
            started_utc,
            received,
            submitted_at,
            json.dumps(stamps),
            json.dumps(answers, ensure_ascii=False),
            comment,
            geo.get("lat"),
            geo.get("lon"),
            geo.get("accuracy_m"),
            score.total if score else None,
            json.dumps(score.to_json()) if score else None,
            received,
        ),
    )


async def set_state(tx: Transaction, visit_id: int, state: str, note: str | None = None) -> None:
    await tx.execute(
        "UPDATE visits SET state = ?, review_note = coalesce(?, review_note), updated_at = ?"
        " WHERE id = ?",
        (state, note, utcnow(), visit_id),
    )


async def count_by_state(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, count(*) FROM visits GROUP BY state")
    return {r[0]: r[1] for r in rows}


async def branch_summaries(db: Reader, branch_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Approved visits per branch: how many, the average score, the latest visit date."""
    if not branch_ids:
        return {}
    marks = ",".join("?" * len(branch_ids))
    rows = await db.fetchall(
        f"SELECT branch_id, count(*) AS n, avg(score_total) AS mean, max(started_utc) AS latest"
        f" FROM visits WHERE state = 'approved' AND branch_id IN ({marks}) GROUP BY branch_id",
        branch_ids,
    )
    return {r["branch_id"]: {"n": r["n"], "mean": r["mean"], "latest": r["latest"]} for r in rows}
