"""Visit ingest on PostgreSQL with one and with two app servers, beside SQLite, in one run.

    .venv/bin/python benchmarks/ingest_servers.py [--rounds 3] [--seconds 4] [--connections 8]

Three set-ups, alternating round by round: SQLite with one `visitscore serve`; a
throwaway PostgreSQL (tests/postgres.py) with one `visitscore serve`; the same database
with two `visitscore serve` processes on two ports (one worker each, as two machines
behind a proxy would run), the clients split between them. In each round
``--connections`` keep-alive clients send new visits (``PUT /api/v1/visits/{id}``, no
photos, each on an assignment of its own) for ``--seconds``, then ask ``/healthz`` for as
long (the baseline of the same run). Prints per set-up the medians of visits per
second, that rate as a share of /healthz's, and the PUT's p99.

Issue "Beyond one machine" asks for these side by side; it sets no target. On a 2-core
machine the two servers, the database and the load generator share the same cores, and
PostgreSQL writes take one lock (server/db/postgres.py): expect no speed-up here; the
figure to watch is that a second server costs little.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import Result, load, session_cookie  # noqa: E402
from ingest import PASSWORD, add_assignments  # noqa: E402
from local_server import visitscore_server  # noqa: E402

from server.demo import create_demo  # noqa: E402
from server.engines import open_database  # noqa: E402
from server.migrate import migrate_all  # noqa: E402
from server.photo_store import FolderStore  # noqa: E402
from tests.api.conftest import visit_body  # noqa: E402
from tests.conftest import DEMO_TODAY, build_demo  # noqa: E402
from tests.postgres import postgres_cluster  # noqa: E402

PER_RUN = 6000
SETUPS = ("SQLite, 1 server", "PostgreSQL, 1 server", "PostgreSQL, 2 servers")


def pg_demo(url: str, data: Path) -> None:
    async def main() -> None:
        async with open_database(url, data) as db:
            await migrate_all(db)
            await create_demo(db, FolderStore(data / "photos"), DEMO_TODAY)

    asyncio.run(main())


def pg_assignments(url: str, count: int) -> list[dict]:
    """As ingest.add_assignments, in PostgreSQL."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        template = conn.execute(
            "SELECT a.branch_id, a.shopper_id, a.questionnaire_id, a.questionnaire_version,"
            " a.window_start, a.window_end, a.created_at, a.updated_at FROM assignments a"
            " JOIN users u ON u.id = a.shopper_id WHERE u.email = 'shopper@demo.test'"
            " AND a.state = 'open' ORDER BY a.id LIMIT 1"
        ).fetchone()
        assert template is not None
        first = conn.execute("SELECT max(id) + 1 FROM assignments").fetchone()[0]  # type: ignore[index]
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY assignments (id, branch_id, shopper_id, questionnaire_id,"
                " questionnaire_version, window_start, window_end, scenario, state, created_at,"
                " updated_at) FROM STDIN"
            ) as copy,
        ):
            for i in range(count):
                copy.write_row((first + i, *template[:6], "", "open", *template[6:]))
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('assignments', 'id'), %s)", (first + count,)
        )
    questionnaire = {"id": template[2], "version": template[3]}
    return [{"id": first + i, "questionnaire": questionnaire} for i in range(count)]


async def measure(
    urls: list[str], assignments: list[dict], seconds: float, connections: int
) -> dict:
    """Clients split over ``urls``; one shopper session (made on the first server, valid
    on every one: sessions live in the database)."""
    cookie = await session_cookie(urls[0], "shopper@demo.test", PASSWORD)
    pending = iter(assignments)

    def next_put() -> tuple[str, str, bytes]:
        body = json.dumps(visit_body(next(pending))).encode()
        return ("PUT", f"/api/v1/visits/{uuid.uuid4()}", body)

    sent = {"Cookie": cookie, "Content-Type": "application/json"}
    share = max(1, connections // len(urls))
    parts = await asyncio.gather(
        *(load(u, next_put, connections=share, seconds=seconds, headers=sent) for u in urls)
    )
    puts = Result(seconds)
    for part in parts:
        assert set(part.statuses) == {201}, part.statuses
        puts.latencies += part.latencies
    health = await load(
        urls[0], lambda: ("GET", "/healthz", b""), connections=connections, seconds=seconds
    )
    assert set(health.statuses) == {200}, health.statuses
    return {
        "rate": puts.rate,
        "share": puts.rate / health.rate,
        "p99": puts.percentile(0.99) * 1000,
        "health": health.rate,
    }


@contextmanager
def servers(data: Path, count: int, *args: str) -> Iterator[list[str]]:
    with ExitStack() as stack:
        yield [stack.enter_context(visitscore_server(data, *args))[1] for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {name: [] for name in SETUPS}
    runs = args.rounds * 2
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster() as cluster:
        lite = Path(tmp) / "lite"
        build_demo(lite)
        lite_batches = iter(_batches(add_assignments(lite, PER_RUN * args.rounds)))
        pg = Path(tmp) / "pg"
        url = cluster.create_database("ingest")
        pg_demo(url, pg)
        pg_batches = iter(_batches(pg_assignments(url, PER_RUN * runs)))
        for _ in range(args.rounds):
            for name in SETUPS:
                if name.startswith("SQLite"):
                    with servers(lite, 1) as urls:
                        got = asyncio.run(
                            measure(urls, next(lite_batches), args.seconds, args.connections)
                        )
                else:
                    count = 2 if "2 servers" in name else 1
                    with servers(pg, count, "--database-url", url) as urls:
                        got = asyncio.run(
                            measure(urls, next(pg_batches), args.seconds, args.connections)
                        )
                results[name].append(got)
                print(
                    f"  {name:22}: {got['rate']:6.0f} visits/s,"
                    f" {got['share']:.1%} of /healthz ({got['health']:.0f}/s),"
                    f" p99 {got['p99']:.0f} ms",
                    flush=True,
                )

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in results[name])

    for name in SETUPS:
        print(
            f"{name:22}: {med(name, 'rate'):.0f} visits/s = {med(name, 'share'):.1%} of"
            f" /healthz, p99 {med(name, 'p99'):.0f} ms"
        )
    one_pg, two_pg = results[SETUPS[1]], results[SETUPS[2]]
    speedup = statistics.median(b["rate"] / a["rate"] for a, b in zip(one_pg, two_pg, strict=True))
    versus = statistics.median(
        b["rate"] / a["rate"] for a, b in zip(results[SETUPS[0]], one_pg, strict=True)
    )
    print(f"PostgreSQL / SQLite, one server: rate {versus:.2f}")
    print(f"PostgreSQL, two servers / one: rate {speedup:.2f}")
    return 0


def _batches(assignments: list[dict]) -> Iterator[list[dict]]:
    for i in range(0, len(assignments), PER_RUN):
        yield assignments[i : i + PER_RUN]


if __name__ == "__main__":
    raise SystemExit(main())
