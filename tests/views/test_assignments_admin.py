"""Assignments: created one by one or for a whole region, never the same branch too soon,
moved and cancelled; the shopper's app sees the change at its next sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import csrf_token as token
from tests.conftest import db_rows, login


def shopper_id(data: Path, email: str) -> str:
    return str(db_rows(data, "SELECT id FROM users WHERE email = ?", (email,))[0][0])


def create(client: TestClient, **form: Any) -> Any:
    return client.post(
        "/admin/assignments", follow_redirects=False, data={"csrf_token": token(client), **form}
    )


def test_a_whole_region_at_once_reaches_the_shoppers_app(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    response = create(
        demo_client,
        shopper=shopper_id(demo_dir, "shopper3@demo.test"),
        region="Bali",
        start="2027-03-01",
        end="2027-03-31",
        scenario="Ask for a gift under Rp 200.000.",
    )
    assert response.status_code == 303, response.text
    login(demo_client, "shopper3@demo.test")
    mine = demo_client.get("/api/v1/assignments").json()["assignments"]
    march = [a for a in mine if a["window"]["start"] == "2027-03-01"]
    assert sorted(a["branch"]["region"] for a in march) == ["Bali"] * 4
    assert march[0]["scenario"] == "Ask for a gift under Rp 200.000."


def test_the_same_branch_too_soon_is_refused_and_nothing_is_created(
    demo_client: TestClient, demo_dir: Path
) -> None:
    shopper = shopper_id(demo_dir, "shopper@demo.test")
    branch = db_rows(
        demo_dir,
        "SELECT branch_id FROM assignments WHERE shopper_id = ?"
        " AND state = 'open' ORDER BY window_start LIMIT 1",
        (shopper,),
    )[0][0]
    other = db_rows(demo_dir, "SELECT id FROM branches WHERE id <> ? LIMIT 1", (branch,))[0][0]
    before = db_rows(demo_dir, "SELECT count(*) FROM assignments")
    login(demo_client, "admin@demo.test")
    response = create(
        demo_client,
        shopper=shopper,
        branches=[str(other), str(branch)],
        start="2026-12-10",
        end="2026-12-15",
    )
    assert response.status_code == 422
    assert "staff might recognise them" in response.text
    assert db_rows(demo_dir, "SELECT count(*) FROM assignments") == before  # all or nothing


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"start": "2027-01-10", "end": "2027-01-01"}, "Give a window"),
        ({"start": "soon", "end": "2027-01-01"}, "Give a window"),
        ({"branches": []}, "Choose a region or at least one branch"),
        ({"shopper": "1"}, "Choose an active shopper"),  # user 1 is the admin
    ],
)
def test_bad_requests_are_refused_clearly(
    demo_client: TestClient, demo_dir: Path, form: dict[str, Any], message: str
) -> None:
    login(demo_client, "admin@demo.test")
    data = {
        "shopper": shopper_id(demo_dir, "shopper2@demo.test"),
        "branches": ["5"],
        "start": "2027-06-01",
        "end": "2027-06-07",
        **form,
    }
    response = create(demo_client, **data)
    assert response.status_code == 422 and message in response.text


def test_moving_and_cancelling_an_open_assignment(demo_client: TestClient, demo_dir: Path) -> None:
    shopper = shopper_id(demo_dir, "shopper2@demo.test")
    assignment = db_rows(
        demo_dir,
        "SELECT id FROM assignments WHERE shopper_id = ? AND state = 'open' LIMIT 1",
        (shopper,),
    )[0][0]
    login(demo_client, "admin@demo.test")
    moved = demo_client.post(
        f"/admin/assignments/{assignment}/window",
        follow_redirects=False,
        data={"csrf_token": token(demo_client), "start": "2027-02-01", "end": "2027-02-10"},
    )
    assert moved.status_code == 303
    demo_client.post(
        f"/admin/assignments/{assignment}/cancel", data={"csrf_token": token(demo_client)}
    )
    again = demo_client.post(
        f"/admin/assignments/{assignment}/cancel", data={"csrf_token": token(demo_client)}
    )
    assert again.status_code == 409
    assert db_rows(
        demo_dir, "SELECT state, window_start FROM assignments WHERE id = ?", (assignment,)
    ) == [("cancelled", "2027-02-01")]
    login(demo_client, "shopper2@demo.test")
    ids = [a["id"] for a in demo_client.get("/api/v1/assignments").json()["assignments"]]
    assert assignment not in ids


@pytest.mark.parametrize(
    "email", ["reviewer@demo.test", "manager@demo.test", "owner@demo.test", "shopper@demo.test"]
)
def test_only_admins_assign(demo_client: TestClient, email: str) -> None:
    login(demo_client, email)
    assert demo_client.get("/admin/assignments").status_code == 403
    assert create(demo_client, region="Bali").status_code == 403


def test_the_list_names_each_questionnaire_by_its_title(demo_client: TestClient) -> None:
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/admin/assignments").text
    assert "Store visit</a>" in page and "version 1" in page
    assert ">default</a>" not in page and "v1<" not in page
