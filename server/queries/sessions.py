"""Login sessions and failed-login records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..db import Reader, Transaction, utcnow
from ..models import User
from . import users


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


async def create(
    tx: Transaction, token_hash: str, user_id: int, days: int, user_agent: str
) -> None:
    now = datetime.now(UTC)
    await tx.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, user_agent)"
        " VALUES (?, ?, ?, ?, ?)",
        (token_hash, user_id, _iso(now), _iso(now + timedelta(days=days)), user_agent[:300]),
    )
    # Keep the table small: drop this user's expired sessions.
    await tx.execute(
        "DELETE FROM sessions WHERE user_id = ? AND expires_at < ?", (user_id, _iso(now))
    )


async def user_for(db: Reader, token_hash: str) -> User | None:
    """The active user a live session belongs to, with their memberships: one read, as
    every logged-in request makes it."""
    row = await db.fetchone(
        users.WITH_MEMBERSHIPS + " JOIN sessions s ON s.user_id = u.id"
        " WHERE s.token_hash = ? AND s.expires_at > ? AND u.active = 1",
        (token_hash, utcnow()),
    )
    return users.with_memberships(row) if row is not None else None


async def delete(tx: Transaction, token_hash: str) -> None:
    await tx.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def record_failure(tx: Transaction, email: str, address: str) -> None:
    await tx.execute(
        "INSERT INTO login_failures (email, address, at) VALUES (?, ?, ?)",
        (email.strip(), address, utcnow()),
    )


async def recent_failures(
    db: Reader, email: str, address: str, seconds: int
) -> tuple[tuple[int, str | None], tuple[int, str | None]]:
    """Failures in the last ``seconds`` with the time of the latest: for this account from
    this address, and for this address whatever the account."""
    since = _iso(datetime.now(UTC) - timedelta(seconds=seconds))
    pair = await db.fetchone(
        "SELECT count(*), max(at) FROM login_failures WHERE email = ? AND address = ? AND at > ?",
        (email.strip(), address, since),
    )
    by_address = await db.fetchone(
        "SELECT count(*), max(at) FROM login_failures WHERE address = ? AND at > ?",
        (address, since),
    )
    return (
        (int(pair[0]), pair[1]) if pair else (0, None),
        (int(by_address[0]), by_address[1]) if by_address else (0, None),
    )


async def clear_failures(tx: Transaction, email: str, address: str) -> None:
    """After a good login: this account's failures from this address (no one else's)."""
    await tx.execute(
        "DELETE FROM login_failures WHERE email = ? AND address = ?", (email.strip(), address)
    )
