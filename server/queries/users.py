"""Users and their memberships (owner ↔ branches, manager ↔ chains)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..db import Reader, Row, Transaction, utcnow
from ..models import Role, User
from . import audit


async def _memberships(db: Reader, user_id: int) -> tuple[frozenset[int], frozenset[int]]:
    branches = await db.fetchall(
        "SELECT branch_id FROM branch_owners WHERE user_id = ?", (user_id,)
    )
    chains = await db.fetchall("SELECT chain_id FROM chain_managers WHERE user_id = ?", (user_id,))
    return frozenset(r[0] for r in branches), frozenset(r[0] for r in chains)


WITH_MEMBERSHIPS = (
    "SELECT u.*,"
    " (SELECT json_group_array(branch_id) FROM branch_owners WHERE user_id = u.id) AS owns,"
    " (SELECT json_group_array(chain_id) FROM chain_managers WHERE user_id = u.id) AS manages"
    " FROM users u"
)
"""A user row with the branches they own and the chains they manage: one read."""


def with_memberships(row: Row) -> User:
    return User.from_row(
        row, frozenset(json.loads(row["owns"])), frozenset(json.loads(row["manages"]))
    )


async def get(db: Reader, user_id: int) -> User | None:
    row = await db.fetchone(WITH_MEMBERSHIPS + " WHERE u.id = ?", (user_id,))
    return with_memberships(row) if row is not None else None


async def get_login(db: Reader, email: str) -> tuple[User, str] | None:
    """The user and password hash for an email (any case), or None."""
    row = await db.fetchone("SELECT * FROM users WHERE email = ?", (email.strip(),))
    if row is None:
        return None
    return User.from_row(row, *await _memberships(db, row["id"])), row["password_hash"]


async def email_taken(db: Reader, email: str) -> bool:
    return await db.fetchone("SELECT 1 FROM users WHERE email = ?", (email.strip(),)) is not None


async def create(
    tx: Transaction,
    *,
    email: str,
    name: str,
    role: Role,
    password_hash: str,
    locale: str | None = None,
    branch_ids: Iterable[int] = (),
    chain_ids: Iterable[int] = (),
    actor_id: int | None = None,
) -> int:
    user_id = await tx.insert(
        "INSERT INTO users (email, name, role, password_hash, locale, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (email.strip(), name.strip(), role, password_hash, locale, utcnow()),
    )
    for branch_id in branch_ids:
        await tx.execute(
            "INSERT INTO branch_owners (user_id, branch_id) VALUES (?, ?)", (user_id, branch_id)
        )
    for chain_id in chain_ids:
        await tx.execute(
            "INSERT INTO chain_managers (user_id, chain_id) VALUES (?, ?)", (user_id, chain_id)
        )
    await audit.record(tx, actor_id, "user.created", "user", user_id, {"role": role})
    return user_id


async def set_locale(tx: Transaction, user_id: int, locale: str | None) -> None:
    await tx.execute("UPDATE users SET locale = ? WHERE id = ?", (locale, user_id))


async def count_by_role(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT role, count(*) FROM users WHERE active = 1 GROUP BY role")
    return {r[0]: r[1] for r in rows}


async def list_all(db: Reader) -> list[User]:
    """Everyone, with their memberships (three queries, whatever the number of users)."""
    owned: dict[int, set[int]] = {}
    for r in await db.fetchall("SELECT user_id, branch_id FROM branch_owners"):
        owned.setdefault(r[0], set()).add(r[1])
    managed: dict[int, set[int]] = {}
    for r in await db.fetchall("SELECT user_id, chain_id FROM chain_managers"):
        managed.setdefault(r[0], set()).add(r[1])
    rows = await db.fetchall("SELECT * FROM users ORDER BY role, name")
    return [
        User.from_row(r, frozenset(owned.get(r["id"], ())), frozenset(managed.get(r["id"], ())))
        for r in rows
    ]


async def active_admins(db: Reader) -> int:
    row = await db.fetchone("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1")
    return int(row[0]) if row else 0


async def set_active(tx: Transaction, user_id: int, active: bool, actor_id: int) -> None:
    """Deactivated users keep their past visits; their sessions end with their access."""
    await tx.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
    if not active:
        await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    await audit.record(
        tx, actor_id, "user.activated" if active else "user.deactivated", "user", user_id
    )


async def set_password(tx: Transaction, user_id: int, password_hash: str, actor_id: int) -> None:
    """A new password ends every session the user had."""
    await tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
    await tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
    await audit.record(tx, actor_id, "user.password_reset", "user", user_id)


async def set_role(
    tx: Transaction,
    user_id: int,
    role: Role,
    branch_ids: Iterable[int],
    chain_ids: Iterable[int],
    actor_id: int,
) -> None:
    """A new role and memberships, in full: an owner's branches, a manager's chains."""
    await tx.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
    await tx.execute("DELETE FROM branch_owners WHERE user_id = ?", (user_id,))
    await tx.execute("DELETE FROM chain_managers WHERE user_id = ?", (user_id,))
    branches, chains = sorted(set(branch_ids)), sorted(set(chain_ids))
    await tx.executemany(
        "INSERT INTO branch_owners (user_id, branch_id) VALUES (?, ?)",
        [(user_id, b) for b in branches],
    )
    await tx.executemany(
        "INSERT INTO chain_managers (user_id, chain_id) VALUES (?, ?)",
        [(user_id, c) for c in chains],
    )
    await audit.record(
        tx,
        actor_id,
        "user.role_set",
        "user",
        user_id,
        {"role": role, "branches": branches, "chains": chains},
    )
