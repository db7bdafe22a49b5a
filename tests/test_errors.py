"""The API's one error shape, and no stack trace anywhere."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings


def test_unknown_api_address_answers_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Nothing was found at this address."}
    }


def test_wrong_method_answers_json_405(client: TestClient) -> None:
    response = client.patch("/api/v1/session", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_page_answers_an_html_page(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Nothing was found" in response.text


def test_bad_json_answers_400(client: TestClient) -> None:
    for body in (b"{bad", b"[1, 2]", b"\xff\xfe"):
        response = client.post(
            "/api/v1/session", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_json"


def test_oversized_json_answers_413(client: TestClient) -> None:
    response = client.post(
        "/api/v1/session",
        content=b'{"a": "' + b"x" * 3_000_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_a_crash_answers_500_without_a_stack_trace(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async def boom(request: Request) -> Response:
        raise RuntimeError("secret internals")

    app = create_app(Settings(data_dir=tmp_path))
    app.router.routes.insert(0, Route("/api/v1/boom", boom))
    app.router.routes.insert(0, Route("/boom", boom))
    with TestClient(app, raise_server_exceptions=False) as c:
        api = c.get("/api/v1/boom")
        assert api.status_code == 500
        assert api.json()["error"]["code"] == "internal"
        assert "secret" not in api.text and "Traceback" not in api.text
        page = c.get("/boom")
        assert page.status_code == 500 and "secret" not in page.text
        assert "Traceback" not in page.text


def test_security_headers_on_every_answer(client: TestClient) -> None:
    for response in (
        client.get("/login"),
        client.get("/api/v1/session"),
        client.get("/static/style.css"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
