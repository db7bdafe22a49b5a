"""``visitscore move-data``: a SQLite data folder into PostgreSQL (and its photos into
another store, such as an S3 bucket), checked after the copy.

The target database must be empty (its schema is made here), as must the target photo
store. Rows are copied table by table in the order of their foreign keys, in one
transaction: a failure leaves the target database as it was. Then every table's row
count is compared, ``visit_counts`` (kept by the target's triggers) against the
source's, and every photo file is read back from the target and its SHA-256 compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .db import load_migrations
from .photo_store import PhotoStore
from .queries import transfer

PAGE = 2000
_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class MoveRefused(Exception):
    """The move cannot start or did not check out; one line for the operator."""


@dataclass
class Moved:
    rows: dict[str, int] = field(default_factory=dict)
    photos: int = 0


async def move(
    source: Any,
    target: Any,
    source_store: PhotoStore,
    target_store: PhotoStore | None,
    say: Callable[[str], None] = lambda line: None,
) -> Moved:
    latest = max(m.version for m in load_migrations())
    if max(await source.applied_migrations(), default=0) < latest:
        raise MoveRefused("the source database is not up to date: run visitscore migrate first")
    await target.migrate()
    tables = [t for t in await transfer.tables_in_order(source) if t not in transfer.SKIPPED]
    for table in [*tables, "visit_counts"]:
        if await transfer.count(target, table):
            raise MoveRefused(f"the target database is not empty ({table} has rows)")
    if target_store is not None:
        async for _name in target_store.names():
            raise MoveRefused(f"the target photo store is not empty ({target_store.description})")

    moved = Moved()
    async with target.transaction() as tx:
        for table in tables:
            names = await transfer.columns(source, table)
            after, copied = 0, 0
            while True:
                page = await transfer.rows(source, table, names, after, PAGE)
                if not page:
                    break
                await transfer.insert(tx, table, names, [tuple(r)[:-1] for r in page])
                after, copied = page[-1][-1], copied + len(page)
            if await transfer.has_identity(tx, table):
                await transfer.move_ids_past_copied(tx, table)
            moved.rows[table] = copied
            say(f"{table}: {copied} rows")

    for table in tables:
        there = await transfer.count(target, table)
        if there != await transfer.count(source, table):
            raise MoveRefused(f"{table}: {there} rows in the target, not {moved.rows[table]}")
    order = "questionnaire_id, questionnaire_version, state"
    kept = [r for r in await transfer.all_rows(target, "visit_counts", order) if r[3]]
    known = [r for r in await transfer.all_rows(source, "visit_counts", order) if r[3]]
    if kept != known:
        raise MoveRefused("visit_counts in the target differ from the source's")

    if target_store is not None:
        async for name in source_store.names():
            data = await source_store.get(name)
            await target_store.put(name, data, _TYPES[name.rsplit(".", 1)[-1]])
            back = await target_store.get(name)
            if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
                raise MoveRefused(f"photo file {name} differs in {target_store.description}")
            moved.photos += 1
        say(f"photos: {moved.photos} files, each read back and its SHA-256 checked")
    return moved
