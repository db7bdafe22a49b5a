"""A real `visitscore serve` runs its background jobs in a child process
(`visitscore worker --once`, at a lower CPU priority), so that a long export never holds
the server's interpreter; `--no-jobs` and VISITSCORE_JOBS_IN_CHILD=0 change that."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server import export_process
from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import PASSWORD, LiveServer, copy_data, db_rows, login


def _login(client: httpx.Client) -> None:
    answer = client.post(
        "/api/v1/session", json={"email": "manager@demo.test", "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.text


def _ask(client: httpx.Client) -> int:
    """A manager asks for the chain's export (the comparison page's form): its job id."""
    _login(client)
    page = client.get("/chains/1/compare")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    asked = client.post(
        "/chains/1/exports",
        data={"csrf_token": token.group(1), "format": "csv"},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text[:300]
    return int(asked.headers["location"].rsplit("/", 1)[-1])


def _wait(client: httpx.Client, job: int, until: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (state := client.get(f"/exports/{job}.json").json())["state"] != until:
        assert state["state"] in ("queued", "running") and time.monotonic() < deadline, state
        time.sleep(0.05)
    return dict(state)


def _export(server: LiveServer) -> tuple[int, str]:
    """A manager asks for the chain's export and waits for it: (job id, the file)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        job = _ask(client)
        _wait(client, job, "done")
        made = client.get(f"/exports/{job}/file")
        assert made.status_code == 200
        return job, made.text


@pytest.mark.parametrize("in_child", [True, False])
def test_a_servers_jobs_run_in_a_child_process_unless_told_otherwise(
    demo_template: Path, tmp_path: Path, in_child: bool
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    server = LiveServer(data, env={"VISITSCORE_JOBS_IN_CHILD": "1" if in_child else "0"})
    try:
        job, made = _export(server)
    finally:
        server.stop()
    approved = db_rows(data, "SELECT count(*) FROM visits WHERE state = 'approved'")[0][0]
    assert made.startswith("\ufeffVisit,Date,Branch") and len(made.splitlines()) == approved + 1
    (worker,) = db_rows(data, "SELECT worker FROM jobs WHERE id = ?", (job,))[0]
    pid = int(worker.split(":")[1])
    assert (pid != server.process.pid) is in_child, (worker, server.process.pid)


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo and 10,000 more approved visits over 50 branches: an export that takes a
    few seconds and is bigger than what the pipes and sockets between hold."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from scale_data import grow

    data = tmp_path_factory.mktemp("grown") / "data"
    grow(data, 10_000, branches=50)
    return data


def test_a_server_that_stops_stops_its_worker_and_gives_the_job_back(
    grown: Path, tmp_path: Path
) -> None:
    data = copy_data(grown, tmp_path / "data")
    server = LiveServer(data)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            job = _ask(client)
            _wait(client, job, "running")
            (worker,) = db_rows(data, "SELECT worker FROM jobs WHERE id = ?", (job,))[0]
    finally:
        server.stop()
    child = int(worker.split(":")[1])
    assert child != server.process.pid
    deadline = time.monotonic() + 10
    while _alive(child):
        assert time.monotonic() < deadline, "the worker process outlived its server"
        time.sleep(0.1)
    state, attempts, holder = db_rows(
        data, "SELECT state, attempts, worker FROM jobs WHERE id = ?", (job,)
    )[0]
    assert (state, attempts, holder) == ("queued", 0, None)  # given back, attempt not counted
    # Another worker takes it up and makes the whole file.
    ran = CliRunner().invoke(main, ["worker", "--once", "--data-dir", str(data)])
    assert ran.exit_code == 0 and "Ran 1 job." in ran.output, ran.output
    (result,) = db_rows(data, "SELECT result FROM jobs WHERE id = ? AND state = 'done'", (job,))[0]
    approved = db_rows(data, "SELECT count(*) FROM visits WHERE state = 'approved'")[0][0]
    assert json.loads(result)["rows"] == approved > 10_000


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _export_children(server_pid: int) -> list[int]:
    """The `visitscore export-visits` processes a server has started and not yet reaped."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and b"export-visits" in command:
            found.append(int(entry.name))
    return found


def _stalled_download(server: LiveServer, cookies: httpx.Cookies, path: str) -> socket.socket:
    """A download that reads the start of its answer and then nothing (a small receive
    window, so what the server sends soon waits on it)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", server.port))
    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    return sock


def test_a_big_streamed_export_is_written_by_a_child_and_stops_with_its_download(
    grown: Path, tmp_path: Path
) -> None:
    data = copy_data(grown, tmp_path / "data")
    server = LiveServer(data)
    wanted = "/chains/1/visits.json?from=2026-01&region=" + quote("Jawa Barat")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            _login(client)
            streamed = client.get("/chains/1/visits.csv")
            assert streamed.status_code == 200
            as_json = client.get(wanted)
            assert as_json.status_code == 200
            # A download that stops reading holds its child still (the pipe is full, not
            # the server's memory); abandoned, its child is stopped.
            stalled = _stalled_download(server, client.cookies, "/chains/1/visits.csv")
            with stalled:
                time.sleep(1)
                (child,) = _export_children(server.process.pid)
                # It runs only on CPU time that no request wants.
                assert os.sched_getscheduler(child) == os.SCHED_IDLE
            deadline = time.monotonic() + 10
            while _export_children(server.process.pid):
                assert time.monotonic() < deadline, "the export went on without its reader"
                time.sleep(0.1)
            assert client.get("/healthz").status_code == 200
    finally:
        server.stop()
    # The same bytes as the server makes itself when it runs no children.
    with TestClient(create_app(Settings(data_dir=data))) as local:
        login(local, "manager@demo.test")
        assert local.get("/chains/1/visits.csv").content == streamed.content
        assert local.get(wanted).content == as_json.content
    rows = streamed.content.count(b"\n") - 1
    approved = db_rows(data, "SELECT count(*) FROM visits WHERE state = 'approved'")[0][0]
    assert rows == approved > export_process.CHILD_ROWS
    visits = as_json.json()["visits"]
    assert visits and {v["branch"]["region"] for v in visits} == {"Jawa Barat"}


def test_a_failing_export_process_cuts_the_download_short() -> None:
    """Whatever the child wrote is passed on, then the error: the download must not look
    complete (the server answers it by breaking the connection)."""
    script = "import sys; sys.stdout.write('Visit,Date\\n1,2026-11-02\\n'); sys.exit(3)"

    async def read() -> list[bytes]:
        got = []
        with pytest.raises(export_process.ExportFailed, match="stopped with 3"):
            async for chunk in export_process.stream(
                asyncio.Semaphore(1), [sys.executable, "-c", script], dict(os.environ)
            ):
                got.append(chunk)
        return got

    assert b"".join(asyncio.run(read())) == b"Visit,Date\n1,2026-11-02\n"
