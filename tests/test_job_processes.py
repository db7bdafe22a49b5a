"""A real `visitscore serve` runs its background jobs in a child process
(`visitscore worker --once`, at a lower CPU priority), so that a long export never holds
the server's interpreter; `--no-jobs` and VISITSCORE_JOBS_IN_CHILD=0 change that."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from click.testing import CliRunner

from server.cli import main
from tests.conftest import PASSWORD, LiveServer, copy_data, db_rows


def _ask(client: httpx.Client) -> int:
    """A manager asks for the chain's export (the comparison page's form): its job id."""
    login = client.post(
        "/api/v1/session", json={"email": "manager@demo.test", "password": PASSWORD}
    )
    assert login.status_code == 201, login.text
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


def test_a_server_that_stops_stops_its_worker_and_gives_the_job_back(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from scale_data import grow

    data = tmp_path / "data"
    grow(data, 10_000, branches=50)  # an export that takes a few seconds
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
