"""What durable acknowledgements cost, against the non-durable way measured in the same run.

    .venv/bin/python benchmarks/durability.py [--visits 300]

1. Visit PUTs through the whole app (in process): one shopper stores ``--visits`` new
   visits in a row, first with the shipped SQLite setting (synchronous=FULL: a 2xx
   survives a power cut), then the same on a copy with synchronous=NORMAL (what we had:
   WAL may lose the last commits on a power cut). Prints visits per second and the ratio.
2. Photo files: write_atomic (temp file, fsync, rename, fsync the folder) against a
   plain write and rename, for 200 display-sized files.

Target: durable visit PUTs at least 0.5 x the non-durable rate; the photo write is
dominated by image work anyway (see photos.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from server.app import create_app  # noqa: E402
from server.photo_store import write_atomic  # noqa: E402
from server.settings import Settings  # noqa: E402
from tests.api.conftest import visit_body  # noqa: E402
from tests.conftest import build_demo  # noqa: E402


def put_rate(data_dir: Path, count: int, synchronous: str) -> float:
    """Visit PUTs per second through the whole app (in process, no network), with the
    writer's synchronous setting as given."""
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        writer = client.app.state.db._writer  # type: ignore[attr-defined]
        client.portal.call(writer.execute, f"PRAGMA synchronous = {synchronous}")
        response = client.post(
            "/api/v1/session", json={"email": "shopper@demo.test", "password": "visitscore-demo"}
        )
        assert response.status_code == 201
        assignments = client.get("/api/v1/assignments").json()["assignments"]
        # Every PUT stores a new visit, each on an assignment of its own.
        ids = _fresh_assignments(client, assignments[0], count)
        started = time.perf_counter()
        for i, assignment in enumerate(ids):
            answer = client.put(
                f"/api/v1/visits/00000000-0000-4000-8000-{i:012d}", json=visit_body(assignment)
            )
            assert answer.status_code == 201, answer.text
        return count / (time.perf_counter() - started)


def _fresh_assignments(client: TestClient, template: dict, count: int) -> list[dict]:
    """``count`` open assignments like ``template`` for the same shopper (written
    directly: this measures the PUT, not the admin pages)."""
    db = client.app.state.db  # type: ignore[attr-defined]

    async def make() -> list[int]:
        async with db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM assignments WHERE id = ?", (template["id"],))
            made = []
            for _ in range(count):
                made.append(
                    await tx.insert(
                        "INSERT INTO assignments (branch_id, shopper_id, questionnaire_id,"
                        " questionnaire_version, window_start, window_end, scenario, state,"
                        " created_by, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, '', 'open', NULL, ?, ?)",
                        (
                            row["branch_id"],
                            row["shopper_id"],
                            row["questionnaire_id"],
                            row["questionnaire_version"],
                            row["window_start"],
                            row["window_end"],
                            row["created_at"],
                            row["updated_at"],
                        ),
                    )
                )
            return made

    return [{**template, "id": i} for i in client.portal.call(make)]


def file_rates(count: int) -> tuple[float, float]:
    data = os.urandom(300_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        for i in range(count):
            write_atomic(folder / "a" / f"{i}.jpg", data)
        durable = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(count):
            path = folder / "b" / f"{i}.jpg"
            path.parent.mkdir(exist_ok=True)
            tmp_path = path.with_suffix(".tmp")
            tmp_path.write_bytes(data)
            tmp_path.rename(path)
        plain = count / (time.perf_counter() - started)
    return durable, plain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full_dir, normal_dir = Path(tmp) / "full", Path(tmp) / "normal"
        build_demo(full_dir)
        build_demo(normal_dir)
        full = put_rate(full_dir, args.visits, "FULL")
        normal = put_rate(normal_dir, args.visits, "NORMAL")
    print(
        f"visit PUTs/s: synchronous=FULL {full:.0f}, NORMAL {normal:.0f}, ratio {full / normal:.2f}"
    )
    durable, plain = file_rates(200)
    print(f"photo files/s: fsynced {durable:.0f}, plain {plain:.0f}, ratio {durable / plain:.2f}")
    ok = full / normal >= 0.5
    print("target (FULL >= 0.5 x NORMAL):", "met" if ok else "NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
