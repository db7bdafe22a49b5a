"""The programme setting that turns review off, switched by an admin in the browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import csrf_token, db_rows, login


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
