"""Visit ingest through a real server, against /healthz on the same server in the same run.

    .venv/bin/python benchmarks/ingest.py [--rounds 3] [--seconds 4] [--connections 8]

`visitscore serve` with 1 and then 2 workers, alternating round by round (1, 2, 1, 2,
…). In each round, ``--connections`` keep-alive clients send new visits (``PUT
/api/v1/visits/{id}``, no photos, each on an assignment of its own) for ``--seconds``,
then the same clients ask ``/healthz`` for as long. Prints per configuration the medians
of: visits per second, that rate as a share of /healthz's, and the PUT's p99 latency.

Targets (issue "Fast as it grows"): the share at least 3 × the 2.5 % measured before
the write path was shortened; 2 workers at least as fast as 1, with a p99 at most 2 × 1
worker's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import load, session_cookie  # noqa: E402
from local_server import visitscore_server  # noqa: E402

from tests.api.conftest import visit_body  # noqa: E402
from tests.conftest import build_demo  # noqa: E402

BEFORE_SHARE = 0.025  # measured on 2026-11-30 (issue "Fast as it grows")
PASSWORD = "visitscore-demo"


def add_assignments(data: Path, count: int) -> list[dict]:
    """``count`` open assignments for shopper@demo.test, written directly (this measures
    the PUT, not the agency's pages)."""
    db = sqlite3.connect(data / "visitscore.db")
    db.row_factory = sqlite3.Row
    try:
        template = db.execute(
            "SELECT a.* FROM assignments a JOIN users u ON u.id = a.shopper_id"
            " WHERE u.email = 'shopper@demo.test' AND a.state = 'open' ORDER BY a.id LIMIT 1"
        ).fetchone()
        first = db.execute("SELECT max(id) + 1 FROM assignments").fetchone()[0]
        db.executemany(
            "INSERT INTO assignments (id, branch_id, shopper_id, questionnaire_id,"
            " questionnaire_version, window_start, window_end, scenario, state, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 'open', ?, ?)",
            [
                (
                    first + i,
                    template["branch_id"],
                    template["shopper_id"],
                    template["questionnaire_id"],
                    template["questionnaire_version"],
                    template["window_start"],
                    template["window_end"],
                    template["created_at"],
                    template["updated_at"],
                )
                for i in range(count)
            ],
        )
        db.commit()
        questionnaire = {
            "id": template["questionnaire_id"],
            "version": template["questionnaire_version"],
        }
    finally:
        db.close()
    return [{"id": first + i, "questionnaire": questionnaire} for i in range(count)]


async def measure(url: str, assignments: list[dict], seconds: float, connections: int) -> dict:
    cookie = await session_cookie(url, "shopper@demo.test", PASSWORD)
    pending = iter(assignments)

    def next_put() -> tuple[str, str, bytes]:
        body = json.dumps(visit_body(next(pending))).encode()
        return ("PUT", f"/api/v1/visits/{uuid.uuid4()}", body)

    sent = {"Cookie": cookie, "Content-Type": "application/json"}
    puts = await load(url, next_put, connections=connections, seconds=seconds, headers=sent)
    assert set(puts.statuses) == {201}, puts.statuses
    health = await load(
        url, lambda: ("GET", "/healthz", b""), connections=connections, seconds=seconds
    )
    assert set(health.statuses) == {200}, health.statuses
    return {
        "rate": puts.rate,
        "share": puts.rate / health.rate,
        "p99": puts.percentile(0.99) * 1000,
        "health": health.rate,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    results: dict[int, list[dict]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        build_demo(data)
        per_run = 6000
        assignments = add_assignments(data, per_run * args.rounds * 2)
        batches = iter(assignments[i : i + per_run] for i in range(0, len(assignments), per_run))
        for _ in range(args.rounds):
            for workers in (1, 2):
                with visitscore_server(data, "--workers", str(workers)) as (_server, url):
                    got = asyncio.run(measure(url, next(batches), args.seconds, args.connections))
                results[workers].append(got)
                print(
                    f"  {workers} worker(s): {got['rate']:6.0f} visits/s,"
                    f" {got['share']:.1%} of /healthz ({got['health']:.0f}/s),"
                    f" p99 {got['p99']:.0f} ms",
                    flush=True,
                )

    def med(workers: int, key: str) -> float:
        return statistics.median(r[key] for r in results[workers])

    share = med(1, "share")
    speedup = statistics.median(
        b["rate"] / a["rate"] for a, b in zip(results[1], results[2], strict=True)
    )
    p99_ratio = statistics.median(
        b["p99"] / a["p99"] for a, b in zip(results[1], results[2], strict=True)
    )
    print(
        f"ingest, 1 worker: {med(1, 'rate'):.0f} visits/s = {share:.1%} of /healthz;"
        f" {share / BEFORE_SHARE:.1f}× the share before (target ≥ 3×)"
    )
    print(
        f"2 workers / 1 worker: rate {speedup:.2f} (target ≥ 1.0),"
        f" p99 {p99_ratio:.2f} (target ≤ 2.0)"
    )
    ok = share / BEFORE_SHARE >= 3 and speedup >= 1.0 and p99_ratio <= 2.0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
