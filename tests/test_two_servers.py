"""Two `visitscore serve` processes on different ports, one PostgreSQL database and one
S3 bucket (SeaweedFS) between them, behave as one server: sessions, CSRF, login limits,
the claim race, idempotent PUTs and approvals racing across the two."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.api.conftest import jpeg_bytes, manifest, new_id, visit_body
from tests.conftest import PASSWORD, LiveServer, copy_data, db_rows
from tests.test_summaries import assert_consistent


@dataclass
class Pair:
    a: LiveServer
    b: LiveServer
    data: Path  # for db_rows (the database itself is PostgreSQL)
    bucket: str
    s3: Any


@pytest.fixture(scope="module")
def servers(
    pg_demo_template: Any,
    s3_endpoint: Any,
    demo_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Pair]:
    url = pg_demo_template.copy()
    bucket = f"two-servers-{uuid.uuid4().hex[:8]}"
    s3_endpoint.client().create_bucket(Bucket=bucket)
    env = {
        **s3_endpoint.env(),
        "VISITSCORE_DATABASE_URL": url,
        "VISITSCORE_PHOTO_STORE": f"s3://{bucket}/visitscore",
        "VISITSCORE_SECRET_KEY": secrets.token_hex(32),  # the same on every server
    }
    started: list[LiveServer] = []
    saved = os.environ.get("VISITSCORE_DATABASE_URL")
    os.environ["VISITSCORE_DATABASE_URL"] = url  # db_rows reads the shared database
    try:
        for name in ("a", "b"):
            data = copy_data(demo_template, tmp_path_factory.mktemp(f"server-{name}") / "data")
            started.append(LiveServer(data, env=env))
        yield Pair(started[0], started[1], started[0].data_dir, bucket, s3_endpoint.client())
    finally:
        for server in started:
            server.stop()
        if saved is None:
            os.environ.pop("VISITSCORE_DATABASE_URL", None)
        else:
            os.environ["VISITSCORE_DATABASE_URL"] = saved


def _client(server: LiveServer, cookies: Any = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=30, cookies=cookies)


async def _login(client: httpx.AsyncClient, email: str) -> None:
    answer = await client.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_a_session_and_its_forms_work_on_either_server(servers: Pair) -> None:
    async def main() -> None:
        async with _client(servers.a) as on_a:
            await _login(on_a, "admin@demo.test")
            token = await _csrf(on_a, "/admin/assignments")
            async with _client(servers.b, on_a.cookies) as on_b:
                assert (await on_b.get("/api/v1/session")).json()["user"]["email"] == (
                    "admin@demo.test"
                )
                # A form made by server A is accepted by server B (one instance secret).
                made = await on_b.post(
                    "/admin/assignments",
                    data={
                        "csrf_token": token,
                        "shopper": "open",
                        "branches": ["2"],
                        "start": "2031-01-05",
                        "end": "2031-01-09",
                        "scenario": "",
                    },
                )
                assert made.status_code == 303, made.text[:300]
                assert (await on_b.delete("/api/v1/session")).status_code in (200, 204)
            assert (await on_a.get("/api/v1/assignments")).status_code == 401  # logged out

    asyncio.run(main())


def test_failed_logins_count_on_both_servers(servers: Pair) -> None:
    async def main() -> list[int]:
        codes = []
        for server in (servers.a, servers.b, servers.a, servers.b):
            async with _client(server) as client:
                answer = await client.post(
                    "/api/v1/session", json={"email": "owner2@demo.test", "password": "wrong"}
                )
                codes.append(answer.status_code)
        return codes

    # Three failures are free (per account and address), wherever they happened.
    assert asyncio.run(main()) == [401, 401, 401, 429]


def test_two_shoppers_claiming_at_once_on_two_servers_one_gets_it(servers: Pair) -> None:
    async def main() -> tuple[int, list[tuple[str, int]]]:
        async with _client(servers.a) as admin:
            await _login(admin, "admin@demo.test")
            made = await admin.post(
                "/admin/assignments",
                data={
                    "csrf_token": await _csrf(admin, "/admin/assignments"),
                    "shopper": "open",
                    "branches": ["3"],
                    "start": "2031-03-02",
                    "end": "2031-03-06",
                    "scenario": "",
                },
            )
            assert made.status_code == 303
        (assignment,) = db_rows(servers.data, "SELECT max(id) FROM assignments")[0]
        async with _client(servers.a) as first, _client(servers.b) as second:
            await _login(first, "shopper2@demo.test")
            await _login(second, "shopper3@demo.test")
            answers = await asyncio.gather(
                *(
                    client.post(f"/api/v1/assignments/{assignment}/claim", json={})
                    for client in (first, second, first, second)
                )
            )
        shoppers = ["shopper2@demo.test", "shopper3@demo.test"] * 2
        return int(assignment), [
            (who, a.status_code) for who, a in zip(shoppers, answers, strict=True)
        ]

    assignment, answers = asyncio.run(main())
    ((owner,),) = db_rows(
        servers.data,
        "SELECT u.email FROM assignments a JOIN users u ON u.id = a.shopper_id WHERE a.id = ?",
        (assignment,),
    )
    assert [code for who, code in answers if who != owner] == [409, 409]
    assert 200 in [code for who, code in answers if who == owner]
    assert db_rows(
        servers.data,
        "SELECT count(*) FROM audit_log WHERE action = 'assignment.claimed' AND entity_id = ?",
        (str(assignment),),
    ) == [(1,)]


def test_the_same_visit_and_photo_sent_to_both_servers_at_once_are_stored_once(
    servers: Pair,
) -> None:
    photo = jpeg_bytes((900, 700), color=(12, 200, 120))
    entry = manifest(photo)
    visit_id = new_id()

    async def main() -> tuple[list[int], list[int]]:
        async with _client(servers.a) as on_a:
            await _login(on_a, "shopper@demo.test")
            assignment = (await on_a.get("/api/v1/assignments")).json()["assignments"][0]
            body = visit_body(assignment, photos=[entry])
            async with _client(servers.b, on_a.cookies) as on_b:
                clients = [on_a, on_b] * 4
                visits = await asyncio.gather(
                    *(c.put(f"/api/v1/visits/{visit_id}", json=body) for c in clients)
                )
                url = f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}"
                photos = await asyncio.gather(*(c.put(url, content=photo) for c in clients))
                status = (await on_b.get(f"/api/v1/visits/{visit_id}")).json()
                assert status["complete"], status
        return [v.status_code for v in visits], [p.status_code for p in photos]

    visit_codes, photo_codes = asyncio.run(main())
    assert set(visit_codes) <= {200, 201} and visit_codes.count(201) == 1, visit_codes
    assert set(photo_codes) <= {200, 201} and photo_codes.count(201) == 1, photo_codes
    assert db_rows(
        servers.data, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (visit_id,)
    ) == [(1,)]
    assert db_rows(
        servers.data,
        "SELECT count(*) FROM audit_log WHERE action = 'photo.received' AND entity_id = ?",
        (entry["photo_id"],),
    ) == [(1,)]
    key = hashlib.sha256(photo).hexdigest()
    listed = servers.s3.list_objects_v2(Bucket=servers.bucket, Prefix="visitscore/")
    names = sorted(item["Key"] for item in listed.get("Contents", []) if key in item["Key"])
    assert names == [
        f"visitscore/{key[:2]}/{key[2:4]}/{key}-display.jpg",
        f"visitscore/{key[:2]}/{key[2:4]}/{key}-thumb.jpg",
    ]


def test_approvals_on_both_servers_at_once_keep_every_summary_exact(servers: Pair) -> None:
    waiting = [
        r[0]
        for r in db_rows(
            servers.data,
            "SELECT visit_uuid FROM visits WHERE state = 'submitted' ORDER BY id LIMIT 6",
        )
    ]
    assert len(waiting) >= 4

    async def main() -> list[int]:
        async with _client(servers.a) as on_a:
            await _login(on_a, "reviewer@demo.test")
            async with _client(servers.b, on_a.cookies) as on_b:
                token_a = await _csrf(on_a, "/review")
                token_b = await _csrf(on_b, "/review")
                pairs = [(on_a, token_a), (on_b, token_b)]
                answers = await asyncio.gather(
                    *(
                        pairs[i % 2][0].post(
                            f"/review/{visit}/approve", data={"csrf_token": pairs[i % 2][1]}
                        )
                        for i, visit in enumerate(waiting)
                    )
                )
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [303] * len(waiting)
    states = db_rows(
        servers.data,
        f"SELECT DISTINCT state FROM visits WHERE visit_uuid IN ({','.join('?' * len(waiting))})",
        tuple(waiting),
    )
    assert states == [("approved",)]
    assert_consistent(servers.data)
