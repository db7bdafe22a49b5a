"""The agency's lists at scale: does each page of a list answer within 100 ms with 10,000
branches and many visits, whatever is searched or filtered?

    .venv/bin/python benchmarks/lists.py [--visits 100000] [--branches 10000] [--rounds 7]

Builds (or reuses, with ``--keep DIR``) a data folder with ``scale_data.grow`` (its
visits shared among a shopper per ~200 visits, as a real roster), adds a waiting queue
of submitted visits, then times each list page in process as the role that reads it,
beside ``/healthz`` measured in the same rounds (list, healthz, list, healthz, …) as the
baseline. Prints each page's median in ms and its ratio to the baseline; the target is
the median under 100 ms. `make bench` runs 100,000 visits; `make bench-large` 1M.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pages import clients, once  # noqa: E402
from scale_data import grow  # noqa: E402

TARGET_MS = 100.0
WAITING = 2_000
"""Visits put back in the review queue (submitted), so the desk has work to page."""

LISTS = [
    ("reviewer", "/review"),
    ("reviewer", "/review?warning=none&sort=newest&page=3"),
    ("reviewer", "/review?region=Bali&waited=late"),
    ("admin", "/admin/assignments"),
    ("admin", "/admin/assignments?state=done&page=200"),
    ("admin", "/admin/assignments?state=done&q=scale+branch+07"),
    ("admin", "/admin/users"),
    ("admin", "/admin/users?q=shopper+004&role=shopper"),
    ("admin", "/admin/shoppers"),
    ("admin", "/admin/shoppers?q=00042&page=1"),
    ("admin", "/admin/branches"),
    ("admin", "/admin/branches?q=scale+branch+09&page=2"),
    ("admin", "/admin/questionnaires"),
    ("admin", "/admin/qualifications"),
    ("admin", "/admin/pay"),
    ("reviewer", "/review/notes"),
    ("manager", "/branches/1/visits"),
    ("admin", "/"),  # the start page lists every branch with its numbers
    ("manager", "/"),
]


def ready(folder: Path, visits: int, branches: int) -> Path:
    data = folder / f"lists-v{visits}-b{branches}" / "data"
    if not (data / "visitscore.db").exists():
        started = time.perf_counter()
        grow(data, visits, branches)
        with sqlite3.connect(data / "visitscore.db") as db:
            db.execute(
                "UPDATE visits SET state = 'submitted', warning_codes = NULL WHERE id IN"
                " (SELECT id FROM visits WHERE state = 'approved' ORDER BY id DESC LIMIT ?)",
                (WAITING,),
            )
        print(
            f"built {visits:,} visits, {branches:,} branches in"
            f" {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--branches", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build into this folder and reuse it")
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        data = ready(folder, args.visits, args.branches)
        client = stack.enter_context(clients(data))
        worst = 0.0
        print(f"{'list':52} {'role':9} {'ms':>8} {'healthz':>8} {'ratio':>7}")
        for role, path in LISTS:
            once(client[role], path), once(client[role], "/healthz")  # warm
            times, bases = [], []
            for _ in range(args.rounds):
                times.append(once(client[role], path))
                bases.append(once(client[role], "/healthz"))
            ms, base = statistics.median(times), statistics.median(bases)
            worst = max(worst, ms)
            flag = "" if ms <= TARGET_MS else "  <- slow"
            print(
                f"{path[:52]:52} {role:9} {ms:8.1f} {base:8.2f} {ms / base:7.0f}{flag}", flush=True
            )
        print(
            f"slowest list at {args.visits:,} visits and {args.branches:,} branches:"
            f" {worst:.1f} ms (target ≤ {TARGET_MS:.0f} ms) ->"
            f" {'met' if worst <= TARGET_MS else 'NOT met'}"
        )
        return 0 if worst <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
