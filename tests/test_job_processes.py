"""A real `visitscore serve` runs its background jobs in a child process
(`visitscore worker --once`, at a lower CPU priority), so that a long export never holds
the server's interpreter; `--no-jobs` and VISITSCORE_JOBS_IN_CHILD=0 change that."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import PASSWORD, LiveServer, copy_data, db_rows


def _export(server: LiveServer) -> tuple[int, str]:
    """A manager asks for the chain's export and waits for it: (job id, the file)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
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
        job = int(asked.headers["location"].rsplit("/", 1)[-1])
        deadline = time.monotonic() + 60
        while (state := client.get(f"/exports/{job}.json").json()["state"]) != "done":
            assert state in ("queued", "running") and time.monotonic() < deadline, state
            time.sleep(0.2)
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
