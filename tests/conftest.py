"""Shared fixtures: real SQLite files in temp folders, the demo built once and copied."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.db import Database
from server.demo import PASSWORD, create_demo
from server.migrate import migrate_all
from server.photo_store import FolderStore
from server.settings import Settings

DEMO_TODAY = date(2026, 11, 23)

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)


def pytest_configure(config: pytest.Config) -> None:
    # The database comes from the fixtures (and VISITSCORE_TEST_ENGINE), never from the
    # shell that started the tests: a developer's own database is not a test's.
    os.environ.pop("VISITSCORE_DATABASE_URL", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: once Playwright's sync API starts, it keeps an event loop
    running in the main thread, which asyncio.run() in other tests cannot share."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path))


def build_demo(data_dir: Path, today: date = DEMO_TODAY) -> None:
    """Build the demo in its own thread: Playwright's sync API may hold this thread's loop."""

    async def main() -> None:
        async with Database(data_dir / "visitscore.db") as db:
            await migrate_all(db)
            await create_demo(db, FolderStore(data_dir / "photos"), today)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data set, built once per test session. Never modify it: copy it."""
    data_dir = tmp_path_factory.mktemp("demo-template") / "data"
    build_demo(data_dir)
    return data_dir


def db_rows(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows from a data directory's database, read directly (tests check what was stored):
    the PostgreSQL database of this test when it runs on PostgreSQL."""
    url = os.environ.get("VISITSCORE_DATABASE_URL", "")
    if url.startswith("postgresql:"):
        import psycopg

        from server.db.sql import to_psycopg

        with psycopg.connect(url) as conn:
            return [tuple(r) for r in conn.execute(to_psycopg(sql), params).fetchall()]
    db = sqlite3.connect(data_dir / "visitscore.db")
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def visit_scores(
    data_dir: Path, where: str = "", params: tuple[Any, ...] = ()
) -> list[dict[str, Any]]:
    """Each visit's stored scores, read straight from the rows by this test code (not the
    server's reader): branch_id, month, started_utc, total, sections {key: score} and
    scored questions {key: (earned, possible)}, possible from the question's version."""
    import json

    from server.scoring import possible_points

    versions = {
        (qid, version): json.loads(text)
        for qid, version, text in db_rows(
            data_dir, "SELECT questionnaire_id, version, definition FROM questionnaire_versions"
        )
    }
    out = []
    for branch_id, day, started, total, scores, qid, version in db_rows(
        data_dir,
        "SELECT branch_id, local_date, started_utc, score_total, scores, questionnaire_id,"
        f" questionnaire_version FROM visits {where} ORDER BY id",
        params,
    ):
        record = json.loads(scores) if scores else {}
        sections = versions[(qid, version)]["sections"]
        questions = [q for s in sections for q in s["questions"]]
        if record and record.get("v") != 2:  # the full breakdown of before migration 0014
            by_section = {s["key"]: s["score"] for s in record["sections"]}
            by_question = {
                q["key"]: (q["earned"], q["possible"])
                for q in record["questions"]
                if q["status"] == "scored"
            }
        elif record:
            by_section = {s["key"]: v for s, v in zip(sections, record["sections"], strict=True)}
            by_question = {
                q["key"]: (e, possible_points(q))
                for q, e in zip(questions, record["earned"], strict=True)
                if e is not None
            }
        else:
            by_section, by_question = {}, {}
        out.append(
            {
                "branch_id": branch_id,
                "month": day[:7] if day else None,
                "started_utc": started,
                "total": total,
                "sections": by_section,
                "questions": by_question,
            }
        )
    return out


def open_db(data_dir: Path) -> Any:
    """The database of a data directory as the app opens it (PostgreSQL when this test
    runs there), not yet connected."""
    from server.engines import open_database

    return open_database(os.environ.get("VISITSCORE_DATABASE_URL", ""), data_dir)


def db_write(data_dir: Path, statements: list[tuple[str, Any]]) -> None:
    """Change a data directory's database directly, in one transaction (tests set up
    what no request makes): statements with a tuple of parameters, or a list of tuples
    for several rows."""
    url = os.environ.get("VISITSCORE_DATABASE_URL", "")
    if url.startswith("postgresql:"):
        import psycopg

        from server.db.sql import to_psycopg

        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            for sql, params in statements:
                if isinstance(params, list):
                    cursor.executemany(to_psycopg(sql), params)
                else:
                    cursor.execute(to_psycopg(sql), params)
        return
    db = sqlite3.connect(data_dir / "visitscore.db")
    try:
        with db:
            for sql, params in statements:
                if isinstance(params, list):
                    db.executemany(sql, params)
                else:
                    db.execute(sql, params)
    finally:
        db.close()


def files_in_the_making(data_dir: Path) -> list[Path]:
    """Upload and photo temp files left in the workers' scratch folders (their lock
    files aside)."""
    return [p for p in (data_dir / "uploads").rglob("*") if p.is_file() and p.name != ".lock"]


def worker_pids(server_pid: int) -> list[int]:
    """The uvicorn worker processes of a `serve --workers N` supervisor."""
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    found = []
    for pid in map(int, children):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def copy_data(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    return dest


ENGINE = os.environ.get("VISITSCORE_TEST_ENGINE", "sqlite")
"""The database the suites run on: sqlite (default) or postgresql (a throwaway cluster;
each test gets its own database, the demo copied from a template database)."""


@pytest.fixture
def demo_dir(demo_template: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A private copy of the demo data for one test."""
    data = copy_data(demo_template, tmp_path / "data")
    if ENGINE == "postgresql":
        template = request.getfixturevalue("pg_demo_template")
        url = template.copy()
        request.getfixturevalue("monkeypatch").setenv("VISITSCORE_DATABASE_URL", url)
    return data


def published_version(data_dir: Path, definition: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """A statement for :func:`db_write`: ``definition`` stored as published version 2 of
    the default questionnaire (what an admin's publishing makes, written directly)."""
    (at,) = db_rows(data_dir, "SELECT created_at FROM questionnaire_versions LIMIT 1")[0]
    return (
        "INSERT INTO questionnaire_versions"
        " (questionnaire_id, version, definition, created_at, published_at)"
        " VALUES ('default', 2, ?, ?, ?)",
        (json.dumps(definition), at, at),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """`visitscore serve` in its own process on a free port of 127.0.0.1."""

    def __init__(
        self,
        data_dir: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
        python: str = sys.executable,
        cwd: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = (data_dir.parent / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                *extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            cwd=cwd,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    "server did not start: " + (data_dir.parent / "server.log").read_text()[-2000:]
                )
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if ENGINE == "postgresql":
        url = request.getfixturevalue("pg_url")
        request.getfixturevalue("monkeypatch").setenv("VISITSCORE_DATABASE_URL", url)
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An app on an empty, migrated database."""
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def demo_client(demo_dir: Path) -> Iterator[TestClient]:
    """An app on a private copy of the demo data."""
    with TestClient(create_app(Settings(data_dir=demo_dir))) as c:
        yield c


def csrf_from(html: str) -> str:
    """The CSRF token a page's forms carry."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """This browser's CSRF token, read from a page's form."""
    return csrf_from(client.get(path).text)


def login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/api/v1/session", json={"email": email, "password": password})
    assert response.status_code == 201, response.text


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    """A migrated database in a temp folder (closed at the end of the test)."""
    database = Database(tmp_path / "test.db")
    await database.connect()
    await migrate_all(database)
    yield database  # type: ignore[misc]
    await database.close()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real S3 endpoint (SeaweedFS on 127.0.0.1), started once per test session."""
    from tests.s3 import seaweedfs

    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint: Any, monkeypatch: pytest.MonkeyPatch, request: Any) -> str:
    """A new empty bucket, with this process's environment pointed at the endpoint."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    bucket = f"{name}-{uuid.uuid4().hex[:8]}"
    s3_endpoint.client().create_bucket(Bucket=bucket)
    for key, value in s3_endpoint.env().items():
        monkeypatch.setenv(key, value)
    return bucket


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster (tests/postgres.py), started once per test session."""
    from tests.postgres import postgres_cluster

    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: Any) -> str:
    """A new empty PostgreSQL database; its URL."""
    import uuid

    return str(pg_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}"))


@dataclass
class PgTemplate:
    cluster: Any
    name: str

    def copy(self) -> str:
        """A new database made from the template (PostgreSQL copies its files)."""
        import uuid

        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        return str(self.cluster.url(name))


@pytest.fixture(scope="session")
def pg_demo_template(pg_cluster: Any, demo_template: Path) -> PgTemplate:
    """The demo built once on PostgreSQL (its photos are the SQLite demo's: same seed)."""
    from server.engines import open_database

    url = pg_cluster.create_database("demo_template")

    async def main() -> None:
        async with open_database(url, demo_template) as db:
            await migrate_all(db)
            await create_demo(db, FolderStore(demo_template.parent / "pg-photos"), DEMO_TODAY)

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, main()).result()
    return PgTemplate(pg_cluster, "demo_template")
