"""Chaos: three shoppers sync visits with photos through a fault-injecting proxy in front
of `visitscore serve --workers 2`, while workers and the whole server are killed with
SIGKILL at random. At the end nothing acknowledged is lost and nothing is stored twice.

The shoppers follow the sync protocol as the app does (docs/sync-protocol.md): PUT the
visit, PUT each photo the server says is missing, GET until `complete`; network errors
and 5xx are retried; any other answer fails the test. The proxy cuts requests midway,
drops answers after the server has acted on them, and stalls connections. Traffic stays
on 127.0.0.1 and the run is bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.api.conftest import jpeg_bytes, manifest, new_id, visit_body
from tests.conftest import copy_data, db_rows, free_port, worker_pids

SHOPPERS = ("shopper@demo.test", "shopper2@demo.test", "shopper3@demo.test")
PHOTOS_PER_VISIT = 2
DEADLINE_SECONDS = 100
SEED = 20261201


class Server:
    """`visitscore serve --workers 2` in its own process group, restartable on its port."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.log = (data_dir.parent / "chaos-server.log").open("ab")
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "server", "serve", "--host", "127.0.0.1"),
                *("--port", str(self.port), "--data-dir", str(self.data_dir), "--workers", "2"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=self.env,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)

    def kill_all(self) -> None:
        """SIGKILL the supervisor and every worker at once (a crash of the machine's
        process, not a shutdown)."""
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def kill_a_worker(self, rng: random.Random) -> bool:
        assert self.process is not None
        try:
            workers = worker_pids(self.process.pid)
        except FileNotFoundError:
            return False
        if not workers:
            return False
        try:
            os.kill(rng.choice(workers), signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill_all()
        self.log.close()


@dataclass
class Faults:
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limit: int) -> None:
    """Copy until EOF, or until ``limit`` bytes (then stop: the caller cuts)."""
    sent = 0
    while sent < limit:
        chunk = await reader.read(min(65536, limit - sent))
        if not chunk:
            break
        writer.write(chunk)
        await writer.drain()
        sent += len(chunk)


async def _close(*writers: asyncio.StreamWriter) -> None:
    for writer in writers:
        writer.close()
    for writer in writers:
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def proxy_handler(
    upstream_port: int, rng: random.Random, faults: Faults, live: set[asyncio.Task[Any]]
) -> Any:
    """Each connection, at random: passes, is cut after part of the request, loses the
    answer after the server got the whole request, or stalls before passing."""

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        live.add(task)
        task.add_done_callback(live.discard)
        roll = rng.random()
        kind = (
            "cut_request"
            if roll < 0.15
            else "lose_answer"
            if roll < 0.30
            else "stall"
            if roll < 0.38
            else "pass"
        )
        faults.count(kind)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            faults.count("refused")
            await _close(client_w)
            return
        upload: asyncio.Task[None] | None = None
        try:
            if kind == "stall":
                await asyncio.sleep(rng.uniform(0.2, 1.5))
            if kind == "cut_request":
                await _pipe(client_r, server_w, rng.randint(1, 6000))
                return
            upload = asyncio.create_task(_pipe(client_r, server_w, 1 << 40))
            if kind == "lose_answer":
                # The server reads the request and acts on it; its answer never arrives.
                await _pipe(server_r, _Sink(), 1)
                return
            await _pipe(server_r, client_w, 1 << 40)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if upload is not None:
                upload.cancel()
            await _close(client_w, server_w)

    return handle


class _Sink:
    """A writer that throws its bytes away."""

    def write(self, data: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass


@dataclass
class Outcome:
    acknowledged: dict[str, list[str]] = field(default_factory=dict)  # visit -> photos
    retries: int = 0


async def _until_ok(
    client: httpx.AsyncClient, method: str, url: str, outcome: Outcome, deadline: float, **kw: Any
) -> httpx.Response:
    """Retry network errors and 5xx with a short backoff; any other non-2xx fails."""
    delay = 0.05
    while True:
        assert time.monotonic() < deadline, f"{method} {url} never succeeded"
        try:
            response = await client.request(method, url, **kw)
        except httpx.HTTPError:
            response = None
        if response is not None and 200 <= response.status_code < 300:
            assert response.headers["content-type"].startswith("application/json")
            return response
        if response is not None and response.status_code < 500:
            raise AssertionError(f"{method} {url}: {response.status_code} {response.text[:300]}")
        outcome.retries += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def log_in(email: str, direct: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The shopper's session cookies and assignments, straight from the server (before
    the chaos starts: these requests are not retried)."""
    async with httpx.AsyncClient(base_url=direct, timeout=10) as login_client:
        response = await login_client.post(
            "/api/v1/session", json={"email": email, "password": "visitscore-demo"}
        )
        assert response.status_code == 201
        cookies = dict(login_client.cookies)
        assignments = (await login_client.get("/api/v1/assignments")).json()["assignments"]
    return cookies, assignments


async def shopper(
    login: tuple[dict[str, str], list[dict[str, Any]]],
    via_proxy: str,
    outcome: Outcome,
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    cookies, assignments = login
    # A connection per request, so each request meets its own fault.
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=via_proxy, timeout=5, cookies=cookies, limits=fresh
    ) as client:
        for assignment in assignments:
            photos = [
                jpeg_bytes((800, 600), color=(rng.randrange(256), rng.randrange(256), 90))
                for _ in range(PHOTOS_PER_VISIT)
            ]
            entries = [manifest(p) for p in photos]
            visit_id = new_id()
            body = visit_body(assignment, photos=entries)
            url = f"/api/v1/visits/{visit_id}"
            await _until_ok(client, "PUT", url, outcome, deadline, json=body)
            while True:
                status = (await _until_ok(client, "GET", url, outcome, deadline)).json()
                if status["complete"]:
                    break
                for data, entry in zip(photos, entries, strict=True):
                    if entry["photo_id"] in status["photos_missing"]:
                        await _until_ok(
                            client,
                            "PUT",
                            f"{url}/photos/{entry['photo_id']}",
                            outcome,
                            deadline,
                            content=data,
                        )
            outcome.acknowledged[visit_id] = [e["photo_id"] for e in entries]


async def chaos(server: Server, stop: asyncio.Event, rng: random.Random) -> dict[str, int]:
    done = {"workers_killed": 0, "server_killed": 0}
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.4, 1.2))
        if stop.is_set():
            break
        if rng.random() < 0.2:
            await asyncio.to_thread(server.kill_all)
            done["server_killed"] += 1
            await asyncio.to_thread(server.start)
        elif await asyncio.to_thread(server.kill_a_worker, rng):
            done["workers_killed"] += 1
    return done


@pytest.mark.timeout(180)
@pytest.mark.parametrize("engines", ["sqlite+folder", "postgresql+s3"])
def test_nothing_is_lost_or_stored_twice_through_faults_and_kills(
    demo_template: Path,
    tmp_path: Path,
    engines: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    env: dict[str, str] = {}
    bucket = None
    if engines == "postgresql+s3":
        url = request.getfixturevalue("pg_demo_template").copy()
        bucket = request.getfixturevalue("s3_bucket")  # also points this process at it
        env = {"VISITSCORE_DATABASE_URL": url, "VISITSCORE_PHOTO_STORE": f"s3://{bucket}/c"}
        monkeypatch.setenv("VISITSCORE_DATABASE_URL", url)  # db_rows reads it there
    server = Server(data, env)
    server.start()
    rng = random.Random(SEED)
    faults = Faults()
    outcome = Outcome()
    started = time.monotonic()

    async def main() -> dict[str, int]:
        live: set[asyncio.Task[Any]] = set()
        handler = proxy_handler(server.port, rng, faults, live)
        proxy = await asyncio.start_server(handler, "127.0.0.1", 0)
        proxy_port = proxy.sockets[0].getsockname()[1]
        logins = [await log_in(email, f"http://127.0.0.1:{server.port}") for email in SHOPPERS]
        stop = asyncio.Event()
        killer = asyncio.create_task(chaos(server, stop, random.Random(SEED + 1)))
        deadline = time.monotonic() + DEADLINE_SECONDS
        try:
            await asyncio.gather(
                *(
                    shopper(login, f"http://127.0.0.1:{proxy_port}", outcome, deadline, SEED + i)
                    for i, login in enumerate(logins)
                )
            )
        finally:
            stop.set()
            kills = await killer
            proxy.close()
            for task in list(live):  # connections still open (stalled, or being cut)
                task.cancel()
            await asyncio.gather(*live, return_exceptions=True)
            await proxy.wait_closed()
        return kills

    try:
        kills = asyncio.run(main())
    finally:
        server.stop()
    elapsed = time.monotonic() - started
    print(
        f"chaos: {elapsed:.0f} s, faults {faults.counts}, kills {kills}, retries {outcome.retries}"
    )
    assert elapsed < 120
    assert kills["workers_killed"] >= 3 and kills["server_killed"] >= 1, kills
    assert sum(faults.counts.get(k, 0) for k in ("cut_request", "lose_answer")) >= 10

    visits = list(outcome.acknowledged)
    assert len(visits) == 12
    marks = ",".join("?" * len(visits))
    rows = db_rows(
        data,
        f"SELECT visit_uuid, count(*), min(state) FROM visits WHERE visit_uuid IN ({marks})"
        " GROUP BY visit_uuid",
        tuple(visits),
    )
    assert sorted(r[0] for r in rows) == sorted(visits)  # 0 lost
    assert all(count == 1 for _v, count, _s in rows)  # 0 stored twice
    assert {state for _v, _c, state in rows} == {"submitted"}
    photo_ids = [p for ids in outcome.acknowledged.values() for p in ids]
    photo_marks = ",".join("?" * len(photo_ids))
    stored = db_rows(
        data,
        f"SELECT id, blob_key FROM photos WHERE id IN ({photo_marks}) AND received_at IS NOT NULL",
        tuple(photo_ids),
    )
    assert len(stored) == len(photo_ids) == len(set(photo_ids))
    for _photo_id, key in stored:
        names = [f"{key[:2]}/{key[2:4]}/{key}-{size}.jpg" for size in ("display", "thumb")]
        if bucket is None:
            assert all((data / "photos" / name).is_file() for name in names)
        else:
            s3 = request.getfixturevalue("s3_endpoint").client()
            for name in names:
                assert s3.head_object(Bucket=bucket, Key=f"c/{name}")["ContentLength"] > 0
    assert db_rows(
        data,
        f"SELECT count(*) FROM visit_photos WHERE photo_id IN ({photo_marks})",
        tuple(photo_ids),
    ) == [(len(photo_ids),)]
    received = db_rows(
        data,
        f"SELECT count(*) FROM audit_log WHERE action = 'photo.received' AND entity_id IN"
        f" ({photo_marks})",
        tuple(photo_ids),
    )
    assert received == [(len(photo_ids),)]  # each photo recorded once
