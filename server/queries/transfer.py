"""Whole tables, for ``visitscore move-data``: a SQLite data folder copied into
PostgreSQL. The source is always SQLite (its catalogue is read with PRAGMAs), the
target always PostgreSQL (its identity counters are moved past the copied ids)."""

from __future__ import annotations

from typing import Any

from ..db import Reader, Transaction

SKIPPED = {"schema_migrations", "visit_counts"}
"""Not copied: the target's migrations record themselves, and visit_counts is kept by
the target's own triggers as the visits arrive (then checked against the source's)."""


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


async def rows(db: Reader, table: str, names: list[str], after: int, limit: int) -> list[Any]:
    """A page of the table in rowid order; each row ends with its rowid."""
    listed = ", ".join(f'"{n}"' for n in names)
    return await db.fetchall(
        f'SELECT {listed}, rowid FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT ?',
        (after, limit),
    )


async def count(db: Reader, table: str) -> int:
    row = await db.fetchone(f'SELECT count(*) FROM "{table}"')
    return int(row[0]) if row else 0


async def all_rows(db: Reader, table: str, order: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await db.fetchall(f'SELECT * FROM "{table}" ORDER BY {order}')]


async def insert(tx: Transaction, table: str, names: list[str], values: list[Any]) -> None:
    listed = ", ".join(f'"{n}"' for n in names)
    marks = ", ".join("?" * len(names))
    await tx.executemany(f'INSERT INTO "{table}" ({listed}) VALUES ({marks})', values)


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
