"""No input answers 5xx: every bad request gets a 4xx in the one error shape, stores
nothing, and leaves every page readable for everyone else."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.api.conftest import jpeg_bytes, manifest, new_id, open_assignments, visit_body
from tests.conftest import db_rows, login

HUGE = [2**63, 2**64 + 7, -(2**63) - 1, 10**30]
# Values that are wrong for almost any field: each one replaces a field in turn.
HOSTILE: list[Any] = [
    "\ud800",
    "x\udfffy",
    [],
    ["image/jpeg"],
    {},
    {"a": [1]},
    None,
    True,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    -1,
    "",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "2026-11-24T10:00:00",
    "x" * 10_000,
]
PAGES = {
    "admin": ["/", "/review", "/branches/1", "/chains/1/compare", "/chains/1/visits.csv"],
    "reviewer": ["/", "/review"],
    "manager": ["/", "/branches/1", "/chains/1/compare", "/chains/1/visits.csv"],
    "owner": ["/", "/branches/1"],
}


def assert_pages_answer(client: TestClient) -> None:
    """Every role's pages, and every visit's report, still answer 200."""
    for role, pages in PAGES.items():
        client.cookies.clear()
        login(client, f"{role}@demo.test")
        for page in pages:
            assert client.get(page).status_code == 200, (role, page)
    client.cookies.clear()
    login(client, "admin@demo.test")
    for (uuid,) in db_rows(
        Path(client.app.state.settings.data_dir), "SELECT visit_uuid FROM visits"
    ):  # type: ignore[attr-defined]
        assert client.get(f"/visits/{uuid}").status_code == 200, uuid


def send(client: TestClient, method: str, url: str, body: Any) -> Any:
    """Send ``body`` as JSON text exactly as given (lone surrogates escaped as \\ud800)."""
    return client.request(
        method,
        url,
        content=json.dumps(body, ensure_ascii=True, allow_nan=True).encode(),
        headers={"content-type": "application/json"},
    )


def assert_refused(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] and error["message"], what


@pytest.fixture
def tolerant(demo_dir: Path) -> Iterator[TestClient]:
    """The app, answering 500s as a client would see them instead of raising."""
    app = create_app(Settings(data_dir=demo_dir, review_required=False))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def field_paths(body: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document: each object member and list item, nested."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield (*prefix, key)
            yield from field_paths(value, (*prefix, key))
    elif isinstance(body, list):
        for i, value in enumerate(body):
            yield (*prefix, i)
            yield from field_paths(value, (*prefix, i))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(body)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def test_every_field_of_a_visit_refuses_hostile_values(
    tolerant: TestClient, demo_dir: Path
) -> None:
    login(tolerant, "shopper@demo.test")
    assignment = open_assignments(tolerant)[0]
    data = jpeg_bytes()
    good = visit_body(assignment, photos=[manifest(data)])
    good["photos"][0]["captured_at"] = "2026-11-24T10:05:00+07:00"
    tried = 0
    for path in field_paths(good):
        for value in HOSTILE:
            body = replaced(good, path, value)
            visit_id = new_id()
            response = send(tolerant, "PUT", f"/api/v1/visits/{visit_id}", body)
            tried += 1
            assert response.status_code != 500, (path, value, response.text[:300])
            if response.status_code >= 400:
                assert_refused(response, f"{path}={value!r}")
                assert not db_rows(
                    demo_dir, "SELECT 1 FROM visits WHERE visit_uuid = ?", (visit_id,)
                ), (path, value)
            else:
                # Accepted (a value this field may take, such as "" for a comment): the
                # visit is stored whole and the pages still answer. Use a fresh assignment.
                assignment = open_assignments(tolerant)[0]
                good = replaced(good, ("assignment_id",), assignment["id"])
    assert tried > 500
    assert_pages_answer(tolerant)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b'{"assignment_id": NaN}',
        b'{"assignment_id": Infinity}',
        b'{"comment": "\\ud800"}',
        b'{"\\udc00": 1}',
        b'{"revision": 99999999999999999999999}',
        b'{"revision": 1' + b"0" * 5000 + b"}",
        b"\xff\xfe{}",
        b'{"a": "\xed\xa0\x80"}',
        b"",
        b"null",
        b"[]",
    ],
)
def test_a_body_json_cannot_store_is_refused_with_400(tolerant: TestClient, raw: bytes) -> None:
    login(tolerant, "shopper@demo.test")
    response = tolerant.put(
        f"/api/v1/visits/{new_id()}", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text[:300]
    assert_refused(response, repr(raw[:40]))


@pytest.mark.parametrize("email", ["\ud800@demo.test", "shopper@demo.test\udfff", "\udc80"])
def test_a_login_with_a_lone_surrogate_is_refused(tolerant: TestClient, email: str) -> None:
    response = send(tolerant, "POST", "/api/v1/session", {"email": email, "password": "x"})
    assert_refused(response, email)


def test_ids_too_large_for_the_database_are_not_found_on_every_route(
    tolerant: TestClient,
) -> None:
    """Derived from the routes: every {name:id} parameter, every method."""
    login(tolerant, "admin@demo.test")
    checked = 0
    for route in tolerant.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or ":id}" not in route.path:
            continue
        for number in HUGE:
            path = re.sub(r"\{\w+:id\}", str(abs(number)), route.path)
            path = re.sub(r"\{\w+(:\w+)?\}", "x", path)
            for method in sorted(route.methods or {"GET"}):
                response = tolerant.request(
                    method,
                    path,
                    headers={"accept": "application/json", "content-type": "application/json"},
                    content=b"{}" if method != "GET" else None,
                )
                assert response.status_code == 404, (method, path, response.status_code)
                checked += 1
    assert checked > 60


def test_a_visit_from_the_far_future_is_refused_and_every_page_still_answers(
    tolerant: TestClient, demo_dir: Path
) -> None:
    login(tolerant, "shopper@demo.test")
    assignment = open_assignments(tolerant)[0]
    for started in ["9999-12-31T23:59:59+00:00", "2099-01-01T10:00:00+07:00"]:
        body = visit_body(assignment, started_at=started, ended_at=None)
        response = tolerant.put(f"/api/v1/visits/{new_id()}", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["path"] == "started_at"
    body = visit_body(assignment, started_at="2024-01-01T10:00:00+07:00")
    response = tolerant.put(f"/api/v1/visits/{new_id()}", json=body)
    assert response.status_code == 422
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert "started_at" in paths, response.text
    assert not db_rows(demo_dir, "SELECT 1 FROM visits WHERE started_at LIKE '2099%'")
    assert_pages_answer(tolerant)


QUERIES = [
    "from=9999-99&to=0000-00",
    "from=2026-13&to=2026-00",
    "from=%ED%A0%80&to=%00",
    "from=" + "9" * 5000,
    "lang=%ED%A0%80&next=%0d%0aSet-Cookie:x=1",
    "next=//evil.invalid/&section=%00&visit=" + "x" * 3000,
    "added=" + "%FF" * 50,
    "region=%C0%AF&branch=99999999999999999999999",
]


def test_no_query_string_breaks_a_page(tolerant: TestClient, demo_dir: Path) -> None:
    """Derived from the routes: every GET page and JSON or CSV twin, as admin, with odd
    and hostile query strings."""
    (visit,) = db_rows(demo_dir, "SELECT visit_uuid FROM visits LIMIT 1")[0]
    fill = {"visit_id": visit, "qid": "default", "lang": "fr", "size": "thumb"}
    login(tolerant, "admin@demo.test")
    checked = 0
    for route in tolerant.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        path = re.sub(r"\{(\w+):id\}", "1", route.path)
        path = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: fill.get(m.group(1), "x"), path)
        for query in QUERIES:
            response = tolerant.get(f"{path}?{query}", follow_redirects=False)
            assert response.status_code < 500, (path, query, response.status_code)
            location = response.headers.get("location", "")
            assert "\n" not in location and not location.startswith("//"), location
            checked += 1
    assert checked > 200
