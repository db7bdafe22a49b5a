"""Assignments: which shopper visits which branch, when, with which scenario."""

from __future__ import annotations

from typing import Any

from ..db import Reader, Transaction, utcnow
from ..models import Assignment, Branch
from . import audit


async def create(
    tx: Transaction,
    *,
    branch_id: int,
    shopper_id: int | None,
    questionnaire_id: str,
    questionnaire_version: int,
    window_start: str,
    window_end: str,
    scenario: str = "",
    state: str = "open",
    created_by: int | None = None,
) -> int:
    now = utcnow()
    assignment_id = await tx.execute(
        "INSERT INTO assignments (branch_id, shopper_id, questionnaire_id, questionnaire_version,"
        " window_start, window_end, scenario, state, created_by, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            branch_id,
            shopper_id,
            questionnaire_id,
            questionnaire_version,
            window_start,
            window_end,
            scenario,
            state,
            created_by,
            now,
            now,
        ),
    )
    await audit.record(
        tx,
        created_by,
        "assignment.created",
        "assignment",
        assignment_id,
        {"branch_id": branch_id, "shopper_id": shopper_id},
    )
    return assignment_id


async def get(db: Reader, assignment_id: int) -> Assignment | None:
    row = await db.fetchone("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
    return Assignment.from_row(row) if row else None


async def open_for_shopper(db: Reader, shopper_id: int) -> list[dict[str, Any]]:
    """The shopper's open assignments, soonest window first, each with its branch."""
    rows = await db.fetchall(
        "SELECT * FROM assignments WHERE shopper_id = ? AND state = 'open'"
        " ORDER BY window_start, id",
        (shopper_id,),
    )
    ids = sorted({row["branch_id"] for row in rows})
    marks = ",".join("?" * len(ids)) or "NULL"
    branches = {
        r["id"]: Branch.from_row(r)
        for r in await db.fetchall(f"SELECT * FROM branches WHERE id IN ({marks})", ids)
    }
    return [
        {**Assignment.from_row(row).to_api(), "branch": branches[row["branch_id"]].to_api()}
        for row in rows
    ]


async def mark_done(tx: Transaction, assignment_id: int) -> None:
    await tx.execute(
        "UPDATE assignments SET state = 'done', updated_at = ? WHERE id = ? AND state = 'open'",
        (utcnow(), assignment_id),
    )


async def recent_for(
    db: Reader, shopper_id: int, branch_id: int, since: str, until: str
) -> list[Assignment]:
    """The shopper's other assignments at this branch whose window overlaps [since, until]."""
    rows = await db.fetchall(
        "SELECT * FROM assignments WHERE shopper_id = ? AND branch_id = ?"
        " AND state <> 'cancelled' AND window_end >= ? AND window_start <= ?",
        (shopper_id, branch_id, since, until),
    )
    return [Assignment.from_row(r) for r in rows]


async def upcoming(db: Reader) -> list[dict[str, Any]]:
    """Open assignments, soonest first, with branch and shopper names (for the agency)."""
    rows = await db.fetchall(
        "SELECT a.*, b.name AS branch_name, b.timezone, u.name AS shopper_name"
        " FROM assignments a JOIN branches b ON b.id = a.branch_id"
        " LEFT JOIN users u ON u.id = a.shopper_id WHERE a.state = 'open'"
        " ORDER BY a.window_start, b.name LIMIT 500"
    )
    return [
        {
            **Assignment.from_row(r).to_api(),
            "branch_name": r["branch_name"],
            "timezone": r["timezone"],
            "shopper_name": r["shopper_name"],
        }
        for r in rows
    ]


async def cancel(tx: Transaction, assignment_id: int, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE assignments SET state = 'cancelled', updated_at = ? WHERE id = ?"
        " AND state = 'open'",
        (utcnow(), assignment_id),
    )
    if changed:
        await audit.record(tx, actor_id, "assignment.cancelled", "assignment", assignment_id)
    return changed > 0


async def move(tx: Transaction, assignment_id: int, start: str, end: str, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE assignments SET window_start = ?, window_end = ?, updated_at = ? WHERE id = ?"
        " AND state = 'open'",
        (start, end, utcnow(), assignment_id),
    )
    if changed:
        await audit.record(
            tx,
            actor_id,
            "assignment.moved",
            "assignment",
            assignment_id,
            {"start": start, "end": end},
        )
    return changed > 0
