"""Exports made in the background: asked for on the comparison page, watched, downloaded,
reused while nothing new was approved; and the job queue under them (retries, a dead
worker's lease, a visible state). Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import exports, jobs
from server.app import create_app
from server.jobs import JobContext, Runner, run_until_idle
from server.photo_store import FolderStore
from server.queries import jobs as queue
from server.settings import Settings
from tests.conftest import csrf_token, db_rows, db_write, login, open_db


def ask(client: TestClient, **form: str) -> Any:
    token = csrf_token(client, "/chains/1/compare")
    return client.post(
        "/chains/1/exports", data={"csrf_token": token, **form}, follow_redirects=False
    )


def wait_for(client: TestClient, job_url: str, seconds: float = 30) -> dict[str, Any]:
    """The export's JSON once it is finished (the app's own runner makes it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = client.get(job_url + ".json").json()
        if answer["state"] not in {"queued", "running"}:
            return answer  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{job_url} did not finish: {answer}")


def streamed_rows(client: TestClient, query: str = "") -> list[list[str]]:
    text = client.get("/chains/1/visits.csv" + query).content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_an_export_is_made_in_the_background_and_matches_the_streamed_one(
    demo_client: TestClient,
) -> None:
    login(demo_client, "manager@demo.test")
    asked = ask(demo_client, format="csv", **{"from": "2026-07", "to": "2026-10"})
    assert asked.status_code == 303
    job_url = asked.headers["location"]
    page = demo_client.get(job_url)
    assert page.status_code == 200 and "Export of" in page.text
    done = wait_for(demo_client, job_url)
    assert done["state"] == "done" and done["error"] is None
    expected = streamed_rows(demo_client, "?from=2026-07&to=2026-10")
    assert done["rows"] == done["done"] == done["total"] == len(expected) - 1 > 0
    download = demo_client.get(done["file"])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    name = download.headers["content-disposition"]
    assert 'filename="visits-' in name and "2026-07-to-2026-10.csv" in name
    got = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert got == expected  # the same rows, header included, in the same order
    # The finished page offers the file with its size in visits.
    page = demo_client.get(job_url).text
    assert f'href="{done["file"]}"' in page and f"{done['rows']} visits" in page


def test_json_exports_and_the_page_in_the_readers_language(demo_client: TestClient) -> None:
    login(demo_client, "admin@demo.test")
    done = wait_for(demo_client, ask(demo_client, format="json").headers["location"])
    body = demo_client.get(done["file"]).json()
    streamed = demo_client.get("/chains/1/visits.json").json()
    assert body == streamed and len(body["visits"]) == done["rows"] > 0
    demo_client.post(
        "/language", data={"csrf_token": csrf_token(demo_client, "/"), "lang": "id", "next": "/"}
    )
    page = demo_client.get(f"/exports/{done['id']}").text
    assert "Unduh" in page or "siap" in page  # Indonesian words, not English or keys


def test_the_same_request_is_reused_until_a_visit_is_approved(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "manager@demo.test")
    first = ask(demo_client, format="csv").headers["location"]
    wait_for(demo_client, first)
    again = ask(demo_client, format="csv").headers["location"]
    assert again == first  # nothing changed: the same file, at once
    assert ask(demo_client, format="json").headers["location"] != first  # another format
    before = wait_for(demo_client, first)["rows"]
    # A reviewer approves a waiting visit of the chain: the next request makes a new file.
    login(demo_client, "reviewer@demo.test")
    (waiting,) = db_rows(
        demo_dir,
        "SELECT v.visit_uuid FROM visits v JOIN branches b ON b.id = v.branch_id"
        " WHERE v.state = 'submitted' AND b.chain_id = 1 ORDER BY v.id LIMIT 1",
    )
    token = csrf_token(demo_client, "/review")
    approved = demo_client.post(
        f"/review/{waiting[0]}/approve", data={"csrf_token": token}, follow_redirects=False
    )
    assert approved.status_code == 303
    login(demo_client, "manager@demo.test")
    fresh = ask(demo_client, format="csv").headers["location"]
    assert fresh != first
    assert wait_for(demo_client, fresh)["rows"] == before + 1


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("admin@demo.test", 200),  # sees every branch, as the manager does: the same file
        ("owner@demo.test", 403),
        ("reviewer@demo.test", 403),
        ("shopper@demo.test", 404),
    ],
)
def test_only_readers_of_exactly_those_branches_get_the_file(
    demo_client: TestClient, email: str, status: int
) -> None:
    login(demo_client, "manager@demo.test")
    done = wait_for(demo_client, ask(demo_client).headers["location"])
    login(demo_client, email)
    for path in (f"/exports/{done['id']}", f"/exports/{done['id']}.json", done["file"]):
        assert demo_client.get(path).status_code == status, (email, path)


def test_bad_requests_are_refused_clearly(demo_client: TestClient) -> None:
    login(demo_client, "manager@demo.test")
    bad_format = ask(demo_client, format="xls")
    assert bad_format.status_code == 422 and "CSV, XLSX or JSON" in bad_format.text
    bad_region = ask(demo_client, format="csv", region="Atlantis")
    assert bad_region.status_code == 400 and "region" in bad_region.text
    bad_month = ask(demo_client, format="csv", **{"from": "2026-13"})
    assert bad_month.status_code == 400 and "months" in bad_month.text
    no_token = demo_client.post("/chains/1/exports", data={"format": "csv"})
    assert no_token.status_code == 403
    assert demo_client.get("/exports/999999").status_code == 404
    assert demo_client.get("/exports/999999.json").json()["error"]["code"] == "not_found"


def test_a_file_not_ready_or_no_longer_kept_is_explained(demo_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=demo_dir, run_jobs=False)  # nobody runs the queue
    with TestClient(create_app(settings)) as client:
        login(client, "manager@demo.test")
        job_url = ask(client).headers["location"]
        waiting = client.get(job_url + "/file")
        assert waiting.status_code == 409 and "waiting to start" in waiting.text
        assert "Refresh" in client.get(job_url).text
        assert client.get(job_url + ".json").json()["state"] == "queued"
        ran = asyncio.run(_run_queue(demo_dir))
        assert ran == 1
        done = client.get(job_url + ".json").json()
        assert done["state"] == "done"
        # The file is removed (as the sweep does after the keeping period).
        asyncio.run(_remove_files(demo_dir, done["id"]))
        gone = client.get(done["file"])
        assert gone.status_code == 410 and "no longer kept" in gone.text


async def _run_queue(data: Path) -> int:
    async with open_db(data) as db:
        runner = Runner(db, FolderStore(data / "photos"), data / "uploads" / "test")
        return await run_until_idle(runner)


async def _remove_files(data: Path, job_id: int) -> None:
    async with open_db(data) as db:
        job = await queue.get(db, job_id)
        assert job is not None
        await exports.remove_file(FolderStore(data / "photos"), job)


# --- the queue itself ----------------------------------------------------------------


@pytest.fixture
def flaky_kind() -> Any:
    """A kind of job that fails its first attempts: ``calls`` counts them."""
    calls: list[int] = []

    async def flaky(context: JobContext) -> dict[str, Any]:
        calls.append(context.attempt)
        await context.progress(len(calls), 3)
        if len(calls) < 3:
            raise RuntimeError(f"disk full on attempt {context.attempt}")
        return {"ok": True}

    jobs.KINDS["test_flaky"] = flaky
    yield calls
    del jobs.KINDS["test_flaky"]


def _enqueue(db: Any, kind: str, max_attempts: int = 3) -> Any:
    async def go() -> int:
        async with db.transaction() as tx:
            return await queue.enqueue(tx, kind, {}, actor_id=None, max_attempts=max_attempts)

    return go()


def test_a_failing_job_is_retried_then_done_with_its_history_visible(
    demo_dir: Path, flaky_kind: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "RETRY_AFTER", (0.0, 0.0))

    async def main() -> dict[str, Any] | None:
        async with open_db(demo_dir) as db:
            job_id = await _enqueue(db, "test_flaky")
            runner = Runner(db, FolderStore(demo_dir / "photos"), demo_dir / "uploads" / "t")
            assert await runner.run_once()
            failed_once = await queue.get(db, job_id)
            assert failed_once is not None and failed_once["state"] == "queued"
            assert failed_once["error"] == "disk full on attempt 1"
            await run_until_idle(runner)
            return await queue.get(db, job_id)

    job = asyncio.run(main())
    assert job is not None
    assert flaky_kind == [1, 2, 3]
    assert job["state"] == "done" and job["attempts"] == 3 and job["error"] is None
    assert job["result"] == {"ok": True}


def test_a_job_that_keeps_failing_fails_for_good_with_its_error(
    demo_dir: Path, flaky_kind: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "RETRY_AFTER", (0.0, 0.0))

    async def main() -> dict[str, Any] | None:
        async with open_db(demo_dir) as db:
            job_id = await _enqueue(db, "test_flaky", max_attempts=2)
            runner = Runner(db, FolderStore(demo_dir / "photos"), demo_dir / "uploads" / "t")
            await run_until_idle(runner)
            return await queue.get(db, job_id)

    job = asyncio.run(main())
    assert job is not None and job["state"] == "failed" and job["attempts"] == 2
    assert job["error"] == "disk full on attempt 2"
    with TestClient(create_app(Settings(data_dir=demo_dir, run_jobs=False))) as client:
        login(client, "admin@demo.test")
        page = client.get("/admin/jobs").text
        assert "disk full on attempt 2" in page and "failed" in page and "2 / 2" in page


def test_a_dead_workers_job_is_taken_over_when_its_lease_runs_out(
    demo_dir: Path, flaky_kind: list[int]
) -> None:
    async def main() -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        async with open_db(demo_dir) as db:
            job_id = await _enqueue(db, "test_flaky")
            async with db.transaction() as tx:  # a worker takes it, then dies
                taken = await queue.claim(tx, "dead-worker", 60)
            assert taken is not None and taken["id"] == job_id
            runner = Runner(db, FolderStore(demo_dir / "photos"), demo_dir / "uploads" / "t")
            assert not await runner.run_once()  # its lease still holds: nobody else runs it
            db_write_lease_out(demo_dir, job_id)
            async with db.transaction() as tx:
                again = await queue.claim(tx, runner.name, 60)
            # The dead worker can no longer report or finish it.
            async with db.transaction() as tx:
                assert not await queue.progress(tx, job_id, "dead-worker", 1, 3, 60)
                assert not await queue.finish(tx, job_id, "dead-worker", {})
            return again, await queue.get(db, job_id)

    again, job = asyncio.run(main())
    assert again is not None and again["attempts"] == 2 and again["worker"] != "dead-worker"
    assert job is not None and job["state"] == "running"


def db_write_lease_out(data: Path, job_id: int) -> None:
    db_write(
        data,
        [("UPDATE jobs SET lease_until = '2000-01-01T00:00:00+00:00' WHERE id = ?", (job_id,))],
    )


def test_an_unknown_kind_fails_at_once_and_says_why(demo_dir: Path) -> None:
    async def main() -> dict[str, Any] | None:
        async with open_db(demo_dir) as db:
            job_id = await _enqueue(db, "from_the_future")
            await run_until_idle(
                Runner(db, FolderStore(demo_dir / "photos"), demo_dir / "uploads" / "t")
            )
            return await queue.get(db, job_id)

    job = asyncio.run(main())
    assert job is not None and job["state"] == "failed" and job["attempts"] == 1
    assert "from_the_future" in job["error"]


def test_two_runners_never_run_the_same_job_twice(demo_dir: Path) -> None:
    """Six jobs, two runners (each its own database connections, as two servers) taking
    them at once: each job runs exactly once."""
    ran: list[int] = []

    async def counted(context: JobContext) -> dict[str, Any]:
        ran.append(context.id)
        await asyncio.sleep(0.01)
        return {}

    jobs.KINDS["test_counted"] = counted
    try:

        async def main() -> list[str]:
            async with open_db(demo_dir) as first, open_db(demo_dir) as second:
                ids = [await _enqueue(first, "test_counted") for _ in range(6)]
                runners = [
                    Runner(db, FolderStore(demo_dir / "photos"), demo_dir / "uploads" / "t")
                    for db in (first, second)
                ]
                await asyncio.gather(*(run_until_idle(r) for r in runners))
                return [(await queue.get(first, i) or {})["state"] for i in ids]

        states = asyncio.run(main())
    finally:
        del jobs.KINDS["test_counted"]
    assert states == ["done"] * 6
    assert sorted(ran) == sorted(set(ran)) and len(ran) == 6
