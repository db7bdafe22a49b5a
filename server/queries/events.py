"""What happens, told to whoever should hear of it: each event reads what it needs once
and queues, in its own transaction, the notifications for the people it concerns
(server/mail.py) and the deliveries to the webhooks that asked for it
(server/webhooks.py). Callers are the handlers where the event happens.

Webhook payloads name branches, chains, visits and plans, never a shopper or a place
(no shopper identity, no GPS)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .. import zones
from ..db import Reader, Transaction, utcnow
from . import notifications, webhooks


async def assignment_event(tx: Transaction, assignment_id: int, event: str) -> None:
    """A shopper's assignment was made (``new``), ``moved`` or ``cancelled``."""
    row = await tx.fetchone(
        "SELECT a.shopper_id, a.window_start, a.window_end, b.name, b.timezone"
        " FROM assignments a JOIN branches b ON b.id = a.branch_id WHERE a.id = ?",
        (assignment_id,),
    )
    if row is None or row["shopper_id"] is None:
        return
    params = {
        "assignment_id": assignment_id,
        "branch": row["name"],
        "window_start": row["window_start"],
        "window_end": row["window_end"],
    }
    shopper = [row["shopper_id"]]
    await notifications.queue(tx, f"assignment_{event}", params, shopper, zone=row["timezone"])


async def _visit(tx: Transaction, visit_uuid: str) -> Any:
    return await tx.fetchone(
        "SELECT v.id, v.visit_uuid, v.revision, v.state, v.shopper_id, v.branch_id,"
        " v.local_date, v.score_total, v.review_note, v.questionnaire_id,"
        " v.questionnaire_version, b.name AS branch_name, b.code AS branch_code,"
        " b.timezone, c.id AS chain_id, c.code AS chain_code FROM visits v"
        " JOIN branches b ON b.id = v.branch_id JOIN chains c ON c.id = b.chain_id"
        " WHERE v.visit_uuid = ? ORDER BY v.revision DESC LIMIT 1",
        (visit_uuid,),
    )


def _visit_payload(row: Any) -> dict[str, Any]:
    """What a webhook learns of a visit: never who made it, nor where they stood."""
    return {
        "visit_id": row["visit_uuid"],
        "revision": row["revision"],
        "state": row["state"],
        "local_date": row["local_date"],
        "score": row["score_total"],
        "questionnaire": {"id": row["questionnaire_id"], "version": row["questionnaire_version"]},
        "branch": {"id": row["branch_id"], "code": row["branch_code"], "name": row["branch_name"]},
        "chain": {"id": row["chain_id"], "code": row["chain_code"]},
    }


def _visit_params(row: Any, **more: Any) -> dict[str, Any]:
    return {
        "visit_id": row["visit_uuid"],
        "branch": row["branch_name"],
        "branch_id": row["branch_id"],
        "day": row["local_date"],
        **more,
    }


async def visit_decided(tx: Transaction, visit_uuid: str, decision: str) -> None:
    """A reviewer decided: the shopper hears of a return or a rejection (with the note),
    the branch's readers of an approval (a new report)."""
    row = await _visit(tx, visit_uuid)
    if row is None:
        return
    if decision == "approve":
        await report_released(tx, visit_uuid)
        return
    kind = {"return": "visit_returned", "reject": "visit_rejected"}[decision]
    params = _visit_params(row, note=row["review_note"] or "")
    await notifications.queue(tx, kind, params, [row["shopper_id"]], zone=row["timezone"])
    event = {"return": "visit.returned", "reject": "visit.rejected"}[decision]
    await webhooks.queue(tx, event, _visit_payload(row))


async def report_released(tx: Transaction, visit_uuid: str) -> None:
    """A visit was approved: its report is there for the branch's owners and managers
    (at once, or in their digest)."""
    row = await _visit(tx, visit_uuid)
    if row is None:
        return
    await notifications.queue(
        tx,
        "report_released",
        _visit_params(row, score=row["score_total"]),
        await notifications.branch_readers(tx, row["branch_id"]),
        zone=row["timezone"],
        digestible=True,
    )
    await webhooks.queue(tx, "visit.approved", _visit_payload(row))


async def appeal_opened(tx: Transaction, visit_uuid: str, category: str) -> None:
    row = await _visit(tx, visit_uuid)
    if row is not None:
        params = _visit_params(row, category=category)
        people = await notifications.reviewers(tx)
        await notifications.queue(tx, "appeal_opened", params, people, zone=row["timezone"])


async def appeal_decided(tx: Transaction, visit_uuid: str, decision: str, reason: str) -> None:
    row = await _visit(tx, visit_uuid)
    if row is not None:
        params = _visit_params(row, decision=decision, reason=reason)
        readers = await notifications.branch_readers(tx, row["branch_id"])
        await notifications.queue(tx, "appeal_decided", params, readers, zone=row["timezone"])
        # The visit as it stands after the decision (voided: rejected), and the outcome.
        decided = await _visit(tx, visit_uuid)
        if decided is not None:
            outcome = {"decision": decision, "reason": reason}
            payload = {**_visit_payload(decided), "appeal": outcome}
            await webhooks.queue(tx, "appeal.decided", payload)


async def plan_event(tx: Transaction, plan_id: int, event: str, note: str = "") -> None:
    """An action plan was ``returned`` (with the manager's note) or ``verified``, or is
    ``due`` tomorrow or ``overdue``: its branch's owners hear of it (and, overdue, the
    chain's managers)."""
    row = await tx.fetchone(
        "SELECT p.id, p.branch_id, p.text, p.section_key, p.due_date, b.name, b.timezone"
        " FROM action_plans p JOIN branches b ON b.id = p.branch_id WHERE p.id = ?",
        (plan_id,),
    )
    if row is None:
        return
    params = {
        "plan_id": plan_id,
        "branch_id": row["branch_id"],
        "branch": row["name"],
        "text": row["text"],
        "section": row["section_key"] or "",
        "due_date": row["due_date"],
        "note": note,
    }
    people = (
        await notifications.branch_readers(tx, row["branch_id"])
        if event == "overdue"
        else await notifications.branch_owners(tx, row["branch_id"])
    )
    await notifications.queue(tx, f"plan_{event}", params, people, zone=row["timezone"])


async def plan_changed(tx: Transaction, plan_id: int, step: str, note: str = "") -> None:
    """An action plan was written or took a step (``created``, ``start``, ``done``,
    ``verify``, ``return``): webhooks hear of every one; the owners of a returned or
    verified plan by mail."""
    if step in ("return", "verify"):
        await plan_event(tx, plan_id, {"return": "returned", "verify": "verified"}[step], note)
    row = await tx.fetchone(
        "SELECT p.id, p.state, p.section_key, p.due_date, p.done_at, p.verified_at,"
        " p.created_by IS NULL AS opened_by_programme, b.id AS branch_id, b.code, b.name,"
        " c.id AS chain_id, c.code AS chain_code, v.visit_uuid FROM action_plans p"
        " JOIN branches b ON b.id = p.branch_id JOIN chains c ON c.id = b.chain_id"
        " LEFT JOIN visits v ON v.id = p.visit_id WHERE p.id = ?",
        (plan_id,),
    )
    if row is None:
        return
    await webhooks.queue(
        tx,
        "actionplan.changed",
        {
            "plan_id": plan_id,
            "step": step,
            "state": row["state"],
            "section": row["section_key"],
            "due_date": row["due_date"],
            "done_at": row["done_at"],
            "verified_at": row["verified_at"],
            "opened_by_programme": bool(row["opened_by_programme"]),
            "visit_id": row["visit_uuid"],
            "branch": {"id": row["branch_id"], "code": row["code"], "name": row["name"]},
            "chain": {"id": row["chain_id"], "code": row["chain_code"]},
        },
    )


async def plans_to_remind(db: Reader) -> list[tuple[int, str]]:
    """Open plans due tomorrow or overdue at their branch that have not been reminded
    of it: (plan id, ``due`` or ``overdue``)."""
    rows = await db.fetchall(
        "SELECT p.id, p.due_date, p.due_reminded_at, p.overdue_reminded_at, b.timezone"
        " FROM action_plans p JOIN branches b ON b.id = p.branch_id"
        " WHERE p.state IN ('open', 'in_progress') AND p.due_date IS NOT NULL"
        " AND (p.due_reminded_at IS NULL OR p.overdue_reminded_at IS NULL)"
    )
    out = []
    for row in rows:
        today = zones.today_in(row["timezone"])
        due = row["due_date"]
        if due < today.isoformat():
            if row["overdue_reminded_at"] is None:
                out.append((int(row["id"]), "overdue"))
        elif due == (today + timedelta(days=1)).isoformat() and row["due_reminded_at"] is None:
            out.append((int(row["id"]), "due"))
    return out


async def remind(tx: Transaction, plan_id: int, event: str) -> bool:
    """Mark the reminder sent and queue it, once (another worker's mark wins)."""
    column = {"due": "due_reminded_at", "overdue": "overdue_reminded_at"}[event]
    changed = await tx.execute(
        f"UPDATE action_plans SET {column} = ? WHERE id = ? AND {column} IS NULL",
        (utcnow(), plan_id),
    )
    if changed:
        await plan_event(tx, plan_id, event)
    return changed > 0
