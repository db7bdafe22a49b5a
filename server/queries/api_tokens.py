"""Read-only API tokens (``api_tokens``, migration 0025): named, scoped to one chain, kept
as a SHA-256 only (the token is shown once), revocable, with when each was last used."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from ..db import Reader, Transaction, plain, plain_rows, utcnow
from . import audit

PREFIX = "vst_"
TOUCH_SECONDS = 60
"""``last_used_at`` is written at most this often per token (reads stay reads)."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


async def create(
    tx: Transaction, name: str, chain_id: int, actor_id: int | None
) -> tuple[int, str]:
    """A new token: its id and the token itself (never stored)."""
    token = PREFIX + secrets.token_urlsafe(32)
    token_id = await tx.insert(  # a name taken meanwhile: Conflict (names are unique)
        "INSERT INTO api_tokens (name, chain_id, token_hash, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (name, chain_id, digest(token), actor_id, utcnow()),
    )
    await audit.record(
        tx, actor_id, "token.created", "api_token", token_id, {"name": name, "chain_id": chain_id}
    )
    return token_id, token


async def name_taken(db: Reader, name: str) -> bool:
    return await db.fetchone("SELECT 1 FROM api_tokens WHERE name = ?", (name,)) is not None


async def revoke(tx: Transaction, token_id: int, actor_id: int | None) -> bool:
    changed = await tx.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        (utcnow(), token_id),
    )
    if changed:
        await audit.record(tx, actor_id, "token.revoked", "api_token", token_id)
    return changed > 0


async def by_name(db: Reader, name: str) -> dict[str, Any] | None:
    return plain(await db.fetchone("SELECT * FROM api_tokens WHERE name = ?", (name,)))


async def get(db: Reader, token_id: int) -> dict[str, Any] | None:
    return plain(await db.fetchone("SELECT * FROM api_tokens WHERE id = ?", (token_id,)))


async def of_chain(db: Reader, chain_id: int) -> list[dict[str, Any]]:
    return plain_rows(
        await db.fetchall(
            "SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at, u.name AS who"
            " FROM api_tokens t LEFT JOIN users u ON u.id = t.created_by"
            " WHERE t.chain_id = ? ORDER BY t.revoked_at IS NOT NULL, t.name",
            (chain_id,),
        )
    )


async def live(db: Reader, token: str) -> dict[str, Any] | None:
    """The unrevoked token this is, or None."""
    return plain(
        await db.fetchone(
            "SELECT id, name, chain_id, last_used_at FROM api_tokens"
            " WHERE token_hash = ? AND revoked_at IS NULL",
            (digest(token),),
        )
    )


def stale(last_used_at: str | None) -> bool:
    """Whether ``last_used_at`` is worth writing again."""
    if last_used_at is None:
        return True
    limit = datetime.now(UTC) - timedelta(seconds=TOUCH_SECONDS)
    return datetime.fromisoformat(last_used_at) < limit


async def touch(tx: Transaction, token_id: int) -> None:
    await tx.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (utcnow(), token_id))
