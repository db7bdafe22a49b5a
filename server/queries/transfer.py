"""Whole tables, for ``visitscore move-data``: a SQLite data folder copied into
PostgreSQL. The source is always SQLite (its catalogue is read with PRAGMAs), the
target always PostgreSQL (its identity counters are moved past the copied ids)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ..db import Reader, Transaction

SKIPPED = {"schema_migrations", "visit_counts"}
"""Not copied: the target's migrations record themselves, and visit_counts is counted
again from the copied visits (then checked against the source's)."""


async def tables_in_order(db: Reader) -> list[str]:
    """The source's tables, each after every table its foreign keys point to."""
    names = [
        r[0]
        for r in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
    ]
    needs = {
        name: {r[2] for r in await db.fetchall(f'PRAGMA foreign_key_list("{name}")')} - {name}
        for name in names
    }
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and needs[n] <= set(ordered)]
        if not ready:
            raise RuntimeError("the tables' foreign keys form a cycle")
        ordered.extend(ready)
    return ordered


async def columns(db: Reader, table: str) -> list[str]:
    return [r[1] for r in await db.fetchall(f'PRAGMA table_info("{table}")')]


async def order_key(db: Reader, table: str) -> list[str]:
    """The columns a table is paged by: its rowid, or for a WITHOUT ROWID table (the
    monthly rollups) its primary key."""
    row = await db.fetchone("SELECT sql FROM sqlite_master WHERE name = ?", (table,))
    if row is None or "WITHOUT ROWID" not in " ".join(str(row[0]).upper().split()):
        return ["rowid"]
    info = await db.fetchall(f'PRAGMA table_info("{table}")')
    return [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]


async def rows(
    db: Reader,
    table: str,
    names: list[str],
    key: list[str],
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Any]:
    """A page of the table in ``key`` order after the key ``after`` (None: from the
    start); each row ends with its key's values."""
    listed = ", ".join(f'"{n}"' for n in names)
    keys = ", ".join(k if k == "rowid" else f'"{k}"' for k in key)
    where = f"WHERE ({keys}) > ({', '.join('?' for _ in key)})" if after is not None else ""
    return await db.fetchall(
        f'SELECT {listed}, {keys} FROM "{table}" {where} ORDER BY {keys} LIMIT ?',
        (*(after or ()), limit),
    )


async def count(db: Reader, table: str) -> int:
    row = await db.fetchone(f'SELECT count(*) FROM "{table}"')
    return int(row[0]) if row else 0


async def all_rows(db: Reader, table: str, order: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await db.fetchall(f'SELECT * FROM "{table}" ORDER BY {order}')]


async def insert(tx: Transaction, table: str, names: list[str], values: list[Any]) -> None:
    await tx.copy_rows(table, names, values)


@asynccontextmanager
async def bulk_load(tx: Transaction) -> AsyncIterator[None]:
    """PostgreSQL, inside the copy's transaction (no other session ever sees the schema
    without them): the foreign keys, the indexes that back no constraint and the
    trigger that counts visits are taken away while the rows arrive, so that no row
    costs a key check, an index insert or a counter update of its own; then the
    indexes are built, every foreign key is added back (which checks every copied row
    at once) and ``visit_counts`` is counted from the visits."""
    await tx.execute("ALTER TABLE visits DISABLE TRIGGER visit_counts_insert")
    keys = await _drop_foreign_keys(tx)
    indexes = await _drop_indexes(tx)
    yield
    for definition in indexes:
        await tx.execute(definition)
    for table, name, definition in keys:
        await tx.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    await _recount_visits(tx)
    await tx.execute("ALTER TABLE visits ENABLE TRIGGER visit_counts_insert")


async def _drop_foreign_keys(tx: Transaction) -> list[tuple[str, str, str]]:
    """The schema's foreign keys (table, name, definition), dropped."""
    keys = [
        (r[0], r[1], r[2])
        for r in await tx.fetchall(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY c.oid"
        )
    ]
    for table, name, _definition in keys:
        await tx.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


async def _drop_indexes(tx: Transaction) -> list[str]:
    """The schema's indexes that back no constraint, dropped; answers the statements
    that make them again."""
    indexes = [
        (r[0], r[1])
        for r in await tx.fetchall(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema()"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY i.indexrelid"
        )
    ]
    for name, _definition in indexes:
        await tx.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes]


async def _recount_visits(tx: Transaction) -> None:
    """``visit_counts`` made again from the visits themselves."""
    await tx.execute("DELETE FROM visit_counts")
    await tx.execute(
        "INSERT INTO visit_counts (questionnaire_id, questionnaire_version, state, visits)"
        " SELECT questionnaire_id, questionnaire_version, state, count(*) FROM visits"
        " GROUP BY questionnaire_id, questionnaire_version, state"
    )


async def move_ids_past_copied(tx: Transaction, table: str) -> None:
    """PostgreSQL: the table's identity counter continues after the largest copied id."""
    await tx.fetchone(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
        f' coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)'
    )


async def has_identity(db: Reader, table: str) -> bool:
    """PostgreSQL: whether the table's ``id`` is an identity column."""
    row = await db.fetchone(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? AND column_name = 'id' AND is_identity = 'YES'",
        (table,),
    )
    return row is not None
