"""Claiming an assignment the agency left open: the first shopper gets it, the others a
clear 409; a shopper never claims a branch they visit too soon before or after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import csrf_token, db_rows, login


def leave_open(client: TestClient, data: Path, branch: int, start: str, end: str) -> int:
    """The admin creates an assignment for nobody yet; answers its id."""
    login(client, "admin@demo.test")
    response = client.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf_token(client, "/admin/assignments"),
            "shopper": "open",
            "branches": [str(branch)],
            "start": start,
            "end": end,
            "scenario": "Ask about a cake for 30 people.",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return int(db_rows(data, "SELECT max(id) FROM assignments")[0][0])


def a_branch(data: Path) -> int:
    """A branch; the windows used with it (2030) are far from any demo assignment."""
    return int(db_rows(data, "SELECT id FROM branches ORDER BY id LIMIT 1")[0][0])


def claimable_ids(client: TestClient) -> list[int]:
    return [a["id"] for a in client.get("/api/v1/assignments").json()["claimable"]]


def test_the_first_shopper_to_claim_gets_it(demo_client: TestClient, demo_dir: Path) -> None:
    branch = a_branch(demo_dir)
    assignment = leave_open(demo_client, demo_dir, branch, "2030-05-03", "2030-05-09")
    login(demo_client, "shopper2@demo.test")
    assert assignment in claimable_ids(demo_client)
    claimed = demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={})
    assert claimed.status_code == 200, claimed.text
    body: dict[str, Any] = claimed.json()["assignment"]
    assert body["id"] == assignment and body["branch"]["id"] == branch
    assert body["window"] == {"start": "2030-05-03", "end": "2030-05-09"}
    mine = [a["id"] for a in demo_client.get("/api/v1/assignments").json()["assignments"]]
    assert assignment in mine and assignment not in claimable_ids(demo_client)
    login(demo_client, "shopper3@demo.test")
    assert assignment not in claimable_ids(demo_client)
    late = demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={})
    assert late.status_code == 409 and late.json()["error"]["code"] == "taken"
    assert db_rows(
        demo_dir,
        "SELECT u.email FROM assignments a JOIN users u ON u.id = a.shopper_id WHERE a.id = ?",
        (assignment,),
    ) == [("shopper2@demo.test",)]
    assert db_rows(
        demo_dir,
        "SELECT count(*) FROM audit_log WHERE action = 'assignment.claimed' AND entity_id = ?",
        (str(assignment),),
    ) == [(1,)]


def test_a_branch_visited_too_recently_is_neither_offered_nor_claimable(
    demo_client: TestClient, demo_dir: Path
) -> None:
    shopper, branch, start = db_rows(
        demo_dir,
        "SELECT u.email, a.branch_id, a.window_start FROM assignments a"
        " JOIN users u ON u.id = a.shopper_id WHERE a.state = 'open' LIMIT 1",
    )[0]
    day = start  # the same window as the shopper's own assignment there
    assignment = leave_open(demo_client, demo_dir, branch, day, day)
    login(demo_client, shopper)
    assert assignment not in claimable_ids(demo_client)
    refused = demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_soon"
    assert "staff might recognise you" in refused.json()["error"]["message"]
    assert db_rows(demo_dir, "SELECT shopper_id FROM assignments WHERE id = ?", (assignment,)) == [
        (None,)
    ]


def test_cancelled_unknown_and_past_assignments_cannot_be_claimed(
    demo_client: TestClient, demo_dir: Path
) -> None:
    branch = a_branch(demo_dir)
    past = leave_open(demo_client, demo_dir, branch, "2020-01-01", "2020-01-02")
    cancelled = leave_open(demo_client, demo_dir, branch, "2030-09-01", "2030-09-02")
    demo_client.post(
        f"/admin/assignments/{cancelled}/cancel",
        data={"csrf_token": csrf_token(demo_client, "/admin/assignments")},
    )
    login(demo_client, "shopper2@demo.test")
    offered = claimable_ids(demo_client)
    assert past not in offered and cancelled not in offered
    for assignment in (cancelled, 999_999):
        response = demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={})
        assert response.status_code == 404 and set(response.json()) == {"error"}


def test_only_shoppers_claim(demo_client: TestClient, demo_dir: Path) -> None:
    branch = a_branch(demo_dir)
    assignment = leave_open(demo_client, demo_dir, branch, "2030-05-03", "2030-05-09")
    assert demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={}).status_code == 403
    demo_client.cookies.clear()
    assert demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={}).status_code == 401


def test_an_admin_gives_an_open_assignment_to_a_shopper(
    demo_client: TestClient, demo_dir: Path
) -> None:
    assignment = leave_open(demo_client, demo_dir, a_branch(demo_dir), "2030-05-03", "2030-05-09")
    [(sam,)] = db_rows(demo_dir, "SELECT id FROM users WHERE email = 'shopper2@demo.test'")
    token = csrf_token(demo_client, "/admin/assignments")
    given = demo_client.post(
        f"/admin/assignments/{assignment}/shopper",
        data={"csrf_token": token, "shopper": str(sam)},
        follow_redirects=False,
    )
    assert given.status_code == 303
    again = demo_client.post(
        f"/admin/assignments/{assignment}/shopper", data={"csrf_token": token, "shopper": str(sam)}
    )
    assert again.status_code == 409  # no longer open to claim: never taken from a shopper
    login(demo_client, "shopper2@demo.test")
    mine = [a["id"] for a in demo_client.get("/api/v1/assignments").json()["assignments"]]
    assert assignment in mine
    assert db_rows(
        demo_dir,
        "SELECT action FROM audit_log WHERE entity = 'assignment' AND entity_id = ? ORDER BY id",
        (str(assignment),),
    ) == [("assignment.created",), ("assignment.given",)]
