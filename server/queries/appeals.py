"""Appeals: an owner or manager contests an approved visit; a reviewer decides (issue
"Closing the loop for owners and chains").

A visit has at most one open appeal (a unique index says so). Opening one, and deciding
it, each write the appeal, the visit's audit row and (when the decision voids the visit)
the summaries in one transaction; corrections made while upholding go through
:mod:`corrections` in the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..db import Reader, Transaction, utcnow
from ..db.sql import placeholders
from ..scoring import parse_stamp
from . import audit, rollups, visits

CATEGORIES = ("fact_wrong", "scenario_not_followed", "staff_not_on_duty", "other")
DECISIONS = ("upheld", "partly_upheld", "rejected")
MAX_TEXT = 4000


async def approved_at(db: Reader, visit_uuid: str) -> datetime | None:
    """When the visit was (last) approved: its appeal period starts then."""
    row = await db.fetchone(
        "SELECT max(at) FROM audit_log WHERE entity = 'visit' AND entity_id = ?"
        " AND action = 'visit.approved'",
        (visit_uuid,),
    )
    return parse_stamp(row[0]) if row and row[0] else None


def appeal_until(approved: datetime | None, days: int) -> datetime | None:
    """The last moment an appeal may be opened, or None when it cannot be (appeals off)."""
    if approved is None or days <= 0:
        return None
    return approved + timedelta(days=days)


async def latest(db: Reader, visit_id: int) -> dict[str, Any] | None:
    """The visit's newest appeal (open or decided), with who opened and decided it."""
    row = await db.fetchone(
        "SELECT a.*, o.name AS opened_by_name, d.name AS decided_by_name FROM appeals a"
        " JOIN users o ON o.id = a.opened_by LEFT JOIN users d ON d.id = a.decided_by"
        " WHERE a.visit_id = ? ORDER BY a.id DESC LIMIT 1",
        (visit_id,),
    )
    return dict(row) if row else None


async def open_appeal(
    tx: Transaction, visit: dict[str, Any], category: str, text: str, actor_id: int
) -> int:
    """Open an appeal on an approved visit (the caller checked who and when)."""
    assert category in CATEGORIES, category
    now = utcnow()
    appeal_id = await tx.insert(
        "INSERT INTO appeals (visit_id, category, text, opened_by, opened_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (visit["id"], category, text, actor_id, now),
    )
    await audit.record(
        tx,
        actor_id,
        "visit.appealed",
        "visit",
        visit["visit_uuid"],
        {"revision": visit["revision"], "category": category, "note": text},
    )
    await rollups.recount_appeals(tx, visit["branch_id"], visit["local_date"])
    return appeal_id


async def decide(
    tx: Transaction,
    appeal: dict[str, Any],
    visit: dict[str, Any],
    decision: str,
    reason: str,
    void: bool,
    actor_id: int,
) -> None:
    """Decide an open appeal. An upheld appeal may void the visit: it leaves the reports
    (its summaries are taken out) and stays, rejected, for the record."""
    assert decision in DECISIONS, decision
    voided = void and decision == "upheld"
    now = utcnow()
    await tx.execute(
        "UPDATE appeals SET state = 'decided', decision = ?, reason = ?, voided = ?,"
        " decided_by = ?, decided_at = ? WHERE id = ? AND state = 'open'",
        (decision, reason, int(voided), actor_id, now, appeal["id"]),
    )
    statements = [
        audit.entry(
            actor_id,
            f"appeal.{decision}",
            "visit",
            visit["visit_uuid"],
            {"revision": visit["revision"], "note": reason, **({"voided": True} if voided else {})},
        )
    ]
    if voided:
        row = await visits.with_scenario(tx, visit["id"])
        assert row is not None
        statements += await rollups.withdrawal_statements(tx, row)
        statements.append(
            (
                "UPDATE visits SET state = 'rejected', review_note = ?, updated_at = ?"
                " WHERE id = ?",
                (reason, now, visit["id"]),
            )
        )
    await tx.batch(statements)
    await rollups.recount_appeals(tx, visit["branch_id"], visit["local_date"])


async def open_queue(db: Reader, limit: int = 200) -> list[dict[str, Any]]:
    """Open appeals, oldest first, with their visit and branch, for the review queue."""
    rows = await db.fetchall(
        "SELECT a.id, a.category, a.text, a.opened_at, v.visit_uuid, v.local_date,"
        " b.name AS branch_name, u.name AS opened_by_name FROM appeals a"
        " JOIN visits v ON v.id = a.visit_id JOIN branches b ON b.id = v.branch_id"
        " JOIN users u ON u.id = a.opened_by WHERE a.state = 'open'"
        " ORDER BY a.opened_at, a.id LIMIT ?",
        (limit,),
    )
    return [dict(r) for r in rows]


async def branch_rates(db: Reader, branch_id: int) -> dict[str, int]:
    """A branch's approved visits, how many were appealed and how many appeals were
    upheld (fully or partly): the appeal and upheld rates' n. The approved visits are
    counted from the monthly rollups (kept at approval and by appeals; every visit has
    its day at the branch), a few rows whatever the visits."""
    row = await db.fetchone(
        "SELECT (SELECT coalesce(sum(visits), 0) FROM branch_month_scores"
        "  WHERE branch_id = ? AND section_key = ''),"
        " (SELECT coalesce(sum(appealed), 0) FROM branch_month_appeals WHERE branch_id = ?),"
        " (SELECT coalesce(sum(upheld), 0) FROM branch_month_appeals WHERE branch_id = ?)",
        (branch_id, branch_id, branch_id),
    )
    assert row is not None
    return {"visits": int(row[0]), "appealed": int(row[1]), "upheld": int(row[2])}


async def period_rates(
    db: Reader, branch_ids: list[int], month_from: str, month_to: str
) -> dict[int, dict[str, int]]:
    """Per branch, of its visits in the months (at the branch) that were appealed: how
    many, how many upheld fully or partly and how many voided (voided visits left the
    summaries, so a rate's n is the approved visits plus these). Branches without an
    appeal are left out. Reads the monthly appeal counts (``rollups.recount_appeals``
    keeps them): a few rows whatever the visits."""
    if not branch_ids:
        return {}
    rows = await db.fetchall(
        "SELECT branch_id, sum(appealed), sum(upheld), sum(voided) FROM branch_month_appeals"
        f" WHERE month BETWEEN ? AND ? AND branch_id IN ({placeholders(branch_ids)})"
        " GROUP BY branch_id",
        (month_from, month_to, *branch_ids),
    )
    return {
        int(r[0]): {"appealed": int(r[1]), "upheld": int(r[2]), "voided": int(r[3])} for r in rows
    }


def is_open(appeal: dict[str, Any] | None) -> bool:
    return appeal is not None and appeal["state"] == "open"
