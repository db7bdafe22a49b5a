"""Photo uploads and photo serving with the photos in the data folder and in an S3
bucket (a real SeaweedFS on 127.0.0.1), side by side, rounds interleaved.

    .venv/bin/python benchmarks/photo_store.py [--rounds 3] [--photos 12]

Each round, against a `visitscore serve` per store (same demo data): one shopper sends a
visit listing ``--photos`` phone-sized JPEGs (2000 x 1500, ~0.5 MB), uploads them one
after another (the app's sync does one at a time), then 8 clients fetch the display
copies 200 times. Prints the medians and the S3 / folder ratios. Target (ours; the issue
sets none): an upload to S3 within 1.5 x the folder's time, serving within 2 x.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_server import visitscore_server  # noqa: E402
from photos import photo_like_jpeg  # noqa: E402

from tests.api.conftest import manifest, visit_body  # noqa: E402
from tests.s3 import seaweedfs  # noqa: E402

UPLOAD_TARGET = 1.5
SERVE_TARGET = 2.0


async def one_round(url: str, blobs: list[bytes]) -> tuple[float, float]:
    """Median seconds per upload, and display copies served per second."""
    import httpx2 as httpx

    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        await client.post(
            "/api/v1/session", json={"email": "shopper@demo.test", "password": "visitscore-demo"}
        )
        assignment = (await client.get("/api/v1/assignments")).json()["assignments"][0]
        entries = [manifest(b, question=None) for b in blobs]
        visit_id = str(uuid.uuid4())
        body = visit_body(assignment, photos=entries)
        (await client.put(f"/api/v1/visits/{visit_id}", json=body)).raise_for_status()
        times = []
        for entry, blob in zip(entries, blobs, strict=True):
            start = time.perf_counter()
            answer = await client.put(
                f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=blob
            )
            times.append(time.perf_counter() - start)
            assert answer.status_code == 201, answer.text
        served = 0

        async def fetch(worker: int) -> None:
            nonlocal served
            for i in range(25):
                entry = entries[(worker + i) % len(entries)]
                answer = await client.get(f"/api/v1/photos/{entry['photo_id']}/display")
                assert answer.status_code == 200 and answer.content[:2] == b"\xff\xd8"
                served += 1

        start = time.perf_counter()
        await asyncio.gather(*(fetch(w) for w in range(8)))
        rate = served / (time.perf_counter() - start)
    return statistics.median(times), rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, seaweedfs(Path(tmp) / "seaweedfs") as s3:
        os.environ.update(s3.env())
        s3.client().create_bucket(Bucket="bench-photos")
        stores: dict[str, list[str]] = {
            "folder": [],
            "s3": ["--photo-store", "s3://bench-photos/visitscore"],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in stores}
        servers: dict[str, Any] = {}
        contexts = []
        for name, extra in stores.items():
            data_dir = Path(tmp) / name
            subprocess.run(
                [sys.executable, "-m", "server", "demo", "--data-dir", str(data_dir), *extra],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            context = visitscore_server(data_dir, *extra)
            servers[name] = context.__enter__()[1]
            contexts.append(context)
        try:
            for round_no in range(args.rounds):
                for name in stores:
                    blobs = [
                        photo_like_jpeg(
                            (2000, 1500), quality=85, orientation=1 + (i + round_no) % 8
                        )
                        + f"{name}{round_no}{i}".encode()  # unique bytes each time
                        for i in range(args.photos)
                    ]
                    upload, rate = asyncio.run(one_round(servers[name], blobs))
                    results[name].append((upload, rate))
                    print(
                        f"round {round_no + 1} {name:6}: {upload * 1000:6.1f} ms per upload,"
                        f" {rate:6.0f} photos served/s"
                    )
        finally:
            for context in contexts:
                context.__exit__(None, None, None)
    folder_up = statistics.median(u for u, _ in results["folder"])
    s3_up = statistics.median(u for u, _ in results["s3"])
    folder_rate = statistics.median(r for _, r in results["folder"])
    s3_rate = statistics.median(r for _, r in results["s3"])
    up_ratio, serve_ratio = s3_up / folder_up, folder_rate / s3_rate
    print(
        f"upload: folder {folder_up * 1000:.1f} ms, S3 {s3_up * 1000:.1f} ms:"
        f" S3 / folder {up_ratio:.2f} (target ≤ {UPLOAD_TARGET})"
    )
    print(
        f"serving: folder {folder_rate:.0f}/s, S3 {s3_rate:.0f}/s:"
        f" time S3 / folder {serve_ratio:.2f} (target ≤ {SERVE_TARGET})"
    )
    ok = up_ratio <= UPLOAD_TARGET and serve_ratio <= SERVE_TARGET
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
