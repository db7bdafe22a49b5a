"""The database on PostgreSQL (psycopg 3 and its async pool), with the interface of
:class:`server.db.Database`: ``fetchall``/``fetchone`` for reads, ``transaction()`` for
writes, ``migrate()``.

Queries are the same text as on SQLite; :func:`server.db.sql.to_psycopg` turns their
placeholders into psycopg's. Writes keep SQLite's guarantee that transactions which
write run one at a time (SQLite's ``BEGIN IMMEDIATE``): each takes a transaction-level
advisory lock first, across every server sharing the database, so code that reads then
writes inside a transaction (the claim of an assignment, the monthly summary) stays
exact under concurrent requests on several servers. Reads run on other connections of
the pool and see the last committed state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

from . import (
    MIGRATIONS_DIR,
    Conflict,
    DatabaseUnavailable,
    Migration,
    Params,
    load_migrations,
    utcnow,
)
from .sql import to_psycopg

PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
WRITERS_LOCK = 0x76697369  # pg_advisory_xact_lock key: "visi"
DatabaseFault = psycopg.Error


class Row(tuple):  # type: ignore[type-arg]
    """A row read by column name or by position, like ``sqlite3.Row``."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _rows(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Row]:
    description = cursor.description or []
    names = {column.name: i for i, column in enumerate(description)}
    kind = type("Row", (Row,), {"names": names})

    def make(values: Sequence[Any]) -> Row:
        return kind(values)  # type: ignore[no-any-return]

    return make


class Transaction:
    """One connection inside a transaction that holds the writers' lock."""

    row_lock = " FOR UPDATE SKIP LOCKED"
    """See :attr:`server.db.Transaction.row_lock`: rows another transaction holds are
    passed over, not waited for."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], memo: dict[Any, Any]) -> None:
        self._conn = conn
        self.memo = memo
        self.begun = True

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(to_psycopg(sql), params)
        return max(cursor.rowcount, 0)

    async def insert(self, sql: str, params: Params = ()) -> int:
        row = await self.fetchone(sql + " RETURNING id", params)
        if row is None:
            raise RuntimeError("the INSERT stored no row")
        return int(row[0])

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self._conn.cursor() as cursor:
            await cursor.executemany(to_psycopg(sql), list(rows))

    async def copy_rows(self, table: str, names: Sequence[str], rows: Iterable[Params]) -> None:
        listed = ", ".join(f'"{n}"' for n in names)
        async with self._conn.cursor() as cursor:
            async with cursor.copy(f'COPY "{table}" ({listed}) FROM STDIN') as copy:
                for row in rows:
                    await copy.write_row(row)

    async def batch(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        counts = []
        async with self._conn.pipeline():
            for sql, params in statements:
                cursor = await self._conn.execute(to_psycopg(sql), params)
                counts.append(cursor)
        return [max(c.rowcount, 0) for c in counts]

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        async with self._conn.cursor(row_factory=_rows) as cursor:
            await cursor.execute(to_psycopg(sql), params)
            return await cursor.fetchall()

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetch_each(self, queries: Sequence[tuple[str, Params]]) -> list[list[Any]]:
        return [await self.fetchall(sql, params) for sql, params in queries]


class PostgresDatabase:
    def __init__(self, url: str, connections: int = 10) -> None:
        self.url = url
        self.memo: dict[Any, Any] = {}
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max(2, connections),
            open=False,
            kwargs={"autocommit": True},
            timeout=30,
        )

    @property
    def description(self) -> str:
        """The URL without its password, for messages."""
        try:
            info = psycopg.conninfo.conninfo_to_dict(self.url)
        except psycopg.Error:
            return "postgresql://…"
        where = f"{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
        return f"postgresql://{info.get('user', '')}@{where}"

    async def connect(self) -> None:
        try:  # one connection first, for the server's own words if it refuses
            first = await psycopg.AsyncConnection.connect(self.url, connect_timeout=5)
            await first.close()
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise DatabaseUnavailable(f"database {self.description}: {reason}") from exc
        await self._pool.open(wait=True, timeout=10)

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        async with self._pool.connection() as conn, conn.cursor(row_factory=_rows) as cursor:
            await cursor.execute(to_psycopg(sql), params)
            return await cursor.fetchall()

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITERS_LOCK,))
                    yield Transaction(conn, self.memo)
            except psycopg.errors.IntegrityError as exc:
                raise Conflict(str(exc)) from exc

    async def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply pending migrations, all in one transaction under the writers' lock, so
        servers starting together apply each once. The baseline (the lowest number)
        stands for every SQLite migration up to it."""
        migrations = load_migrations(PG_MIGRATIONS_DIR) if migrations is None else migrations
        applied: list[str] = []
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {int(r[0]) for r in await tx.fetchall("SELECT version FROM schema_migrations")}
            baseline = min(m.version for m in migrations)
            for migration in migrations:
                if migration.version in done:
                    continue
                await tx._conn.execute(migration.sql.encode())  # a script: no parameters
                versions = (
                    [m.version for m in load_migrations() if m.version <= baseline]
                    if migration.version == baseline
                    else [migration.version]
                )
                await tx.executemany(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [(v, migration.name, utcnow()) for v in versions],
                )
                applied.append(f"{migration.version:04d}_{migration.name}")
        return applied

    async def applied_migrations(self) -> list[int]:
        rows = await self.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        return [int(r[0]) for r in rows]
