"""Both databases end their migrations with the same schema: every table, column (with
whether it may be NULL and its kind of value) and index of SQLite's is on PostgreSQL,
and nothing else. Derived from the migrations themselves, so a migration written for one
engine only fails here."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import psycopg

from server.db import MIGRATIONS_DIR, Database, load_migrations

PG_MIGRATIONS = MIGRATIONS_DIR / "postgresql"

KIND = {
    # SQLite declared type -> PostgreSQL types holding the same values
    "INTEGER": {"integer", "bigint"},
    "REAL": {"double precision"},
    "TEXT": {"text", "citext", "USER-DEFINED"},
}


def sqlite_schema(path: Path) -> tuple[dict[str, dict[str, tuple[str, bool]]], set[str]]:
    async def migrate() -> None:
        async with Database(path) as db:
            await db.migrate()

    asyncio.run(migrate())
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'"
            )
        ]
        columns = {
            table: {
                r[1]: (r[2].split("(")[0].upper(), bool(r[3]) or bool(r[5]))
                for r in conn.execute(f"PRAGMA table_info({table})")
            }
            for table in tables
        }
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    finally:
        conn.close()
    return columns, indexes


def pg_schema(url: str) -> tuple[dict[str, dict[str, tuple[str, bool]]], set[str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        for migration in load_migrations(PG_MIGRATIONS):
            conn.execute(migration.sql)  # type: ignore[arg-type]  # a script, no parameters
        columns: dict[str, dict[str, tuple[str, bool]]] = {}
        for table, column, kind, nullable in conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        ):
            columns.setdefault(table, {})[column] = (kind, nullable == "NO")
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                " AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'"
            )
        }
    return columns, indexes


def test_both_engines_have_the_same_schema(tmp_path: Path, pg_url: str) -> None:
    lite_columns, lite_indexes = sqlite_schema(tmp_path / "schema.db")
    pg_columns, pg_indexes = pg_schema(pg_url)
    assert sorted(pg_columns) == sorted(lite_columns)
    for table, columns in lite_columns.items():
        assert sorted(pg_columns[table]) == sorted(columns), table
        for column, (kind, not_null) in columns.items():
            pg_kind, pg_not_null = pg_columns[table][column]
            assert pg_kind in KIND[kind], (table, column, kind, pg_kind)
            # A SQLite primary key column (the rowid) is never NULL either.
            assert pg_not_null == not_null, (table, column)
    assert pg_indexes == lite_indexes


def test_every_later_migration_exists_for_both_engines() -> None:
    lite = {m.version for m in load_migrations()}
    pg = {m.version for m in load_migrations(PG_MIGRATIONS)}
    baseline = min(pg)
    assert baseline == 12  # SQLite's 0001 to 0012 in one (no PostgreSQL ran them before)
    assert {v for v in lite if v > baseline} == {v for v in pg if v > baseline}
    assert max(lite) == max(pg)


def test_the_visit_states_named_in_queries_are_the_tables_own(tmp_path: Path) -> None:
    """A query that names every visit state (to read an index by state) must know them
    all: the list is the one in the table's CHECK."""
    import re

    from server.queries.rollups import VISIT_STATES

    sqlite_schema(tmp_path / "schema.db")
    conn = sqlite3.connect(tmp_path / "schema.db")
    try:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'visits'").fetchone()
    finally:
        conn.close()
    found = re.search(r"state\s+TEXT[^,]*CHECK \(state IN \(([^)]*)\)\)", sql)
    assert found is not None, sql
    assert tuple(re.findall(r"'(\w+)'", found.group(1))) == VISIT_STATES
