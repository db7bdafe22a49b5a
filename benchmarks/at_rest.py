"""Bytes per visit at rest, photos excluded, on SQLite and on PostgreSQL side by side.

    .venv/bin/python benchmarks/at_rest.py

Builds the demo on both engines (the same visits), then prints per visit: the visits
table with its indexes, the rows that come with each visit (its photo list, audit rows),
and the average size of each text column that holds JSON (where the bytes go). Issue
"Beyond one machine" sets the target: at most 2 KB per visit on either engine. Exits
non-zero while it is missed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.db import Database  # noqa: E402
from server.db.postgres import PostgresDatabase  # noqa: E402
from server.demo import create_demo  # noqa: E402
from server.migrate import migrate_all  # noqa: E402
from server.photo_store import FolderStore  # noqa: E402
from tests.conftest import DEMO_TODAY  # noqa: E402
from tests.postgres import postgres_cluster  # noqa: E402

TARGET = 2048
PER_VISIT = ("visits", "visit_photos", "audit_log")
JSON_COLUMNS = ("payload", "answers", "stamps", "scores")


async def build(db: object, photos: Path) -> None:
    async with db:  # type: ignore[attr-defined]
        await migrate_all(db)  # type: ignore[arg-type]
        await create_demo(db, FolderStore(photos), DEMO_TODAY)  # type: ignore[arg-type]


def sqlite_sizes(path: Path) -> tuple[int, dict[str, int], dict[str, float]]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("VACUUM")
        visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        indexes = dict(
            conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")
        )
        tables: dict[str, int] = {}
        for name, pages in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            owner = indexes.get(name, name)
            tables[owner] = tables.get(owner, 0) + pages
        columns = {
            c: conn.execute(f"SELECT avg(length(CAST({c} AS BLOB))) FROM visits").fetchone()[0]
            for c in JSON_COLUMNS
        }
    finally:
        conn.close()
    return visits, tables, columns


def pg_sizes(url: str) -> tuple[int, dict[str, int], dict[str, float]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM FULL")
        visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]  # type: ignore[index]
        tables = {
            t: conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]  # type: ignore[index]
            for t in PER_VISIT
        }
        columns = {
            c: float(conn.execute(f"SELECT avg(pg_column_size({c})) FROM visits").fetchone()[0])  # type: ignore[index]
            for c in JSON_COLUMNS
        }
    return visits, tables, columns


def report(engine: str, visits: int, tables: dict[str, int], columns: dict[str, float]) -> int:
    per_visit = sum(tables.get(t, 0) for t in PER_VISIT) / visits
    parts = ", ".join(f"{t} {tables.get(t, 0) / visits:,.0f}" for t in PER_VISIT)
    json_parts = ", ".join(f"{c} {columns[c]:,.0f}" for c in JSON_COLUMNS)
    print(f"{engine:10}: {per_visit:,.0f} bytes per visit ({parts})")
    print(f"{'':10}  JSON columns, average bytes stored: {json_parts}")
    return int(per_visit)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "visitscore.db"
        asyncio.run(build(Database(path), Path(tmp) / "photos"))
        lite = report("SQLite", *sqlite_sizes(path))
        with postgres_cluster() as cluster:
            url = cluster.create_database("at_rest")
            asyncio.run(build(PostgresDatabase(url), Path(tmp) / "photos-pg"))
            pg = report("PostgreSQL", *pg_sizes(url))
    worst = max(lite, pg)
    print(f"worst {worst:,} bytes per visit (target ≤ {TARGET:,})")
    print("targets met" if worst <= TARGET else "TARGETS MISSED")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
