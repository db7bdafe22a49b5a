"""Programme settings: review on or off (more to come), with the server's default."""

from __future__ import annotations

import json

from ..db import Reader, Transaction, utcnow
from . import audit


async def review_required(db: Reader, default: bool) -> bool:
    """Whether complete visits wait for a reviewer (else they are approved at once)."""
    row = await db.fetchone("SELECT value FROM programme_settings WHERE key = 'review_required'")
    return review_setting(row[0] if row else None, default)


def review_setting(stored: str | None, default: bool) -> bool:
    """The stored ``review_required`` setting (JSON), or the server's default when unset."""
    return bool(json.loads(stored)) if stored is not None else default


async def set_review_required(tx: Transaction, value: bool, actor_id: int) -> None:
    await tx.execute(
        "INSERT INTO programme_settings (key, value, updated_at, updated_by)"
        " VALUES ('review_required', ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
        " value = excluded.value, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        (json.dumps(value), utcnow(), actor_id),
    )
    await audit.record(
        tx,
        actor_id,
        "programme.review_required",
        "programme",
        "settings",
        {"review_required": value},
    )


async def has_data(db: Reader) -> bool:
    """Whether anyone or any chain is already set up (the demo only fills an empty one)."""
    row = await db.fetchone("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM chains)")
    return bool(row and row[0])


async def alive(db: Reader) -> bool:
    """The database answers a query (for /healthz)."""
    return await db.fetchone("SELECT 1") is not None
