"""The SQLite wrapper: WAL, foreign keys, one writer, a few readers, migrations.

All writes go through :meth:`Database.transaction`, which holds an asyncio lock around
``BEGIN IMMEDIATE … COMMIT`` on the single writer connection, so requests in this
process never race each other for the write lock. Writers in other processes (uvicorn
workers, CLI commands) queue with it on a file lock beside the database (see
:func:`_enter_gate`); anything else (the sqlite3 shell, a backup reading) is handled by
SQLite's busy timeout. Reads run on a small
pool of separate connections, each on its own thread, and see the last committed
state (WAL lets them run while a write is in progress).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"
BUSY_TIMEOUT_MS = 10_000
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


Row = Mapping[str, Any]
"""What a query answers per row, for code above queries/: read by column name. (SQLite's
rows also read by position; nothing outside queries/ and db/ relies on it.)"""


class Conflict(Exception):
    """A key or constraint refused a write (most often a unique key: another request
    stored the same thing first). The transaction was rolled back; nothing was written."""


class DatabaseUnavailable(Exception):
    """The database is misconfigured or cannot be reached; the message is one line for
    an operator."""


DatabaseFault = sqlite3.DatabaseError
"""The database file could not be used (not a database, corrupt, unreadable): the
driver's own error, named here so that nothing above db/ needs to know the driver."""


def plain(row: sqlite3.Row | None) -> dict[str, Any] | None:
    """A row as a plain dict, for code above queries/ (None stays None)."""
    return dict(row) if row is not None else None


def plain_rows(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]


def utcnow() -> str:
    """Server timestamps: ISO 8601 in UTC with an explicit offset, second precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class Reader(Protocol):
    """Anything queries can read from: the database's read pool or an open transaction."""

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None: ...

    @property
    def memo(self) -> dict[Any, Any]:
        """Values that never change once written (a published questionnaire version),
        remembered per database by the queries that read them."""
        ...


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = re.fullmatch(r"(\d{4})_([a-z0-9_]+)\.sql", path.name)
        if not match:
            raise RuntimeError(f"migration file name must be NNNN_name.sql: {path.name}")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text("utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migrations share a number")
    return found


def split_statements(sql: str) -> list[str]:
    """Split a script into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in current.splitlines()
    ):
        raise RuntimeError(f"incomplete SQL statement at end of migration: {current[:80]!r}")
    return statements


async def _open(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    # FULL: in WAL mode NORMAL may lose the last commits on a power cut, and the phone
    # drops its copy once a visit is acknowledged. Every acknowledged write is synced.
    await conn.execute("PRAGMA synchronous = FULL")
    return conn


def _on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> Awaitable[T]:
    """Run ``work`` with the raw connection on the connection's own thread: one hop, however
    many statements it runs. (aiosqlite's own methods are built on this same call.)"""
    return conn._execute(work, conn._conn)


def _run(sql: str, params: Params) -> Callable[[sqlite3.Connection], int]:
    def work(raw: sqlite3.Connection) -> int:
        cursor = raw.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    return work


def _roll_back(raw: sqlite3.Connection) -> None:
    if raw.in_transaction:
        raw.execute("ROLLBACK").close()


def _enter_gate(gate: int) -> None:
    """Take the writers' gate (a ``flock`` on ``<database>-writers``) shared by every
    process serving this database: the writers take turns on it at once, where SQLite's
    busy handler would sleep them 1 to 100 ms between tries. Waits at most the busy
    timeout, then fails as SQLite would; a process that dies loses the lock with it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.0001
    while True:
        try:
            fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError("database is locked") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.002)


class Transaction:
    """The writer connection inside ``BEGIN IMMEDIATE``; use only within the block.

    Each call is one hop to the writer's thread, and the write lock is held from the
    first to the last, so a write path should make few calls: :meth:`executemany` for
    rows alike, :meth:`batch` for several statements whose results it does not need.
    ``BEGIN IMMEDIATE`` goes with the first call, in the same hop."""

    row_lock = ""
    """Appended to a SELECT whose rows the transaction will change and other writers
    should pass over (a job queue): nothing here, where one writer runs at a time."""

    def __init__(self, conn: aiosqlite.Connection, memo: dict[Any, Any], gate: int) -> None:
        self._conn = conn
        self.memo = memo
        self.begun = False
        self._gate = gate

    def _hop(self, work: Callable[[sqlite3.Connection], T]) -> Awaitable[T]:
        def run(raw: sqlite3.Connection) -> T:
            if not self.begun:
                # Writers of every process queue on the gate (the kernel wakes the next
                # one), instead of polling SQLite's lock in busy-timeout sleeps.
                _enter_gate(self._gate)
                try:
                    raw.execute("BEGIN IMMEDIATE").close()
                except BaseException:
                    fcntl.flock(self._gate, fcntl.LOCK_UN)
                    raise
                self.begun = True
            return work(raw)

        return _on_thread(self._conn, run)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; answers the number of rows it changed."""
        return await self._hop(_run(sql, params))

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one ``INSERT`` of a table with an ``id`` key; answers the new row's id
        (``RETURNING id``, as PostgreSQL does it, not SQLite's last row id)."""
        row = await self.fetchone(sql + " RETURNING id", params)
        if row is None:
            raise RuntimeError("the INSERT stored no row")
        return int(row[0])

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        await self._hop(lambda raw: raw.executemany(sql, rows).close())

    async def copy_rows(self, table: str, names: Sequence[str], rows: Iterable[Params]) -> None:
        """Many rows into one table, by the engine's fastest way (PostgreSQL's ``COPY``;
        here one ``executemany``); the values in the order of ``names``."""
        listed = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" * len(names))
        await self.executemany(f'INSERT INTO "{table}" ({listed}) VALUES ({marks})', rows)

    async def batch(self, statements: Sequence[tuple[str, Params]]) -> list[int]:
        """Several statements in one hop, in order; answers each one's changed rows."""

        def work(raw: sqlite3.Connection) -> list[int]:
            return [_run(sql, params)(raw) for sql, params in statements]

        return await self._hop(work)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        def work(raw: sqlite3.Connection) -> list[sqlite3.Row]:
            cursor = raw.execute(sql, params)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()

        return await self._hop(work)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetch_each(self, queries: Sequence[tuple[str, Params]]) -> list[list[sqlite3.Row]]:
        """Several reads in one hop: each query's rows, in order."""

        def work(raw: sqlite3.Connection) -> list[list[sqlite3.Row]]:
            out = []
            for sql, params in queries:
                cursor = raw.execute(sql, params)
                try:
                    out.append(cursor.fetchall())
                finally:
                    cursor.close()
            return out

        return await self._hop(work)


class Database:
    def __init__(self, path: Path, read_connections: int = 3) -> None:
        self.path = Path(path)
        self._read_count = max(1, read_connections)
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self.memo: dict[Any, Any] = {}

    async def connect(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Readable by the server's user only; SQLite gives the -wal and -shm files the
        # database's own permissions.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._gate = os.open(str(self.path) + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
        self._writer = await _open(self.path)
        mode = await self._writer.execute_fetchall("PRAGMA journal_mode = WAL")
        if next(iter(mode))[0].lower() != "wal":
            raise RuntimeError(f"could not put {self.path} in WAL mode")
        for _ in range(self._read_count):
            reader = await _open(self.path)
            await reader.execute("PRAGMA query_only = ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)

    async def close(self) -> None:
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = asyncio.Queue()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
            os.close(self._gate)

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Reads -----------------------------------------------------------------

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        reader = await self._readers.get()
        try:
            return list(await reader.execute_fetchall(sql, params))
        finally:
            self._readers.put_nowait(reader)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    # Writes ----------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One write transaction; commits on success, rolls back on any exception."""
        if self._writer is None:
            raise RuntimeError("database is not connected")
        async with self._write_lock:
            conn = self._writer
            tx = Transaction(conn, self.memo, self._gate)
            gate = self._gate

            def roll_back(raw: sqlite3.Connection) -> None:
                try:
                    _roll_back(raw)
                finally:
                    if tx.begun:
                        fcntl.flock(gate, fcntl.LOCK_UN)

            def commit(raw: sqlite3.Connection) -> None:
                try:
                    raw.execute("COMMIT").close()
                except BaseException:
                    _roll_back(raw)
                    raise
                finally:
                    fcntl.flock(gate, fcntl.LOCK_UN)

            try:
                yield tx
            except sqlite3.IntegrityError as exc:
                await _on_thread(conn, roll_back)
                raise Conflict(str(exc)) from exc
            except BaseException:
                # Also when this task was cancelled before its first hop ran: hops run in
                # order, so this one finds (and ends) whatever that hop began.
                await _on_thread(conn, roll_back)
                raise
            else:
                if tx.begun:
                    await _on_thread(conn, commit)

    # Migrations -------------------------------------------------------------

    async def migrate(self, migrations: list[Migration] | None = None) -> list[str]:
        """Apply pending migrations in order, each in its own transaction.

        Safe when several processes start at once: each migration re-checks the
        record inside ``BEGIN IMMEDIATE``, so none is applied twice.
        """
        migrations = load_migrations() if migrations is None else migrations
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        applied: list[str] = []
        for migration in migrations:
            async with self.transaction() as tx:
                done = await tx.fetchone(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                )
                if done:
                    continue
                for statement in split_statements(migration.sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, utcnow()),
                )
                applied.append(f"{migration.version:04d}_{migration.name}")
        return applied

    async def applied_migrations(self) -> list[int]:
        rows = await self.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        return [int(r[0]) for r in rows]


def backup_database(source: Path, dest: Path) -> None:
    """A consistent copy of a live database through SQLite's online backup API.

    Runs on its own connection, so it reads one committed snapshot while the server
    keeps writing (WAL); pages changed during the copy make SQLite restart it.
    """
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
