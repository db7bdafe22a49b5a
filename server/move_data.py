"""``visitscore move-data``: a SQLite data folder into PostgreSQL (and its photos into
another store, such as an S3 bucket), checked after the copy.

The target database must be empty (its schema is made here), as must the target photo
store. Rows are copied table by table in the order of their foreign keys (with
PostgreSQL's ``COPY``; foreign keys and constraints are checked as usual), in one
transaction: a failure leaves the target database as it was. ``visit_counts`` is
counted from the copied visits once at the end instead of by a trigger per visit. Then
every table's row count is compared, ``visit_counts`` against the source's, and every
photo file is read back from the target and its SHA-256 compared.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .db import load_migrations
from .photo_store import PhotoStore
from .queries import transfer

PAGE = 2000
PHOTO_COPIES = 8
_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class MoveRefused(Exception):
    """The move cannot start or did not check out; one line for the operator."""


@dataclass
class Moved:
    rows: dict[str, int] = field(default_factory=dict)
    photos: int = 0


async def _copy_table(source: Any, tx: Any, table: str) -> int:
    """One table, page by page; the next page is read from SQLite while this one is
    written."""
    names = await transfer.columns(source, table)
    key = await transfer.order_key(source, table)
    width = len(names)
    copied = 0
    pending = asyncio.ensure_future(transfer.rows(source, table, names, key, None, PAGE))
    try:
        while page := await pending:
            after = tuple(page[-1])[width:]
            pending = asyncio.ensure_future(transfer.rows(source, table, names, key, after, PAGE))
            await transfer.insert(tx, table, names, [tuple(r)[:width] for r in page])
            copied += len(page)
    finally:
        pending.cancel()
    if await transfer.has_identity(tx, table):
        await transfer.move_ids_past_copied(tx, table)
    return copied


async def _copy_photos(source: PhotoStore, target: PhotoStore) -> int:
    """Every file, ``PHOTO_COPIES`` at a time (an object store answers each request
    after a round trip): written, read back and its SHA-256 compared."""
    names: asyncio.Queue[str | None] = asyncio.Queue(maxsize=PHOTO_COPIES * 4)
    copied = 0

    async def copy_each() -> None:
        nonlocal copied
        while (name := await names.get()) is not None:
            try:
                data = await source.get(name)
                await target.put(name, data, _TYPES[name.rsplit(".", 1)[-1]])
                back = await target.get(name)
            except Exception as exc:  # the store's own error (a disk, a bucket), in one line
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise MoveRefused(f"photo file {name} could not be copied: {reason}") from exc
            if hashlib.sha256(back).digest() != hashlib.sha256(data).digest():
                raise MoveRefused(f"photo file {name} differs in {target.description}")
            copied += 1

    async def list_all() -> None:
        async for name in source.names():
            await names.put(name)
        for _ in range(PHOTO_COPIES):
            await names.put(None)

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(list_all())
            for _ in range(PHOTO_COPIES):
                group.create_task(copy_each())
    except ExceptionGroup as failed:  # the first failure, as the operator should read it
        raise failed.exceptions[0] from None
    return copied


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
    async with target.transaction() as tx, transfer.bulk_load(tx):
        for table in tables:
            moved.rows[table] = await _copy_table(source, tx, table)
            say(f"{table}: {moved.rows[table]} rows")

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
        moved.photos = await _copy_photos(source_store, target_store)
        say(f"photos: {moved.photos} files, each read back and its SHA-256 checked")
    return moved
