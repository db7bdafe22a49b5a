"""The audit log: every change of state, written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Any

from ..db import Transaction, utcnow


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
