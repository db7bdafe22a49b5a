"""The audit log: every change of state, written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Any

from ..db import Reader, Transaction, utcnow


async def record(
    tx: Transaction,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, details)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            utcnow(),
            actor_id,
            action,
            entity,
            str(entity_id),
            json.dumps(details or {}, ensure_ascii=False, sort_keys=True),
        ),
    )


async def history(db: Reader, entity: str, entity_id: object) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT at, actor_id, action, details FROM audit_log"
        " WHERE entity = ? AND entity_id = ? ORDER BY id",
        (entity, str(entity_id)),
    )
    return [
        {
            "at": r["at"],
            "actor_id": r["actor_id"],
            "action": r["action"],
            "details": json.loads(r["details"]),
        }
        for r in rows
    ]
