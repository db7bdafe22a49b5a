"""The chain's visits export at two sizes, and what it does to everyone else meanwhile.

    .venv/bin/python benchmarks/exports.py [--small 10000] [--large 100000] [--keep DIR]

Two data folders from ``scale_data.grow`` (the same chain, ``--small`` and ``--large``
more visits). For each, alternating (small, large, small, large), a real ``visitscore
serve`` streams ``/chains/1/visits.csv`` to a manager while one client asks
``/healthz`` again and again; then the manager asks for the same export as users do
(the comparison page's form: a background job, made by the server's worker process)
and /healthz is asked until the file is ready. Prints rows per second and /healthz's
p99 during each against its p99 with the server idle, measured just before.

Targets (issue "Fast as it grows"): rows per second of the streamed export at the large
size at least 0.8 × the small size's (linear time); /healthz's p99 during the streamed
export and during an export job under 3 × its idle p99. (Both are made by a child
process in the idle scheduling class: the benchmark's own /healthz client keeps the
machine busy, so their rows per second here are what an export gets from a loaded
server, not its best.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from http_load import load, session_cookie  # noqa: E402
from local_server import visitscore_server  # noqa: E402
from pages import ready  # noqa: E402
from scale_data import PASSWORD  # noqa: E402


def run_once(data: Path) -> dict[str, float]:
    # Forget earlier rounds' exports: the same request would be answered by their file.
    with sqlite3.connect(data / "visitscore.db") as db:
        db.execute("DELETE FROM jobs")
    with visitscore_server(data) as (_server, url):
        cookie = asyncio.run(session_cookie(url, "manager@demo.test", PASSWORD))
        health = ("GET", "/healthz", b"")
        idle = asyncio.run(load(url, lambda: health, connections=1, seconds=2))
        # The download runs in its own process (curl), so it takes no turn from the
        # client that measures /healthz.
        with tempfile.NamedTemporaryFile(suffix=".csv") as saved:
            started = time.perf_counter()
            export = url + "/chains/1/visits.csv"
            download = subprocess.Popen(
                ["curl", "-sSf", "-o", saved.name, "-H", f"Cookie: {cookie}", export]
            )

            async def during() -> list[float]:
                latencies: list[float] = []
                while download.poll() is None:
                    result = await load(url, lambda: health, connections=1, seconds=0.25)
                    latencies += result.latencies
                return latencies

            busy = asyncio.run(during())
            seconds = time.perf_counter() - started
            assert download.wait() == 0
            with open(saved.name, "rb") as text:
                rows = (
                    sum(chunk.count(b"\n") for chunk in iter(lambda: text.read(1 << 20), b"")) - 1
                )
        job_rows, job_seconds, job_busy = _export_job(url, cookie)
    return {
        "rows": rows,
        "rate": rows / seconds,
        "idle_p99": idle.percentile(0.99) * 1000,
        "busy_p99": _p99(busy),
        "job_rate": job_rows / job_seconds,
        "job_p99": _p99(job_busy),
    }


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def _export_job(url: str, cookie: str) -> tuple[int, float, list[float]]:
    """The export as users ask for it: the form on the comparison page queues a job that
    the server's worker process makes; /healthz is measured until the file is ready.
    Answers (rows, seconds from the form to the file being ready, /healthz latencies)."""
    opener = urllib.request.build_opener(_NoRedirect)
    opener.addheaders = [("Cookie", cookie)]
    page = opener.open(url + "/chains/1/compare").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no form on the comparison page"
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "format": "csv"}).encode()
    started = time.perf_counter()
    try:
        opener.open(url + "/chains/1/exports", data=form)
        raise AssertionError("the export form did not redirect")
    except urllib.error.HTTPError as answer:
        assert answer.code == 303, answer.code
        job = answer.headers["Location"].rsplit("/", 1)[-1]

    def state() -> dict[str, object]:
        answer: dict[str, object] = json.load(opener.open(f"{url}/exports/{job}.json"))
        return answer

    async def during() -> tuple[list[float], dict[str, object], float]:
        latencies: list[float] = []
        while (now := state())["state"] != "done":
            assert now["state"] in ("queued", "running"), now
            result = await load(url, lambda: ("GET", "/healthz", b""), connections=1, seconds=0.25)
            latencies += result.latencies
        return latencies, now, time.perf_counter() - started

    latencies, done, seconds = asyncio.run(during())
    return int(str(done["rows"])), seconds, latencies


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build into this folder and reuse it")
    args = parser.parse_args()
    with ExitStack() as stack:
        folder = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sizes = {"small": ready(folder, args.small), "large": ready(folder, args.large)}
        results: dict[str, list[dict[str, float]]] = {"small": [], "large": []}
        for _ in range(args.rounds):
            for name, data in sizes.items():
                got = run_once(data)
                results[name].append(got)
                print(
                    f"  {name:5} {got['rows']:>9,.0f} rows at {got['rate']:8,.0f} rows/s;"
                    f" /healthz p99 {got['idle_p99']:.1f} ms idle,"
                    f" {got['busy_p99']:.1f} ms during the export;"
                    f" as a job {got['job_rate']:8,.0f} rows/s, /healthz p99"
                    f" {got['job_p99']:.1f} ms meanwhile",
                    flush=True,
                )
    linear = statistics.median(
        b["rate"] / a["rate"] for a, b in zip(results["small"], results["large"], strict=True)
    )
    streamed, job = (
        max(statistics.median(r[key] / r["idle_p99"] for r in runs) for runs in results.values())
        for key in ("busy_p99", "job_p99")
    )
    print(
        f"rows/s at {args.large:,} visits / at {args.small:,}: {linear:.2f} (target ≥ 0.8);"
        f" /healthz p99 during a streamed export / idle: {streamed:.2f} (target < 3);"
        f" during an export job / idle: {job:.2f} (target < 3)"
    )
    ok = linear >= 0.8 and streamed < 3 and job < 3
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
