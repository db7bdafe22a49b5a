"""Reviewer corrections: an answer or its comment changed by the agency, with a reason,
without sending the visit back to the shopper (issue "Closing the loop for owners and
chains").

The visit row holds the corrected answers and the scores they make, so every report,
export and summary reads them; ``visit_corrections`` keeps each change with the answer
before and after, so the shopper's original stays. An approved visit's place in the
monthly summaries is taken out and counted again in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from .. import reports
from ..db import Reader, Transaction, utcnow
from ..scoring import score_visit, stored, to_record
from ..visit_record import compact_json, pack_answers, unpack_answers, unpack_stamps
from . import appeals, audit, rollups, visits


def correctable(state: str, appeal: dict[str, Any] | None) -> bool:
    """A reviewer may correct a visit waiting for review, or an approved one while an
    appeal against it is open (the correction is part of deciding it)."""
    return state == "submitted" or (state == "approved" and appeals.is_open(appeal))


async def correct(
    tx: Transaction,
    visit_id: int,
    definition: dict[str, Any],
    key: str,
    after: dict[str, Any] | None,
    reason: str,
    actor_id: int,
) -> bool:
    """Put ``after`` (an answer object, or None for no answer) in place of question
    ``key``'s answer, rescore, and keep the change. Answers False when nothing changed."""
    row = await visits.with_scenario(tx, visit_id)
    assert row is not None, "the caller looked the visit up"
    answers = unpack_answers(row["answers"]) if row["answers"] else {}
    before = answers.get(key)
    if before == after:
        return False
    if row["state"] == "approved":
        await tx.batch(await rollups.withdrawal_statements(tx, row))
    if after is None:
        answers.pop(key, None)
    else:
        answers[key] = after
    stamps = unpack_stamps(row["stamps"], row["started_at"])
    score = score_visit(definition, answers, stamps, row["scenario_key"])
    record = to_record(score)
    now = utcnow()
    statements = [
        (
            "UPDATE visits SET answers = ?, score_total = ?, scores = ?, updated_at = ?"
            " WHERE id = ?",
            (pack_answers(answers), score.total, compact_json(record), now, visit_id),
        ),
        (
            "INSERT INTO visit_corrections (visit_id, question_key, before, after, reason,"
            " corrected_by, corrected_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                visit_id,
                key,
                None if before is None else compact_json(before),
                None if after is None else compact_json(after),
                reason,
                actor_id,
                now,
            ),
        ),
        audit.entry(
            actor_id,
            "visit.corrected",
            "visit",
            row["visit_uuid"],
            {"revision": row["revision"], "question": key, "reason": reason},
        ),
    ]
    if row["state"] == "approved":
        statements += rollups.approval_statements(
            row["branch_id"],
            row["local_date"],
            score.total,
            stored(definition, record),
            row["started_at"],
            row["started_utc"],
        ) + rollups.answer_statements(
            row["branch_id"],
            row["local_date"],
            reports.counted_answers(definition, answers, row["scenario_key"]),
        )
    await tx.batch(statements)
    return True


async def of_visit(db: Reader, visit_id: int) -> list[dict[str, Any]]:
    """A visit's corrections, oldest first, with who made them."""
    rows = await db.fetchall(
        "SELECT c.question_key, c.before, c.after, c.reason, c.corrected_at, u.name AS who"
        " FROM visit_corrections c JOIN users u ON u.id = c.corrected_by"
        " WHERE c.visit_id = ? ORDER BY c.id",
        (visit_id,),
    )
    return [
        {
            "question": r["question_key"],
            "before": json.loads(r["before"]) if r["before"] is not None else None,
            "after": json.loads(r["after"]) if r["after"] is not None else None,
            "reason": r["reason"],
            "at": r["corrected_at"],
            "who": r["who"],
        }
        for r in rows
    ]
