"""Reports at chain scale, each figure beside a baseline measured in the same run.

    .venv/bin/python benchmarks/reports.py [--branches 500] [--visits 100000]

1. Builds a chain (default 500 branches, 100,000 more approved visits over 24 months;
   ``make bench-large`` uses 1,000,000) with benchmarks/scale_data.py.
2. The comparison's numbers from the summary against the same numbers computed from the
   stored per-visit scores (SQL over every visit) and from the raw answers (re-scoring;
   measured on a sample, scaled up). Target: ≥ 20× faster than the raw computation.
3. The comparison page for all branches, rendered warm. Target: < 100 ms.
4. A visit report with 20 photos, rendered warm. Target: < 50 ms.
5. With `wrk` installed: requests/s of a fresh report page with 2 workers, beside a bare
   Starlette + Jinja2 page of the same size served the same way (the ceiling).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_server import free_port, visitscore_server, wait_up  # noqa: E402
from scale_data import PASSWORD, grow  # noqa: E402

from server import visit_record  # noqa: E402
from server.db import Database  # noqa: E402
from server.queries import summaries  # noqa: E402
from server.questionnaire import load_default  # noqa: E402
from server.scoring import score_visit  # noqa: E402


def build(data: Path, branches: int, visits: int) -> dict[str, Any]:
    """The demo grown to a chain of ``branches`` and ``visits`` more approved visits
    (benchmarks/scale_data.py: real payloads, batched transactions)."""
    grow(data, visits, branches)
    db = sqlite3.connect(data / "visitscore.db")
    try:
        months = [m for (m,) in db.execute("SELECT DISTINCT month FROM branch_month_scores")]
    finally:
        db.close()
    return {"months": sorted(months)}


def bare_ratio(client: Any, path: str, rounds: int) -> float:
    """A page's time over a bare Starlette + Jinja2 page of the same bytes served in the
    same process by the same kind of client, interleaved round by round (median)."""
    import jinja2
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.templating import Jinja2Templates
    from starlette.testclient import TestClient

    size = len(client.get(path).content)
    template = "<html><body>{% for r in rows %}<p>row {{ r }} " + "x" * 60 + "</p>{% endfor %}"
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": template}), autoescape=True)
    templates = Jinja2Templates(env=env)
    rows = list(range(max(1, size // 80)))

    async def page(request: Any) -> Any:
        return templates.TemplateResponse(request, "page.html", {"rows": rows})

    ratios = []
    with TestClient(Starlette(routes=[Route("/", page)])) as bare:
        bare.get("/")
        for _ in range(rounds):
            started = time.perf_counter()
            client.get(path)
            ours = time.perf_counter() - started
            started = time.perf_counter()
            bare.get("/")
            ratios.append(ours / (time.perf_counter() - started))
    return statistics.median(ratios)


def timed(work: Any, rounds: int) -> float:
    work()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure_queries(data: Path, period: tuple[str, str], branches: int) -> dict[str, float]:
    ids = list(range(1, branches + 1))
    db = Database(data / "visitscore.db", read_connections=1)

    async def summary_query() -> None:
        await summaries.by_branch(db, period[0], period[1], ids)

    async def raw_sql() -> None:
        await db.fetchall(
            "SELECT v.branch_id, s.key, count(*), avg(s.value) FROM visits v,"
            " json_each(v.scores, '$.sections') s WHERE v.state = 'approved'"
            " AND substr(v.started_at, 1, 7) BETWEEN ? AND ? GROUP BY 1, 2",
            period,
        )

    async def main() -> dict[str, float]:
        await db.connect()
        try:
            loop = asyncio.get_running_loop()
            out = {}
            for name, work, rounds in (("summary", summary_query, 15), ("raw_sql", raw_sql, 3)):
                await work()
                times = []
                for _ in range(rounds):
                    start = loop.time()
                    await work()
                    times.append((loop.time() - start) * 1000)
                out[name] = statistics.median(times)
            rows = await db.fetchall(
                "SELECT answers, stamps, started_at FROM visits WHERE substr(started_at, 1, 7)"
                " BETWEEN ? AND ? AND id % 20 = 0",
                period,
            )
            count = await db.fetchone(
                "SELECT count(*) FROM visits WHERE substr(started_at, 1, 7) BETWEEN ? AND ?", period
            )
            definition = load_default()
            start = time.perf_counter()
            for row in rows:
                # As the server reads a visit back (answers and stamps are stored packed).
                answers = visit_record.unpack_answers(row[0])
                score_visit(definition, answers, visit_record.unpack_stamps(row[1], row[2]))
            sample_ms = (time.perf_counter() - start) * 1000
            out["raw_rescore"] = out["raw_sql"] + sample_ms * (count[0] / max(1, len(rows)))
            out["visits_in_period"] = count[0]
            return out
        finally:
            await db.close()

    return asyncio.run(main())


def measure_pages(data: Path, period: tuple[str, str]) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from server.app import create_app
    from server.settings import Settings

    visit_id = add_report_visit(data)
    with TestClient(create_app(Settings(data_dir=data))) as client:
        # Page work only: compression (measured in pages' bytes elsewhere) is left out,
        # as the bare page below has none.
        client.headers["accept-encoding"] = "identity"
        client.post("/api/v1/session", json={"email": "manager@demo.test", "password": PASSWORD})
        compare = f"/chains/1/compare?from={period[0]}&to={period[1]}"
        assert client.get(compare).status_code == 200
        compare_ms = timed(lambda: client.get(compare), 10)
        compare_bare = bare_ratio(client, compare, rounds=10)
        report = f"/visits/{visit_id}"
        page = client.get(report)
        assert page.status_code == 200 and page.text.count("/thumb") == 20, page.status_code
        report_ms = timed(lambda: client.get(report), 30)
        client.cookies.clear()
        client.post("/api/v1/session", json={"email": "admin@demo.test", "password": PASSWORD})
        for path in ("/admin/questionnaires", "/admin/questionnaires/default"):
            assert client.get(path).status_code == 200
        questionnaires_ms = max(
            timed(lambda: client.get("/admin/questionnaires"), 10),
            timed(lambda: client.get("/admin/questionnaires/default"), 10),
        )
        client.cookies.clear()
        client.post("/api/v1/session", json={"email": "manager@demo.test", "password": PASSWORD})
        return {
            "questionnaires_ms": questionnaires_ms,
            "compare_ms": compare_ms,
            "compare_bare": compare_bare,
            "report_ms": report_ms,
            "visit_id": visit_id,
            "report_bytes": len(page.content),
            "cookie": client.cookies["vs_session"],
        }


def add_report_visit(data: Path) -> str:
    """The newest visit gets 20 photos listed (the report's thumbnails)."""
    import sqlite3

    db = sqlite3.connect(data / "visitscore.db")
    visit_id, visit_uuid = db.execute(
        "SELECT id, visit_uuid FROM visits ORDER BY id DESC LIMIT 1"
    ).fetchone()
    for n in range(20):
        photo = str(uuid.UUID(int=n + 1, version=4))
        sha = hashlib.sha256(str(n).encode()).hexdigest()
        db.execute(
            "INSERT INTO photos (id, visit_uuid, sha256, bytes, content_type, received_at,"
            " blob_key, created_at) VALUES (?, ?, ?, 1000, 'image/jpeg', 'now', ?, 'now')",
            (photo, visit_uuid, sha, sha),
        )
        db.execute(
            "INSERT INTO visit_photos (visit_id, photo_id, question_key, position) VALUES"
            " (?, ?, 'checkout_photo', ?)",
            (visit_id, photo, n),
        )
    db.commit()
    db.close()
    return str(visit_uuid)


def wrk(url: str, cookie: str | None = None) -> float:
    command = ["wrk", "-t2", "-c32", "-d8s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: vs_session={cookie}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} failed responses from {url}")
    return float(match.group(1)) if match else float("nan")


CEILING_APP = """
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.templating import Jinja2Templates
import jinja2
env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": %r}), autoescape=True)
templates = Jinja2Templates(env=env)
ROWS = list(range(%d))
async def page(request):
    return templates.TemplateResponse(request, "page.html", {"rows": ROWS})
app = Starlette(routes=[Route("/", page)])
"""


def throughput(data: Path, visit_id: str, cookie: str, size: int) -> dict[str, float] | None:
    if not shutil.which("wrk"):
        print("  wrk not installed (apt-get install wrk): throughput skipped")
        return None
    with visitscore_server(data, "--workers", "2") as (_server, url):
        ours = wrk(f"{url}/visits/{visit_id}", cookie)
    template = "<html><body>{% for r in rows %}<p>row {{ r }} " + "x" * 60 + "</p>{% endfor %}"
    rows = max(1, size // 80)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "ceiling.py").write_text(textwrap.dedent(CEILING_APP % (template, rows)))
        port = free_port()
        bare = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "ceiling:app",
                "--port",
                str(port),
                "--workers",
                "2",
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_up(f"http://127.0.0.1:{port}/")
            ceiling = wrk(f"http://127.0.0.1:{port}/")
        finally:
            bare.terminate()
            bare.wait(timeout=20)
    return {"ours": ours, "ceiling": ceiling}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp()) if args.keep is None else args.keep
    data = tmp / "data"
    try:
        start = time.perf_counter()
        months = build(data, args.branches, args.visits)["months"]
        print(
            f"built {args.branches} branches, {args.visits:,} visits over {len(months)} months"
            f" in {time.perf_counter() - start:.0f} s"
            f" ({(data / 'visitscore.db').stat().st_size / 1e6:.0f} MB)"
        )
        period = (months[-6], months[-1])
        q = measure_queries(data, period, args.branches)
        print(
            f"comparison numbers for {period[0]}..{period[1]} ({q['visits_in_period']:,} visits):"
        )
        print(f"  from the monthly summary          {q['summary']:9.1f} ms")
        print(
            f"  from stored per-visit scores (SQL) {q['raw_sql']:8.1f} ms"
            f"   {q['raw_sql'] / q['summary']:7.0f}× slower"
        )
        print(
            f"  from raw answers (re-scored)       {q['raw_rescore']:8.1f} ms"
            f"   {q['raw_rescore'] / q['summary']:7.0f}× slower  (target ≥ 20×)"
        )
        pages = measure_pages(data, period)
        print(
            f"comparison page, {args.branches} branches, warm  {pages['compare_ms']:6.1f} ms"
            "   (target < 100 ms)"
        )
        print(
            f"  the same against a bare Starlette + Jinja2 page of its size:"
            f" {pages['compare_bare']:.1f}× (target ≤ 24×: half the 48× measured before)"
        )
        print(
            f"visit report with 20 photos, warm       {pages['report_ms']:6.1f} ms"
            f"   (target < 50 ms; {pages['report_bytes'] / 1000:.0f} kB)"
        )
        print(
            f"questionnaire list and editor, warm     {pages['questionnaires_ms']:6.1f} ms"
            "   (target < 100 ms: visit counts come from an index)"
        )
        rates = throughput(data, pages["visit_id"], pages["cookie"], pages["report_bytes"])
        if rates:
            print(
                f"report page, 2 workers: {rates['ours']:7.0f} requests/s;"
                f" bare Starlette + Jinja2 page of the same size: {rates['ceiling']:7.0f}"
                f" ({rates['ours'] / rates['ceiling']:.0%} of the ceiling)"
            )
        ok = (
            q["raw_rescore"] / q["summary"] >= 20
            and pages["compare_ms"] < 100
            and pages["compare_bare"] <= 24
            and pages["report_ms"] < 50
            and pages["questionnaires_ms"] < 100
        )
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
