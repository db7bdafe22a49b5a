from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.db import (
    Conflict,
    Database,
    Migration,
    backup_database,
    load_migrations,
    split_statements,
)
from server.migrate import migrate_all
from server.queries import questionnaires
from server.settings import Settings
from tests.conftest import build_demo


async def test_migrations_are_recorded_and_never_applied_twice(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.db") as db:
        first = await migrate_all(db)
        assert first[0] == "0001_initial"
        assert "default questionnaire" in first
        again = await migrate_all(db)
        assert again == []
        assert await db.applied_migrations() == [m.version for m in load_migrations()]
    # A restart (new connection) applies nothing either.
    async with Database(tmp_path / "a.db") as db:
        assert await migrate_all(db) == []


async def test_two_processes_starting_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    a, b = Database(path), Database(path)
    await a.connect()
    await b.connect()
    try:
        results = await asyncio.gather(migrate_all(a), migrate_all(b))
        applied = [name for result in results for name in result]
        assert applied.count("0001_initial") == 1
        assert applied.count("default questionnaire") == 1
        rows = await a.fetchall("SELECT version FROM schema_migrations")
        assert len(rows) == len(load_migrations())
    finally:
        await a.close()
        await b.close()


async def test_a_failing_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    broken = [
        Migration(1, "ok", "CREATE TABLE t (x INTEGER);"),
        Migration(2, "bad", "CREATE TABLE u (y INTEGER);\nINSERT INTO nope VALUES (1);"),
    ]
    async with Database(tmp_path / "b.db") as db:
        with pytest.raises(sqlite3.OperationalError):
            await db.migrate(broken)
        assert await db.applied_migrations() == [1]
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert "t" in tables and "u" not in tables


async def test_wal_and_foreign_keys_are_on(db: Database) -> None:
    mode = await db.fetchone("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    with pytest.raises(Conflict):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO branches (chain_id, code, name, region, created_at)"
                " VALUES (999, 'X', 'X', 'R', 'now')"
            )


async def test_a_failed_transaction_writes_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO chains (code, name, created_at) VALUES ('A', 'A', 'x')")
            raise RuntimeError("boom")
    assert await db.fetchall("SELECT * FROM chains") == []


async def test_many_concurrent_writers_and_readers_never_see_locked(db: Database) -> None:
    async def write(i: int) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO chains (code, name, created_at) VALUES (?, ?, 'x')",
                (f"C{i}", f"Chain {i}"),
            )

    async def read() -> int:
        row = await db.fetchone("SELECT count(*) FROM chains")
        return int(row[0]) if row else 0

    tasks = [write(i) for i in range(60)] + [read() for _ in range(60)]
    await asyncio.gather(*tasks)
    assert await read() == 60


async def test_two_connections_writing_the_same_file_wait_instead_of_failing(
    tmp_path: Path,
) -> None:
    """Two uvicorn workers are two Database objects on one file: busy_timeout serialises."""
    path = tmp_path / "workers.db"
    a, b = Database(path), Database(path)
    await a.connect()
    await b.connect()
    await migrate_all(a)
    try:

        async def write(db: Database, i: int) -> None:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO chains (code, name, created_at) VALUES (?, 'n', 'x')", (f"W{i}",)
                )

        await asyncio.gather(*(write(a if i % 2 else b, i) for i in range(40)))
        row = await a.fetchone("SELECT count(*) FROM chains")
        assert row is not None and row[0] == 40
    finally:
        await a.close()
        await b.close()


async def test_published_questionnaire_versions_cannot_change(db: Database) -> None:
    definition = await questionnaires.get_published(db, "default", 1)
    assert definition is not None
    with pytest.raises(Conflict, match="immutable"):
        async with db.transaction() as tx:
            await tx.execute(
                "UPDATE questionnaire_versions SET definition = ?"
                " WHERE questionnaire_id = 'default'",
                (json.dumps({**definition, "title": {"en": "changed"}}),),
            )
    with pytest.raises(Conflict, match="immutable"):
        async with db.transaction() as tx:
            await tx.execute(
                "DELETE FROM questionnaire_versions WHERE questionnaire_id = 'default'"
            )
    assert await questionnaires.get_published(db, "default", 1) == definition


async def test_publishing_again_makes_a_new_version(db: Database) -> None:
    definition = await questionnaires.get_published(db, "default", 1)
    assert definition is not None
    async with db.transaction() as tx:
        version = await questionnaires.publish_new_version(tx, {**definition, "version": 99})
    assert version == 2
    assert (await questionnaires.latest_published(db, "default") or {})["version"] == 2
    assert (await questionnaires.get_published(db, "default", 1) or {})["version"] == 1


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    sql = """
    CREATE TABLE a (x);
    -- a comment
    CREATE TRIGGER t BEFORE UPDATE ON a BEGIN SELECT RAISE(ABORT, 'no; never'); END;
    INSERT INTO a VALUES (';');
    """
    statements = split_statements(sql)
    assert len(statements) == 3
    assert statements[1].startswith("-- a comment\n    CREATE TRIGGER")
    assert statements[1].rstrip().endswith("END;")


async def test_backup_while_writing_gives_a_consistent_copy(db: Database, tmp_path: Path) -> None:
    stop = asyncio.Event()

    async def keep_writing() -> None:
        i = 0
        while not stop.is_set():
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO chains (code, name, created_at) VALUES (?, 'n', 'x')", (f"B{i}",)
                )
            i += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.05)
    dest = tmp_path / "copy.db"
    await asyncio.to_thread(backup_database, db.path, dest)
    stop.set()
    await writer
    copy = sqlite3.connect(dest)
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM chains").fetchone()[0] > 0
        assert copy.execute("SELECT count(*) FROM questionnaire_versions").fetchone()[0] == 1
    finally:
        copy.close()


def test_the_database_secret_and_photos_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_demo(data)
    with TestClient(create_app(Settings(data_dir=data))) as client:
        assert client.get("/healthz").status_code == 200
        files = [p for p in data.rglob("*") if p.is_file()]
        folders = [data, *(p for p in data.rglob("*") if p.is_dir())]
        names = {p.name for p in files}
        assert {
            "visitscore.db",
            "visitscore.db-wal",
            "visitscore.db-writers",
            "secret.key",
        } <= names
        assert any(p.name.endswith("-display.jpg") for p in files)
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
        for path in folders:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_export_pages_walk_an_index_instead_of_sorting(demo_template: Path) -> None:
    """Each page of an export used to sort every remaining approved visit again."""
    from server.queries.visits import APPROVED_PAGE

    db = sqlite3.connect(demo_template / "visitscore.db")
    try:
        plan = db.execute(
            "EXPLAIN QUERY PLAN " + APPROVED_PAGE.format(marks="?,?,?"),
            (1, 2, 3, "2026-03-01", 0, "2026-05-01", 500),
        ).fetchall()
    finally:
        db.close()
    details = " ".join(str(row[-1]) for row in plan)
    assert "TEMP B-TREE" not in details, details
    # A period's export starts at its first day and stops at its last: a range search.
    assert "visits_approved_by_day" in details and "local_date" in details, details
