"""The audit log: every change of state, written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Any

from ..db import Reader, Transaction, utcnow


def entry(
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    details: dict[str, Any] | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """The statement that records one audit row, for a write path's :meth:`batch`."""
    return (
        "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            utcnow(),
            actor_id,
            action,
            entity,
            str(entity_id),
            json.dumps(details or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        ),
    )


async def record(
    tx: Transaction,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    await tx.execute(*entry(actor_id, action, entity, entity_id, details))


async def visit_history(db: Reader, visit_uuid: str) -> list[dict[str, Any]]:
    """Every recorded step of a visit, oldest first, with who took it (a name)."""
    rows = await db.fetchall(
        "SELECT a.at, a.action, a.details, u.name FROM audit_log a LEFT JOIN users u"
        " ON u.id = a.actor_id WHERE a.entity = 'visit' AND a.entity_id = ? ORDER BY a.id",
        (visit_uuid,),
    )
    steps = []
    for r in rows:
        details = json.loads(r["details"])
        received = details.pop("received", None)
        if r["action"] == "visit.submitted" and received is not None:
            # Received and complete at once: one row, two steps.
            steps.append(
                {
                    "at": r["at"],
                    "action": "visit.received",
                    "who": r["name"],
                    "details": {"revision": details.get("revision"), **received},
                }
            )
        steps.append({"at": r["at"], "action": r["action"], "who": r["name"], "details": details})
    return steps
