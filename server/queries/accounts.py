"""Links that let a person choose their own password (``account_tokens``, migration
0024): a reset they asked for, or an admin's invitation. See server/accounts.py for the
link itself (an HMAC under the instance secret); this module keeps the rows."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from ..db import Reader, Transaction, plain, utcnow
from . import audit

LIFETIMES = {"reset": timedelta(hours=1), "invite": timedelta(days=7)}
RESETS_PER_HOUR = 3
"""Reset links one person can be sent in an hour (more asks are answered the same way
and send nothing)."""


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).replace(microsecond=0).isoformat()


async def issue(tx: Transaction, user_id: int, purpose: str) -> dict[str, Any]:
    """A new link for ``purpose`` (``reset`` or ``invite``); earlier unused links of the
    person for the same purpose stop working (the newest mail is the one to use)."""
    now = utcnow()
    await tx.execute(
        "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = ?"
        " AND used_at IS NULL",
        (now, user_id, purpose),
    )
    nonce = secrets.token_hex(16)
    token_id = await tx.insert(
        "INSERT INTO account_tokens (user_id, purpose, nonce, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (user_id, purpose, nonce, now, _at(LIFETIMES[purpose])),
    )
    await audit.record(tx, None, f"account.{purpose}_sent", "user", user_id, {})
    return {"id": token_id, "user_id": user_id, "purpose": purpose, "nonce": nonce}


async def recent_resets(db: Reader, user_id: int) -> int:
    row = await db.fetchone(
        "SELECT count(*) FROM account_tokens WHERE user_id = ? AND purpose = 'reset'"
        " AND created_at > ?",
        (user_id, _at(-timedelta(hours=1))),
    )
    return int(row[0]) if row else 0


async def get(db: Reader, token_id: int) -> dict[str, Any] | None:
    return plain(await db.fetchone("SELECT * FROM account_tokens WHERE id = ?", (token_id,)))


def usable(token: dict[str, Any] | None) -> bool:
    return (
        token is not None
        and token["used_at"] is None
        and token["expires_at"] > datetime.now(UTC).replace(microsecond=0).isoformat()
    )


async def use(tx: Transaction, token_id: int, password_hash: str) -> int | None:
    """Set the password the link was for and spend the link, once (a second use, or a
    race, finds it spent: None). Every session of the person ends."""
    now = utcnow()
    changed = await tx.execute(
        "UPDATE account_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
        (now, token_id, now),
    )
    if not changed:
        return None
    row = await tx.fetchone("SELECT user_id, purpose FROM account_tokens WHERE id = ?", (token_id,))
    assert row is not None
    user_id = int(row["user_id"])
    await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    action = "user.password_chosen" if row["purpose"] == "invite" else "user.password_reset"
    await audit.record(tx, user_id, action, "user", user_id, {})
    return user_id


async def change_password(
    tx: Transaction, user_id: int, password_hash: str, keep_session: str
) -> None:
    """The person changed their own password: every other session of theirs ends."""
    await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    await tx.execute(
        "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?", (user_id, keep_session)
    )
    await audit.record(tx, user_id, "user.password_changed", "user", user_id, {})
