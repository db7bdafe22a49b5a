"""Users and their memberships (owner ↔ branches, manager ↔ chains)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..db import Reader, Row, Transaction, utcnow
from ..models import Role, User
from ..user_import import Known, UserRow
from . import accounts, audit, notifications, roster


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


async def by_email(db: Reader, email: str) -> User | None:
    row = await db.fetchone(WITH_MEMBERSHIPS + " WHERE u.email = ?", (email.strip(),))
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


PER_PAGE = 50


async def search(
    db: Reader,
    text: str = "",
    role: str | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[User], int]:
    """A page of people by name (name or address containing ``text``, of a role, active
    or not), with their memberships, and how many match."""
    clauses, params = ["1 = 1"], {}  # type: ignore[var-annotated]
    if text:
        clauses.append("(lower(u.name) LIKE :q OR lower(u.email) LIKE :q)")
        params["q"] = f"%{text.lower()}%"
    if role:
        clauses.append("u.role = :role")
        params["role"] = role
    if active is not None:
        clauses.append("u.active = :active")
        params["active"] = 1 if active else 0
    where = " AND ".join(clauses)
    total = await db.fetchone(f"SELECT count(*) FROM users u WHERE {where}", params)
    rows = await db.fetchall(
        f"{WITH_MEMBERSHIPS} WHERE {where} ORDER BY u.name, u.id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit or PER_PAGE, "offset": offset},
    )
    return [with_memberships(r) for r in rows], int(total[0]) if total else 0


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


async def import_known(db: Reader) -> Known:
    """What imported rows are checked against (server/user_import.py)."""
    emails = {r[0].lower() for r in await db.fetchall("SELECT email FROM users")}
    branches: dict[str, list[int]] = {}
    for r in await db.fetchall(
        "SELECT b.id, b.code, c.code AS chain FROM branches b JOIN chains c ON c.id = b.chain_id"
    ):
        branches.setdefault(r["code"], []).append(r["id"])
        branches[f"{r['chain']}/{r['code']}"] = [r["id"]]
    chains = {r["code"]: r["id"] for r in await db.fetchall("SELECT id, code FROM chains")}
    return Known(emails, branches, chains)


async def add_imported(
    tx: Transaction, rows: list[UserRow], actor_id: int | None, who: str, no_password: str
) -> list[int]:
    """Everyone in the rows, each invited by e-mail to choose a password (``who`` is
    named in the invitation; ``no_password`` is the hash no password matches),
    shoppers with their profile; all in the caller's transaction."""
    added = []
    for row in rows:
        user_id = await create(
            tx,
            email=row.email,
            name=row.name,
            role=row.role,  # type: ignore[arg-type]
            password_hash=no_password,
            locale=row.locale,
            branch_ids=row.branch_ids,
            chain_ids=row.chain_ids,
            actor_id=actor_id,
        )
        if row.profile is not None:
            await roster.save_profile(tx, user_id, row.profile, actor_id)
        token = await accounts.issue(tx, user_id, "invite")
        params = {"token": token["id"], "email": row.email, "who": who, "role": row.role}
        await notifications.queue(tx, "invitation", params, [user_id])
        added.append(user_id)
    return added
