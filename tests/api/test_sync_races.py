"""Nothing lost, nothing twice: retries racing each other across two server processes,
and answers lost after the server committed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.api.conftest import jpeg_bytes, manifest, new_id, visit_body
from tests.conftest import LiveServer, copy_data, db_rows, files_in_the_making, worker_pids


@pytest.fixture(scope="module")
def two_workers(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    data = copy_data(demo_template, tmp_path_factory.mktemp("races") / "data")
    server = LiveServer(data, "--workers", "2")
    yield server
    server.stop()


async def _client(server: LiveServer, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=server.url, timeout=30)
    response = await client.post(
        "/api/v1/session", json={"email": email, "password": "visitscore-demo"}
    )
    assert response.status_code == 201
    return client


@asynccontextmanager
async def _logged_in(server: LiveServer, email: str) -> AsyncIterator[httpx.AsyncClient]:
    client = await _client(server, email)
    try:
        yield client
    finally:
        await client.aclose()


def _take_assignment(server: LiveServer, email: str) -> dict[str, Any]:
    """An open assignment of this shopper that no other test has used."""

    async def main() -> dict[str, Any]:
        async with _logged_in(server, email) as client:
            response = await client.get("/api/v1/assignments")
            return response.json()["assignments"][0]  # type: ignore[no-any-return]

    return asyncio.run(main())


def test_ten_identical_visit_and_photo_puts_at_once_store_one(two_workers: LiveServer) -> None:
    assignment = _take_assignment(two_workers, "shopper@demo.test")
    data = jpeg_bytes((1600, 1200))
    entry = manifest(data)
    visit_id = new_id()
    body = visit_body(assignment, photos=[entry])

    async def main() -> tuple[list[int], list[int]]:
        clients = [await _client(two_workers, "shopper@demo.test") for _ in range(10)]
        try:
            visits = await asyncio.gather(
                *(c.put(f"/api/v1/visits/{visit_id}", json=body) for c in clients)
            )
            photos = await asyncio.gather(
                *(
                    c.put(f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=data)
                    for c in clients
                )
            )
        finally:
            for c in clients:
                await c.aclose()
        return [r.status_code for r in visits], [r.status_code for r in photos]

    visit_codes, photo_codes = asyncio.run(main())
    assert sorted(visit_codes) == [200] * 9 + [201]
    assert sorted(photo_codes) == [200] * 9 + [201]
    data_dir = two_workers.data_dir
    assert db_rows(
        data_dir, "SELECT count(*), max(state) FROM visits WHERE visit_uuid = ?", (visit_id,)
    ) == [(1, "submitted")]
    assert db_rows(
        data_dir, "SELECT count(*) FROM audit_log WHERE entity_id = ?", (entry["photo_id"],)
    ) == [(1,)]
    assert db_rows(
        data_dir,
        "SELECT count(*) FROM audit_log WHERE entity_id = ? AND action = 'visit.submitted'",
        (visit_id,),
    ) == [(1,)]
    key = entry["sha256"]
    stored = sorted(p.name for p in (data_dir / "photos" / key[:2] / key[2:4]).iterdir())
    assert stored == [f"{key}-display.jpg", f"{key}-thumb.jpg"]
    assert not files_in_the_making(data_dir)


@contextmanager
def _answer_lost(
    server: LiveServer, method: str, path: str, cookie: str, body: bytes, content_type: str
) -> Iterator[None]:
    """Send a whole request and hang up without reading the answer when the block ends.

    (Hanging up before the server has read the body is a lost request, not a lost
    answer: uvicorn then hands the app a disconnect and nothing is stored.)"""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Cookie: vs_session={cookie}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + body)
        yield


def _wait_for(check: Any, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the server never finished the request"
        time.sleep(0.05)


def test_a_replay_after_a_lost_answer_finds_the_work_done(two_workers: LiveServer) -> None:
    assignment = _take_assignment(two_workers, "shopper2@demo.test")
    data = jpeg_bytes((1000, 800))
    entry = manifest(data)
    visit_id = new_id()
    body = visit_body(assignment, photos=[entry])

    async def cookie() -> str:
        async with _logged_in(two_workers, "shopper2@demo.test") as client:
            return client.cookies["vs_session"]

    token = asyncio.run(cookie())
    with _answer_lost(
        two_workers,
        "PUT",
        f"/api/v1/visits/{visit_id}",
        token,
        json.dumps(body).encode(),
        "application/json",
    ):
        _wait_for(
            lambda: (
                db_rows(
                    two_workers.data_dir,
                    "SELECT count(*) FROM visits WHERE visit_uuid = ?",
                    (visit_id,),
                )
                == [(1,)]
            )
        )
    with _answer_lost(
        two_workers,
        "PUT",
        f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}",
        token,
        data,
        "image/jpeg",
    ):
        _wait_for(
            lambda: (
                db_rows(
                    two_workers.data_dir,
                    "SELECT state FROM visits WHERE visit_uuid = ?",
                    (visit_id,),
                )
                == [("submitted",)]
            )
        )

    async def replay() -> tuple[int, int, dict[str, Any]]:
        async with _logged_in(two_workers, "shopper2@demo.test") as client:
            visit = await client.put(f"/api/v1/visits/{visit_id}", json=body)
            photo = await client.put(
                f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=data
            )
            status = await client.get(f"/api/v1/visits/{visit_id}")
            return visit.status_code, photo.status_code, status.json()

    visit_code, photo_code, status = asyncio.run(replay())
    assert (visit_code, photo_code) == (200, 200)
    assert status["complete"] is True and status["photos_present"] == 1
    assert db_rows(
        two_workers.data_dir, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (visit_id,)
    ) == [(1,)]


def _photo_upload_by_hand(
    server: LiveServer, email: str
) -> tuple[str, dict[str, Any], bytes, bytes]:
    """A visit with one photo, stored; answers its id, the photo's manifest entry, the
    photo's bytes and the raw HTTP head of the photo's PUT (to send the body by hand)."""
    assignment = _take_assignment(server, email)
    data = jpeg_bytes((1600, 1200))
    entry = manifest(data)
    visit_id = new_id()

    async def setup() -> str:
        async with _logged_in(server, email) as client:
            response = await client.put(
                f"/api/v1/visits/{visit_id}", json=visit_body(assignment, photos=[entry])
            )
            assert response.status_code == 201
            return client.cookies["vs_session"]

    token = asyncio.run(setup())
    head = (
        f"PUT /api/v1/visits/{visit_id}/photos/{entry['photo_id']} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\nCookie: vs_session={token}\r\n"
        f"Content-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return visit_id, entry, data, head


def test_an_upload_cut_off_midway_leaves_nothing(two_workers: LiveServer) -> None:
    visit_id, entry, data, head = _photo_upload_by_hand(two_workers, "shopper3@demo.test")
    with socket.create_connection(("127.0.0.1", two_workers.port), timeout=10) as sock:
        sock.sendall(head + data[: len(data) // 2])
        # The half-received upload is on disk in the worker's scratch folder...
        _wait_for(lambda: bool(files_in_the_making(two_workers.data_dir)))
    # ... and is removed when the connection drops.
    _wait_for(lambda: not files_in_the_making(two_workers.data_dir))
    assert db_rows(
        two_workers.data_dir, "SELECT received_at FROM photos WHERE id = ?", (entry["photo_id"],)
    ) == [(None,)]
    assert db_rows(
        two_workers.data_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (visit_id,)
    ) == [("incomplete",)]


def _connection_owner(server_port: int, client_port: int, pids: list[int]) -> int:
    """Which worker process holds the server side of our TCP connection."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    assert inode, "the server has not accepted the connection"
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if fd.readlink().name == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no worker holds the connection")


def test_a_worker_restarting_never_removes_another_workers_upload_in_progress(
    demo_template: Path, tmp_path: Path
) -> None:
    """The other worker is killed mid-upload and restarted by the supervisor: its
    start-up clears the dead worker's scratch folder, never the live upload."""
    server = LiveServer(copy_data(demo_template, tmp_path / "data"), "--workers", "2")
    try:
        _wait_for(lambda: len(worker_pids(server.process.pid)) == 2)
        _visit_id, entry, data, head = _photo_upload_by_hand(server, "shopper3@demo.test")
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            sock.sendall(head + data[: len(data) // 2])
            _wait_for(lambda: bool(files_in_the_making(server.data_dir)))
            workers = worker_pids(server.process.pid)
            owner = _connection_owner(server.port, sock.getsockname()[1], workers)
            (other,) = [pid for pid in workers if pid != owner]
            folders = {p.name for p in (server.data_dir / "uploads").iterdir()}
            os.kill(other, signal.SIGKILL)
            # The supervisor starts a new worker; its start-up sweeps the dead one's folder.
            _wait_for(
                lambda: (
                    other not in worker_pids(server.process.pid)
                    and len(worker_pids(server.process.pid)) == 2
                    and len({p.name for p in (server.data_dir / "uploads").iterdir()} & folders)
                    == 1
                ),
                seconds=30,
            )
            sock.sendall(data[len(data) // 2 :])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 201"), answer[:300]
        assert db_rows(
            server.data_dir,
            "SELECT received_at IS NOT NULL FROM photos WHERE id = ?",
            (entry["photo_id"],),
        ) == [(1,)]
        assert not files_in_the_making(server.data_dir)
    finally:
        server.stop()


def test_a_visit_put_cut_off_mid_body_stores_nothing_and_logs_no_error(
    two_workers: LiveServer,
) -> None:
    assignment = _take_assignment(two_workers, "shopper@demo.test")
    visit_id = new_id()

    async def token() -> str:
        async with _logged_in(two_workers, "shopper@demo.test") as client:
            return client.cookies["vs_session"]

    body = json.dumps(visit_body(assignment)).encode()
    head = (
        f"PUT /api/v1/visits/{visit_id} HTTP/1.1\r\nHost: 127.0.0.1:{two_workers.port}\r\n"
        f"Cookie: vs_session={asyncio.run(token())}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    log = two_workers.data_dir.parent / "server.log"
    before = log.read_text()
    with socket.create_connection(("127.0.0.1", two_workers.port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # the worker is waiting for the rest of the body
    # Before the fix, the worker logged two tracebacks within milliseconds of the hang-up.
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        written = log.read_text()[len(before) :]
        assert "unhandled error" not in written and "Traceback" not in written, written
        time.sleep(0.1)
    assert (
        db_rows(two_workers.data_dir, "SELECT 1 FROM visits WHERE visit_uuid = ?", (visit_id,))
        == []
    )
