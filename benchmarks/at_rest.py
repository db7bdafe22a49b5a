"""Bytes per visit at rest, photos excluded, on SQLite and on PostgreSQL side by side,
measured on a million visits.

    .venv/bin/python benchmarks/at_rest.py                 # 1M visits (about 10 minutes)
    .venv/bin/python benchmarks/at_rest.py --visits 100000 # quicker, the same per visit

Grows the demo to ``--visits`` approved visits with ``benchmarks/scale_data.py`` (rows
as the server stores them: the demo's visits copied, with their photo lists and the
audit rows), measures its SQLite file, then moves the same rows into a throwaway
PostgreSQL with ``visitscore move-data`` and measures that (freshly loaded: indexes
built in one go, no dead rows). Per visit: the visits table with its indexes, the rows
that come with each visit (its photo list, audit rows and their indexes), and the average
size of each JSON column. Issue "Beyond one machine" sets the target: at most 2 KB per
visit on either engine. Exits non-zero while it is missed. ``--data DIR`` reuses (or
keeps) the grown SQLite folder.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_server import move_data  # noqa: E402
from scale_data import grow  # noqa: E402

from tests.postgres import postgres_cluster  # noqa: E402

TARGET = 2048
PER_VISIT = ("visits", "visit_photos", "audit_log")
JSON_COLUMNS = ("answers", "stamps", "scores")


def sqlite_sizes(path: Path) -> tuple[int, dict[str, int], dict[str, float]]:
    conn = sqlite3.connect(path)
    try:
        visits = conn.execute("SELECT count(*) FROM visits").fetchone()[0]
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"))
        tables: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            owner = owners.get(name, name)
            tables[owner] = tables.get(owner, 0) + size
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
    print(f"{engine:10}: {per_visit:,.0f} bytes per visit at {visits:,} visits ({parts})")
    print(f"{'':10}  JSON columns, average bytes stored: {json_parts}")
    return int(per_visit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "data"
        path = data / "visitscore.db"
        if not path.exists():
            started = time.perf_counter()
            grow(data, args.visits)
            print(
                f"grew the demo by {args.visits:,} visits in {time.perf_counter() - started:.0f} s"
            )
        lite = report("SQLite", *sqlite_sizes(path))
        with postgres_cluster() as cluster:
            url = cluster.create_database("at_rest")
            started = time.perf_counter()
            move_data(data, url)
            moved = time.perf_counter() - started
            print(f"moved into PostgreSQL (visitscore move-data) in {moved:.0f} s")
            pg = report("PostgreSQL", *pg_sizes(url))
    worst = max(lite, pg)
    print(f"worst {worst:,} bytes per visit (target ≤ {TARGET:,})")
    print("targets met" if worst <= TARGET else "TARGETS MISSED")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
