"""The comparison page and the reports at 1M visits, on SQLite and on PostgreSQL side by
side, in one run.

    .venv/bin/python benchmarks/engines.py [--visits 1000000] [--data DIR] [--rounds 3]

Grows the demo to ``--visits`` approved visits over 500 branches (benchmarks/scale_data.py;
``--data`` reuses a grown folder), moves it into a throwaway PostgreSQL with
``visitscore move-data`` (every count checked; timed), then starts one
`visitscore serve` on each engine (one worker each, the same photos folder) and, round by
round alternating the engines, sends ``--connections`` keep-alive clients at each page for
``--seconds``: the chain comparison (500 branches), a branch dashboard and a visit report,
as the chain's manager. Prints requests per second and p99 per page and engine, and the
ratio PostgreSQL / SQLite of the medians.

Issue "Beyond one machine" asks for these side by side; it sets no target.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import load, session_cookie  # noqa: E402
from local_server import move_data, visitscore_server  # noqa: E402
from scale_data import PASSWORD, grow  # noqa: E402

from tests.postgres import postgres_cluster  # noqa: E402

ENGINES = ("SQLite", "PostgreSQL")


def pages(data: Path) -> dict[str, str]:
    db = sqlite3.connect(data / "visitscore.db")
    try:
        branch = db.execute(
            "SELECT branch_id FROM visits WHERE state = 'approved' GROUP BY branch_id"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        visit = db.execute(
            "SELECT visit_uuid FROM visits WHERE state = 'approved' AND branch_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (branch,),
        ).fetchone()[0]
    finally:
        db.close()
    return {
        "comparison": "/chains/1/compare",
        "branch dashboard": f"/branches/{branch}",
        "visit report": f"/visits/{visit}",
    }


async def measure(url: str, path: str, seconds: float, connections: int) -> tuple[float, float]:
    cookie = {"Cookie": await session_cookie(url, "manager@demo.test", PASSWORD)}
    got = await load(
        url, lambda: ("GET", path, b""), connections=connections, seconds=seconds, headers=cookie
    )
    assert set(got.statuses) == {200}, (path, got.statuses)
    return got.rate, got.percentile(0.99) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster() as cluster:
        data = args.data or Path(tmp) / "data"
        if not (data / "visitscore.db").exists():
            grow(data, args.visits)
        url = cluster.create_database("engines")
        started = time.perf_counter()
        move_data(data, url)
        moved = time.perf_counter() - started
        visits = sqlite3.connect(data / "visitscore.db").execute("SELECT count(*) FROM visits")
        count = visits.fetchone()[0]
        print(f"move-data: {count:,} visits into PostgreSQL in {moved:.0f} s", flush=True)
        paths = pages(data)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for engine in ENGINES:
                extra = ("--database-url", url) if engine == "PostgreSQL" else ()
                with visitscore_server(data, *extra) as (_server, base):
                    for page, path in paths.items():
                        rate, p99 = asyncio.run(measure(base, path, args.seconds, args.connections))
                        results.setdefault((page, engine), []).append((rate, p99))
                        print(
                            f"  {page:17} {engine:10}: {rate:7.1f}/s, p99 {p99:6.0f} ms",
                            flush=True,
                        )
    print(f"at {count:,} visits, medians of {args.rounds} rounds:")
    for page in paths:
        rates = {e: statistics.median(r for r, _ in results[(page, e)]) for e in ENGINES}
        p99s = {e: statistics.median(p for _, p in results[(page, e)]) for e in ENGINES}
        print(
            f"{page:17}: SQLite {rates['SQLite']:.1f}/s (p99 {p99s['SQLite']:.0f} ms),"
            f" PostgreSQL {rates['PostgreSQL']:.1f}/s (p99 {p99s['PostgreSQL']:.0f} ms),"
            f" PostgreSQL / SQLite {rates['PostgreSQL'] / rates['SQLite']:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
