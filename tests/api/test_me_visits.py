"""``GET /api/v1/me/visits``: the shopper's own visits and what became of each, and the
answers a reviewer points at when returning one (issue "The shopper app on real phones")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import csrf_token, db_rows, login


def send(client: TestClient, nth: int = 0) -> tuple[str, dict[str, Any]]:
    login(client, "shopper@demo.test")
    assignment = open_assignments(client)[nth]
    visit_id = new_id()
    answer = client.put(f"/api/v1/visits/{visit_id}", json=visit_body(assignment))
    assert answer.status_code == 201, answer.text
    return visit_id, assignment


def decide(client: TestClient, visit_id: str, decision: str, **form: Any) -> int:
    login(client, "reviewer@demo.test")
    return client.post(
        f"/review/{visit_id}/{decision}",
        data={"csrf_token": csrf_token(client), **form},
        follow_redirects=False,
    ).status_code


def history(client: TestClient) -> list[dict[str, Any]]:
    login(client, "shopper@demo.test")
    answer = client.get("/api/v1/me/visits")
    assert answer.status_code == 200
    return list(answer.json()["visits"])


def test_the_shopper_reads_what_became_of_each_visit(
    demo_client: TestClient, demo_dir: Path
) -> None:
    returned, assignment = send(demo_client, 0)
    rejected, _ = send(demo_client, 0)
    waiting, _ = send(demo_client, 0)
    assert (
        decide(
            demo_client,
            returned,
            "return",
            note="Say how long the queue was.",
            questions=["queue_wait", "greeted_verbally", "queue_wait"],
        )
        == 303
    )
    assert decide(demo_client, rejected, "reject", note="The receipt is from another shop.") == 303

    listed = history(demo_client)
    (shopper,) = db_rows(demo_dir, "SELECT id FROM users WHERE email = 'shopper@demo.test'")[0]
    assert [v["visit_id"] for v in listed] == [
        r[0]
        for r in db_rows(
            demo_dir,
            "SELECT visit_uuid FROM visits WHERE shopper_id = ?"
            " ORDER BY started_utc DESC, id DESC LIMIT 200",
            (shopper,),
        )
    ]
    by_id = {v["visit_id"]: v for v in listed}
    branch = assignment["branch"]
    assert by_id[returned] | {"revision": 1} == {
        "visit_id": returned,
        "revision": 1,
        "branch": {"id": branch["id"], "name": branch["name"], "city": branch["city"]},
        "local_date": "2026-11-24",
        "started_at": "2026-11-24T10:00:00+07:00",
        "state": "returned",
        "note": "Say how long the queue was.",
    }
    assert (by_id[rejected]["state"], by_id[rejected]["reason"]) == (
        "rejected",
        "The receipt is from another shop.",
    )
    assert "note" not in by_id[rejected]
    assert by_id[waiting]["state"] == "submitted"
    assert not {"note", "reason"} & set(by_id[waiting])

    # The returned visit says where and when it was, and which answers to look at, in the
    # questionnaire's order, each once.
    (entry,) = [
        r
        for r in demo_client.get("/api/v1/assignments").json()["returned_visits"]
        if r["visit_id"] == returned
    ]
    assert entry["branch"]["name"] == branch["name"]
    assert entry["local_date"] == "2026-11-24"
    assert entry["questions"] == ["greeted_verbally", "queue_wait"]


def test_another_shopper_sees_none_of_them(demo_client: TestClient) -> None:
    mine, _ = send(demo_client)
    login(demo_client, "shopper2@demo.test")
    answer = demo_client.get("/api/v1/me/visits")
    assert answer.status_code == 200
    assert mine not in {v["visit_id"] for v in answer.json()["visits"]}


def test_pointing_at_answers_is_checked(demo_client: TestClient, demo_dir: Path) -> None:
    visit_id, _ = send(demo_client)
    assert decide(demo_client, visit_id, "return", note="Check", questions=["no_such"]) == 422
    assert decide(demo_client, visit_id, "approve", questions=["tills"]) == 422
    # Nothing was decided by the refused requests.
    assert db_rows(demo_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        ("submitted",)
    ]
