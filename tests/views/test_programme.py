"""Programme settings switched by an admin in the browser: review off, and what happens to
a visit started before its assignment's window opens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import csrf_token, db_rows, db_write, login


def switch(client: TestClient, value: str) -> int:
    return client.post(
        "/admin/programme",
        data={"csrf_token": csrf_token(client, "/admin/programme"), "review_required": value},
        follow_redirects=False,
    ).status_code


def send_visit(client: TestClient) -> str:
    login(client, "shopper@demo.test")
    response = client.put(
        f"/api/v1/visits/{new_id()}", json=visit_body(open_assignments(client)[0])
    )
    assert response.status_code == 201
    return str(response.json()["state"])


def test_an_admin_turns_review_off_and_visits_are_approved_on_completion(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    assert 'value="on" checked' in demo_client.get("/admin/programme").text
    assert switch(demo_client, "off") == 303
    assert send_visit(demo_client) == "approved"
    login(demo_client, "admin@demo.test")
    assert switch(demo_client, "on") == 303
    assert send_visit(demo_client) == "submitted"
    assert db_rows(
        demo_dir, "SELECT count(*) FROM audit_log WHERE action = 'programme.review_required'"
    ) == [(2,)]


def test_the_server_default_applies_until_an_admin_chooses(demo_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_dir, review_required=False))) as client:
        assert send_visit(client) == "approved"
        login(client, "admin@demo.test")
        switch(client, "on")
        assert send_visit(client) == "submitted"  # the admin's choice wins over the default


@pytest.mark.parametrize(
    "email", ["reviewer@demo.test", "manager@demo.test", "owner@demo.test", "shopper@demo.test"]
)
def test_only_admins_change_programme_settings(demo_client: TestClient, email: str) -> None:
    login(demo_client, email)
    assert demo_client.get("/admin/programme").status_code == 403
    assert switch_without_page(demo_client) == 403


def switch_without_page(client: TestClient) -> int:
    return client.post(
        "/admin/programme", data={"csrf_token": csrf_token(client), "review_required": "off"}
    ).status_code


def test_a_bad_value_is_refused(demo_client: TestClient) -> None:
    login(demo_client, "admin@demo.test")
    assert switch(demo_client, "sometimes") == 422


def choose_early(client: TestClient, value: str) -> int:
    login(client, "admin@demo.test")
    return client.post(
        "/admin/programme",
        data={"csrf_token": csrf_token(client, "/admin/programme"), "early_visits": value},
        follow_redirects=False,
    ).status_code


def early_visit(client: TestClient, data: Path) -> tuple[int, dict[str, object]]:
    """The shopper sends a visit started two days before its assignment's window opens."""
    login(client, "shopper@demo.test")
    assignment = open_assignments(client)[0]
    db_write(
        data,
        [
            (
                "UPDATE assignments SET window_start = '2026-11-26', window_end = '2026-12-05'"
                " WHERE id = ?",
                (assignment["id"],),
            )
        ],
    )
    listed = client.get("/api/v1/assignments").json()
    response = client.put(f"/api/v1/visits/{new_id()}", json=visit_body(assignment))
    return response.status_code, {"listed": listed["early_visits"], **response.json()}


def test_warn_is_the_default_and_an_early_visit_is_kept_with_a_warning(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    assert 'name="early_visits" value="warn" checked' in demo_client.get("/admin/programme").text
    status, body = early_visit(demo_client, demo_dir)
    assert (status, body["listed"], body["state"]) == (201, "warn", "submitted")
    login(demo_client, "reviewer@demo.test")
    page = demo_client.get(f"/visits/{body['visit_id']}").text
    assert "outside its window" in page  # the reviewer is told


def test_refuse_makes_the_server_refuse_a_visit_started_before_its_window(
    demo_client: TestClient, demo_dir: Path
) -> None:
    assert choose_early(demo_client, "refuse") == 303
    status, body = early_visit(demo_client, demo_dir)
    assert (status, body["listed"]) == (422, "refuse")
    assert body["error"]["details"] == [
        {
            "path": "started_at",
            "message": "is before this assignment's window opens (2026-11-26)",
        }
    ]
    assert db_rows(demo_dir, "SELECT count(*) FROM visits WHERE started_at LIKE '2026-11-24%'") == [
        (0,)
    ]
    ((details,),) = db_rows(
        demo_dir, "SELECT details FROM audit_log WHERE action = 'programme.early_visits'"
    )
    assert json.loads(details) == {"early_visits": "refuse"}


def test_allow_takes_an_early_visit_and_a_bad_choice_is_refused(
    demo_client: TestClient, demo_dir: Path
) -> None:
    assert choose_early(demo_client, "sometimes") == 422
    assert choose_early(demo_client, "allow") == 303
    assert 'value="allow" checked' in demo_client.get("/admin/programme").text
    status, body = early_visit(demo_client, demo_dir)
    assert (status, body["listed"]) == (201, "allow")
