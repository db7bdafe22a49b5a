"""Action plans: what an owner will change at a branch, and whether it helped."""

from __future__ import annotations

from typing import Any

from .. import zones
from ..db import Reader, Transaction, utcnow
from ..db.sql import placeholders
from . import audit, questionnaires, summaries


async def create(
    tx: Transaction,
    *,
    branch_id: int,
    author_id: int,
    text: str,
    responsible: str,
    due_date: str | None,
    section_key: str | None,
    visit_id: int | None,
) -> int:
    now = utcnow()
    plan_id = await tx.insert(
        "INSERT INTO action_plans (branch_id, visit_id, section_key, text, responsible,"
        " due_date, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (branch_id, visit_id, section_key, text, responsible, due_date, author_id, now, now),
    )
    await audit.record(
        tx,
        author_id,
        "actionplan.created",
        "action_plan",
        plan_id,
        {"branch_id": branch_id, "section": section_key},
    )
    return plan_id


async def set_done(tx: Transaction, plan_id: int, branch_id: int, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE action_plans SET state = 'done', updated_at = ? WHERE id = ? AND branch_id = ?"
        " AND state = 'open'",
        (utcnow(), plan_id, branch_id),
    )
    if changed:
        await audit.record(tx, actor_id, "actionplan.done", "action_plan", plan_id)
    return changed > 0


async def sections_to_plan_for(db: Reader) -> dict[str, dict[str, str]]:
    """The sections a plan may name, with their titles: every section of every published
    questionnaire, as reports line them up by key. The form offers exactly these and
    saving accepts exactly these."""
    definition, _default_keys = await questionnaires.report_definition(db)
    return {s["key"]: s.get("title", {}) for s in definition["sections"]}


async def for_branches(
    db: Reader, branch_ids: list[int], only_open: bool = False
) -> list[dict[str, Any]]:
    """Plans of some branches, open first, soonest due first, each with the section's
    average score before the plan and since (from approved visits)."""
    if not branch_ids:
        return []
    marks = placeholders(branch_ids)
    rows = await db.fetchall(
        "SELECT p.*, v.visit_uuid, b.timezone FROM action_plans p"
        " JOIN branches b ON b.id = p.branch_id LEFT JOIN visits v ON v.id = p.visit_id"
        f" WHERE p.branch_id IN ({marks}) AND p.state <> 'cancelled'"
        + (" AND p.state = 'open'" if only_open else "")
        + " ORDER BY p.state = 'done', coalesce(p.due_date, '9999'), p.id",
        branch_ids,
    )
    plans = []
    for r in rows:
        today = zones.today_in(r["timezone"]).isoformat()  # due dates are the branch's days
        plan = {
            "id": r["id"],
            "branch_id": r["branch_id"],
            "section_key": r["section_key"],
            "visit_id": r["visit_uuid"],
            "text": r["text"],
            "responsible": r["responsible"],
            "due_date": r["due_date"],
            "state": r["state"],
            "created_at": r["created_at"],
            "overdue": r["state"] == "open" and bool(r["due_date"]) and r["due_date"] < today,
            "before": None,
            "since": None,
        }
        if r["section_key"]:
            plan["before"], plan["since"] = await _progress(
                db, r["branch_id"], r["section_key"], r["created_at"]
            )
        plans.append(plan)
    return plans


async def _progress(
    db: Reader, branch_id: int, section: str, since: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The section's mean over the 5 approved visits before the plan, and over all since."""
    sql = (
        "SELECT scores, questionnaire_id, questionnaire_version FROM visits"
        " WHERE branch_id = ? AND state = 'approved' AND started_utc {op} ?"
        " ORDER BY started_utc {order}{limit}"
    )
    # The 5 latest visits that have the section (another questionnaire may not).
    before = await db.fetchall(
        sql.format(op="<", order="DESC", limit=" LIMIT 25"), (branch_id, since)
    )
    after = await db.fetchall(sql.format(op=">=", order="ASC", limit=""), (branch_id, since))

    async def mean(rows: list[Any], most: int | None = None) -> dict[str, Any] | None:
        having: list[float | None] = []
        for row in rows:
            kept = await summaries.stored_scores(db, row)
            if kept is not None and section in kept.sections:
                having.append(kept.sections[section])
        scores = [s for s in having[:most] if s is not None]
        return {"mean": sum(scores) / len(scores), "visits": len(scores)} if scores else None

    return await mean(before, 5), await mean(after)
