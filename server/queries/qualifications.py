"""Qualifications: named certificates shoppers hold, each until a day (or for good). The
rule that an assignment requiring one goes only to a shopper who holds it is written in
queries/assignments.py (``QUALIFIED``), where assignments are given and claimed."""

from __future__ import annotations

from typing import Any

from ..db import Reader, Transaction, plain_rows, utcnow
from . import audit

NAME_MAX = 80


async def list_all(db: Reader) -> list[dict[str, Any]]:
    """Every qualification by name, with how many shoppers hold it today."""
    return plain_rows(
        await db.fetchall(
            "SELECT q.id, q.name, (SELECT count(*) FROM shopper_qualifications s"
            "  WHERE s.qualification_id = q.id AND (s.expires_on IS NULL OR s.expires_on >= ?))"
            " AS holders FROM qualifications q ORDER BY lower(q.name), q.id",
            (utcnow()[:10],),
        )
    )


async def get(db: Reader, qualification_id: int) -> dict[str, Any] | None:
    rows = plain_rows(
        await db.fetchall("SELECT id, name FROM qualifications WHERE id = ?", (qualification_id,))
    )
    return rows[0] if rows else None


async def named(db: Reader, name: str) -> dict[str, Any] | None:
    rows = plain_rows(
        await db.fetchall(
            "SELECT id, name FROM qualifications WHERE lower(name) = lower(?)", (name,)
        )
    )
    return rows[0] if rows else None


async def create(tx: Transaction, name: str, actor_id: int) -> int:
    qualification_id = await tx.insert(
        "INSERT INTO qualifications (name, created_by, created_at) VALUES (?, ?, ?)",
        (name, actor_id, utcnow()),
    )
    await audit.record(
        tx, actor_id, "qualification.created", "qualification", qualification_id, {"name": name}
    )
    return qualification_id


async def held_by(db: Reader, user_id: int) -> list[dict[str, Any]]:
    """A shopper's qualifications, each with its expiry and whether it holds today."""
    rows = plain_rows(
        await db.fetchall(
            "SELECT q.id, q.name, s.expires_on FROM shopper_qualifications s"
            " JOIN qualifications q ON q.id = s.qualification_id WHERE s.user_id = ?"
            " ORDER BY lower(q.name)",
            (user_id,),
        )
    )
    today = utcnow()[:10]
    return [{**r, "current": r["expires_on"] is None or r["expires_on"] >= today} for r in rows]


async def grant(
    tx: Transaction, user_id: int, qualification_id: int, expires_on: str | None, actor_id: int
) -> None:
    """Give (or renew) a qualification, until ``expires_on`` (None: for good)."""
    await tx.execute(
        "INSERT INTO shopper_qualifications (user_id, qualification_id, expires_on, granted_by,"
        " granted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, qualification_id) DO UPDATE"
        " SET expires_on = excluded.expires_on, granted_by = excluded.granted_by,"
        " granted_at = excluded.granted_at",
        (user_id, qualification_id, expires_on, actor_id, utcnow()),
    )
    await audit.record(
        tx,
        actor_id,
        "qualification.granted",
        "user",
        user_id,
        {"qualification_id": qualification_id, "expires_on": expires_on},
    )


async def revoke(tx: Transaction, user_id: int, qualification_id: int, actor_id: int) -> bool:
    changed = await tx.execute(
        "DELETE FROM shopper_qualifications WHERE user_id = ? AND qualification_id = ?",
        (user_id, qualification_id),
    )
    if changed:
        await audit.record(
            tx,
            actor_id,
            "qualification.revoked",
            "user",
            user_id,
            {"qualification_id": qualification_id},
        )
    return changed > 0
