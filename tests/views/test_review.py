"""Quality review: the queue, warnings, and approve / return / reject."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import csrf_token as csrf
from tests.conftest import db_rows, login
from tests.test_summaries import assert_consistent


def submitted(data: Path) -> list[str]:
    return [
        r[0]
        for r in db_rows(
            data,
            "SELECT visit_uuid FROM visits WHERE state = 'submitted' ORDER BY submitted_at, id",
        )
    ]


def test_the_queue_lists_submitted_visits_oldest_first(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "reviewer@demo.test")
    page = demo_client.get("/review")
    assert page.status_code == 200
    listed = re.findall(r'<a href="/visits/([0-9a-f-]{36})">', page.text)
    assert listed == submitted(demo_dir)


def test_approving_makes_the_visit_visible_and_counts_it(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, owner = db_rows(
        demo_dir,
        "SELECT v.visit_uuid, u.email FROM visits v JOIN branch_owners o ON"
        " o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " WHERE v.state = 'submitted' ORDER BY v.id LIMIT 1",
    )[0]
    login(demo_client, owner)
    assert demo_client.get(f"/visits/{visit_id}.json").status_code == 404  # not yet
    login(demo_client, "reviewer@demo.test")
    response = demo_client.post(
        f"/review/{visit_id}/approve",
        data={"csrf_token": csrf(demo_client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert db_rows(demo_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        ("approved",)
    ]
    assert_consistent(demo_dir)  # the comparison's summary counted it in the same step
    again = demo_client.post(
        f"/review/{visit_id}/reject", data={"csrf_token": csrf(demo_client), "note": "late"}
    )
    assert again.status_code == 409
    login(demo_client, owner)
    assert demo_client.get(f"/visits/{visit_id}.json").status_code == 200
    history = db_rows(
        demo_dir,
        "SELECT a.action, u.email FROM audit_log a JOIN users u"
        " ON u.id = a.actor_id WHERE a.entity_id = ? ORDER BY a.id",
        (visit_id,),
    )
    assert history[-1] == ("visit.approved", "reviewer@demo.test")


def test_return_needs_a_note_which_the_shoppers_app_receives(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "shopper@demo.test")
    visit_id = new_id()
    demo_client.put(f"/api/v1/visits/{visit_id}", json=visit_body(open_assignments(demo_client)[0]))
    login(demo_client, "reviewer@demo.test")
    token = csrf(demo_client)
    assert (
        demo_client.post(
            f"/review/{visit_id}/return", data={"csrf_token": token, "note": " "}
        ).status_code
        == 422
    )
    demo_client.post(
        f"/review/{visit_id}/return", data={"csrf_token": token, "note": "Add the till count."}
    )
    login(demo_client, "shopper@demo.test")
    returned = demo_client.get("/api/v1/assignments").json()["returned_visits"]
    assert returned == [
        {
            "visit_id": visit_id,
            "revision": 1,
            "assignment_id": returned[0]["assignment_id"],
            "review_note": "Add the till count.",
            "branch": returned[0]["branch"],
            "local_date": returned[0]["local_date"],
            "questions": [],  # none pointed at
            "answer_notes": {},
        }
    ]
    assert returned[0]["branch"]["name"] and returned[0]["local_date"]


def test_reject_needs_a_reason_and_keeps_the_visit_void(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id = submitted(demo_dir)[-1]
    login(demo_client, "reviewer@demo.test")
    token = csrf(demo_client)
    assert (
        demo_client.post(f"/review/{visit_id}/reject", data={"csrf_token": token}).status_code
        == 422
    )
    demo_client.post(
        f"/review/{visit_id}/reject",
        data={"csrf_token": token, "note": "Same photos as another visit."},
    )
    assert db_rows(
        demo_dir, "SELECT state, review_note FROM visits WHERE visit_uuid = ?", (visit_id,)
    ) == [("rejected", "Same photos as another visit.")]
    page = demo_client.get(f"/visits/{visit_id}")
    assert "· rejected" in page.text and "visit.rejected" not in page.text  # no raw keys
    assert "Same photos as another visit." in page.text
    assert visit_id not in demo_client.get("/review").text


def _visit(client: TestClient, **changes: Any) -> str:
    login(client, "shopper@demo.test")
    visit_id = new_id()
    response = client.put(
        f"/api/v1/visits/{visit_id}", json=visit_body(open_assignments(client)[0], **changes)
    )
    assert response.status_code == 201, response.text
    return visit_id


def test_warnings_point_at_what_to_check(demo_client: TestClient) -> None:
    # The "phone" is 12 hours ahead of the server: within what the API takes, but worth
    # a reviewer's look (and outside the demo assignment's window).
    ahead = (datetime.now(UTC) + timedelta(hours=12)).astimezone(timezone(timedelta(hours=7)))
    visit_id = _visit(
        demo_client,
        started_at=ahead.isoformat(timespec="seconds"),
        ended_at=(ahead + timedelta(seconds=90)).isoformat(timespec="seconds"),
        geo={"lat": -6.4, "lon": 106.8},
        stamps={},
        answers={
            **visit_body({"id": 0, "questionnaire": {}})["answers"],
            "greeting_delay": {"never": True},
            "queue_wait": {"never": True},
        },
    )
    login(demo_client, "reviewer@demo.test")
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "outside its window" in page
    assert "A very short visit" in page
    assert "from the branch" in page
    assert "minutes ahead of the server" in page


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("owner@demo.test", 403),
        ("manager@demo.test", 403),
        ("shopper@demo.test", 403),
    ],
)
def test_only_the_agency_reviews(
    demo_client: TestClient, demo_dir: Path, email: str, status: int
) -> None:
    login(demo_client, email)
    visit_id = submitted(demo_dir)[0]
    assert demo_client.get("/review").status_code == status
    response = demo_client.post(
        f"/review/{visit_id}/approve", data={"csrf_token": csrf(demo_client)}
    )
    assert response.status_code == status
    assert db_rows(demo_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        ("submitted",)
    ]
