from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.auth import hash_password, login_delay, verify_password
from server.demo import PASSWORD
from server.settings import Settings
from tests.conftest import csrf_from as _csrf
from tests.conftest import db_write, login


def test_password_hash_is_salted_scrypt_and_verifies() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a.startswith("scrypt$") and a != b
    assert verify_password("correct horse", a)
    assert not verify_password("correct horsf", a)
    assert not verify_password("x", "not-a-hash")


def _set_cookie(response_headers: list[tuple[str, str]], name: str) -> str:
    for key, value in response_headers:
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value
    raise AssertionError(f"no Set-Cookie for {name}")


def test_json_login_sets_a_safe_cookie_and_says_who(demo_client: TestClient) -> None:
    response = demo_client.post(
        "/api/v1/session", json={"email": "Owner@Demo.test", "password": "visitscore-demo"}
    )
    assert response.status_code == 201
    assert response.json()["user"]["role"] == "owner"
    cookie = _set_cookie(response.headers.multi_items(), "vs_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    me = demo_client.get("/api/v1/session")
    assert me.status_code == 200 and me.json()["user"]["email"] == "owner@demo.test"
    assert len(me.json()["user"]["branch_ids"]) == 4


def test_cookie_is_secure_over_https(demo_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_dir)), base_url="https://testserver") as c:
        response = c.post(
            "/api/v1/session", json={"email": "admin@demo.test", "password": "visitscore-demo"}
        )
        assert response.status_code == 201
        assert "secure" in _set_cookie(response.headers.multi_items(), "vs_session").lower()


def test_logout_ends_the_session_on_the_server(demo_client: TestClient) -> None:
    login(demo_client, "shopper@demo.test")
    token = demo_client.cookies.get("vs_session")
    assert demo_client.delete("/api/v1/session").status_code == 200
    assert demo_client.get("/api/v1/session").status_code == 401
    # A copy of the old cookie is worthless too.
    demo_client.cookies.set("vs_session", token or "")
    assert demo_client.get("/api/v1/session").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"email": "admin@demo.test", "password": "wrong-password"},
        {"email": "nobody@demo.test", "password": "visitscore-demo"},
    ],
)
def test_bad_credentials_answer_401_in_the_error_shape(
    demo_client: TestClient, body: dict[str, str]
) -> None:
    response = demo_client.post("/api/v1/session", json=body)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "bad_credentials", "message": "That email and password do not match."}
    }


@pytest.mark.parametrize("body", [{}, {"email": "a@b.c"}, {"email": 3, "password": []}])
def test_missing_fields_answer_422(demo_client: TestClient, body: dict[str, object]) -> None:
    response = demo_client.post("/api/v1/session", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


def _attempt(client: TestClient, email: str, password: str = "guess-guess") -> Any:
    return client.post("/api/v1/session", json={"email": email, "password": password})


def test_failed_logins_slow_down_the_guesser_not_the_account(demo_dir: Path) -> None:
    # Two apps on one database, like two workers: one app under two TestClients would run
    # its lifespan twice, and the second database pool (bound to the second client's event
    # loop) would replace the first one's under it (PostgreSQL then waits 30 s for a connection).
    settings = Settings(data_dir=demo_dir)
    with (
        TestClient(create_app(settings), client=("203.0.113.9", 4000)) as guesser,
        TestClient(create_app(settings), client=("198.51.100.7", 4000)) as owner,
    ):
        for _ in range(3):
            assert _attempt(guesser, "owner@demo.test").status_code == 401
        blocked = _attempt(guesser, "owner@demo.test", PASSWORD)
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "too_many_attempts"
        assert int(blocked.headers["retry-after"]) >= 1
        # The real owner, elsewhere, is not locked out by someone else's guesses...
        login(owner, "owner@demo.test")
        # ... and the guesser may still try other accounts (up to the per-address limit).
        assert _attempt(guesser, "owner2@demo.test").status_code == 401


def test_the_delay_doubles_with_each_failure(demo_dir: Path) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    db_write(
        demo_dir,
        [
            (
                "INSERT INTO login_failures (email, address, at) VALUES (?, ?, ?)",
                [("owner@demo.test", "203.0.113.9", now)] * 10,
            )
        ],
    )
    with TestClient(create_app(Settings(data_dir=demo_dir)), client=("203.0.113.9", 1)) as c:
        blocked = _attempt(c, "owner@demo.test", PASSWORD)
        assert blocked.status_code == 429
        # 2 ** (10 - 3), counted from the end of the failure's (whole) second
        assert 120 <= int(blocked.headers["retry-after"]) <= 129
    assert [login_delay(n, 3, 900) for n in (0, 2, 3, 4, 5, 12, 40)] == [0, 0, 1, 2, 4, 512, 900]


def test_login_is_rate_limited_per_address(demo_dir: Path) -> None:
    settings = Settings(data_dir=demo_dir, login_free_failures_per_address=3)
    with TestClient(create_app(settings)) as c:
        for i in range(3):
            assert _attempt(c, f"x{i}@demo.test").status_code == 401
        assert _attempt(c, "admin@demo.test", PASSWORD).status_code == 429
    with TestClient(create_app(settings), client=("198.51.100.7", 1)) as elsewhere:
        login(elsewhere, "admin@demo.test")


def test_login_form_needs_its_csrf_token(demo_client: TestClient) -> None:
    page = demo_client.get("/login")
    token = _csrf(page.text)
    refused = demo_client.post(
        "/login", data={"email": "admin@demo.test", "password": "visitscore-demo"}
    )
    assert refused.status_code == 403
    assert "expired" in refused.text
    wrong = demo_client.post(
        "/login",
        data={"email": "admin@demo.test", "password": "visitscore-demo", "csrf_token": "x" * 43},
    )
    assert wrong.status_code == 403
    ok = demo_client.post(
        "/login",
        data={
            "email": "admin@demo.test",
            "password": "visitscore-demo",
            "csrf_token": token,
            "next": "/",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    assert demo_client.get("/api/v1/session").status_code == 200


def test_a_csrf_token_is_bound_to_its_session(demo_dir: Path) -> None:
    """Another session's token is refused even with that session's CSRF cookie planted
    (cookie tossing), and a token dies with the session it was made in."""
    app = create_app(Settings(data_dir=demo_dir))
    with TestClient(app) as attacker, TestClient(app) as victim:
        login(attacker, "owner2@demo.test")
        attacker_token = _csrf(attacker.get("/branches/5").text)
        login(victim, "admin@demo.test")
        victim_token = _csrf(victim.get("/admin/programme").text)
        assert attacker_token != victim_token
        for name, value in attacker.cookies.items():
            if name != "vs_session":
                victim.cookies.set(name, value)
        forged = victim.post(
            "/admin/programme", data={"csrf_token": attacker_token, "review_required": "off"}
        )
        assert forged.status_code == 403
        # The victim's own token works, until the session it belongs to ends.
        assert victim.post(
            "/admin/programme",
            data={"csrf_token": victim_token, "review_required": "on"},
            follow_redirects=False,
        ).status_code in (200, 303)
        victim.delete("/api/v1/session")
        login(victim, "admin@demo.test")
        stale = victim.post("/admin/programme", data={"csrf_token": victim_token})
        assert stale.status_code == 403


def test_login_form_shows_the_error_and_keeps_the_email(demo_client: TestClient) -> None:
    token = _csrf(demo_client.get("/login").text)
    response = demo_client.post(
        "/login", data={"email": "admin@demo.test", "password": "nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert 'role="alert"' in response.text and "do not match" in response.text
    assert 'value="admin@demo.test"' in response.text


def test_login_redirect_never_leaves_the_site(demo_client: TestClient) -> None:
    token = _csrf(demo_client.get("/login").text)
    response = demo_client.post(
        "/login",
        data={
            "email": "admin@demo.test",
            "password": "visitscore-demo",
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_every_form_post_route_refuses_a_missing_csrf_token(demo_client: TestClient) -> None:
    """Each non-API POST route of the app (found from the route list) checks CSRF. The
    owner of branch 1 may use every one of them, so a 403 can only come from the token."""
    login(demo_client, "owner@demo.test")
    form_routes = [
        re.sub(r"\{\w+(:\w+)?\}", "1", r.path)
        for r in demo_client.app.routes  # type: ignore[attr-defined]
        if "POST" in (getattr(r, "methods", None) or set()) and not r.path.startswith("/api/")
    ]
    assert len(form_routes) >= 4, form_routes
    for path in form_routes:
        if path in SIGNED_LINKS:
            continue
        response = demo_client.post(path, data={"lang": "fr", "q-thanked": "true"})
        assert response.status_code == 403, path
        assert "expired" in response.text, path
    # A mail's one-click stop link is its own proof (signed with the instance secret, and
    # mail programs post it without a form): without a valid signature it does nothing.
    for path in SIGNED_LINKS:
        assert demo_client.post(path).status_code == 404, path


SIGNED_LINKS = {"/mail/stop/1"}


def test_cross_site_writes_are_refused(demo_client: TestClient) -> None:
    response = demo_client.post(
        "/api/v1/session",
        headers={"origin": "https://evil.example"},
        json={"email": "admin@demo.test", "password": "visitscore-demo"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "cross_site"


def test_api_post_must_be_json(demo_client: TestClient) -> None:
    response = demo_client.post(
        "/api/v1/session", data={"email": "admin@demo.test", "password": "visitscore-demo"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
