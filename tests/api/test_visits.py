"""PUT and GET /api/v1/visits/{id}: create, retry, conflict, invalid content, revisions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.queries import visits
from server.questionnaire import load_default
from server.scoring import score_visit
from server.settings import Settings
from tests.api.conftest import jpeg_bytes, manifest, new_id, open_assignments, visit_body
from tests.conftest import db_rows, login, open_db, visit_scores


def test_a_visit_without_photos_is_complete_and_scored_at_once(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    visit_id = new_id()
    body = visit_body(assignment)
    response = shopper.put(f"/api/v1/visits/{visit_id}", json=body)
    assert response.status_code == 201, response.text
    status = response.json()
    assert status == {
        **status,
        "visit_id": visit_id,
        "revision": 1,
        "state": "submitted",
        "photos_expected": 0,
        "photos_present": 0,
        "complete": True,
    }
    assert shopper.get(f"/api/v1/visits/{visit_id}").json()["complete"] is True
    ((score, scores, received, device_start),) = db_rows(
        demo_dir,
        "SELECT score_total, scores, received_at, started_at FROM visits WHERE visit_uuid = ?",
        (visit_id,),
    )
    expected = score_visit(load_default(), body["answers"], body["stamps"])
    assert score == pytest.approx(expected.total)
    assert json.loads(scores)["sections"] == [s.score for s in expected.sections]
    assert device_start == body["started_at"] and received.endswith("+00:00")
    # The assignment is done and the phone no longer gets it.
    assert assignment["id"] not in [a["id"] for a in open_assignments(shopper)]
    # Received and complete at once: one audit row holds both facts ...
    rows = db_rows(
        demo_dir,
        "SELECT action, details FROM audit_log WHERE entity = 'visit' AND entity_id = ?"
        " ORDER BY id",
        (visit_id,),
    )
    assert [(a, json.loads(d)) for a, d in rows] == [
        ("visit.submitted", {"revision": 1, "received": {"photos": 0}})
    ]
    # ... and the reviewer's history shows the two steps.
    login(shopper, "reviewer@demo.test")
    page = shopper.get(f"/visits/{visit_id}").text
    assert page.index("received by the server") < page.index("complete: photos in")


def test_a_retry_answers_200_and_changes_nothing(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    visit_id = new_id()
    body = visit_body(assignment)
    assert shopper.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
    reordered = json.loads(json.dumps(dict(reversed(list(body.items())))))
    again = shopper.put(f"/api/v1/visits/{visit_id}", json=reordered)
    assert again.status_code == 200
    assert again.json()["state"] == "submitted"
    assert db_rows(demo_dir, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        (1,)
    ]


def test_same_id_and_revision_with_other_content_is_409(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    visit_id = new_id()
    body = visit_body(assignment)
    shopper.put(f"/api/v1/visits/{visit_id}", json=body)
    changed = visit_body(assignment, comment="changed my mind")
    response = shopper.put(f"/api/v1/visits/{visit_id}", json=changed)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert db_rows(demo_dir, "SELECT comment FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        ("free text",)
    ]


def _other_shoppers_assignment(demo_dir: Path) -> int:
    return db_rows(
        demo_dir,
        "SELECT a.id FROM assignments a JOIN users u ON u.id = a.shopper_id"
        " WHERE u.email = 'shopper2@demo.test' AND a.state = 'open'",
    )[0][0]


def _answers(**changes: Any) -> dict[str, Any]:
    return {**visit_body({"id": 1, "questionnaire": {}})["answers"], **changes}


INVALID: list[tuple[str, Any, str]] = [
    ("unknown question", {"answers": _answers(nope={"value": 1})}, "answers.nope"),
    (
        "scale out of range",
        {"answers": _answers(eye_contact={"value": 9})},
        "answers.eye_contact.value",
    ),
    (
        "not an option",
        {"answers": _answers(resolution={"value": "maybe"})},
        "answers.resolution.value",
    ),
    (
        "N/A not allowed",
        {"answers": _answers(greeted_verbally={"na": True})},
        "answers.greeted_verbally.na",
    ),
    (
        "tills open above total",
        {"answers": _answers(tills={"value": {"open": 5, "total": 2}})},
        "answers.tills.value",
    ),
    ("yes/no as text", {"answers": _answers(thanked={"value": "yes"})}, "answers.thanked.value"),
    (
        "timed question given a value",
        {"answers": _answers(queue_wait={"value": 30})},
        "answers.queue_wait.value",
    ),
    ("unknown stamp", {"stamps": {"arrived": "2026-11-24T10:00:00+07:00"}}, "stamps.arrived"),
    ("stamp without offset", {"stamps": {"entered": "2026-11-24T10:00:00"}}, "stamps.entered"),
    ("ended before started", {"ended_at": "2026-11-24T09:00:00+07:00"}, "ended_at"),
    ("latitude out of range", {"geo": {"lat": 91, "lon": 0}}, "geo.lat"),
    ("bad sha256", {"photos": [{**manifest(b"x"), "sha256": "abc"}]}, "photos[0].sha256"),
    ("photo too large", {"photos": [{**manifest(b"x"), "bytes": 10**9}]}, "photos[0].bytes"),
    (
        "gif photo",
        {"photos": [{**manifest(b"x"), "content_type": "image/gif"}]},
        "photos[0].content_type",
    ),
    (
        "photo for unknown question",
        {"photos": [manifest(b"x", question="nope")]},
        "photos[0].question",
    ),
    ("unknown field", {"mood": "great"}, "mood"),
    ("revision zero", {"revision": 0}, "revision"),
    (
        "wrong questionnaire version",
        {"questionnaire": {"id": "default", "version": 7}},
        "questionnaire",
    ),
    ("no assignment", {"assignment_id": 999999}, "assignment_id"),
]


@pytest.mark.parametrize(("case", "changes", "path"), INVALID, ids=[c for c, _, _ in INVALID])
def test_invalid_content_is_422_with_the_field_and_writes_nothing(
    shopper: TestClient,
    assignment: dict[str, Any],
    demo_dir: Path,
    case: str,
    changes: dict[str, Any],
    path: str,
) -> None:
    before = db_rows(demo_dir, "SELECT count(*) FROM visits")
    response = shopper.put(f"/api/v1/visits/{new_id()}", json=visit_body(assignment, **changes))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert path in [d["path"] for d in error["details"]], error
    assert db_rows(demo_dir, "SELECT count(*) FROM visits") == before
    assert db_rows(demo_dir, "SELECT state FROM assignments WHERE id = ?", (assignment["id"],)) == [
        ("open",)
    ]


def test_every_missing_required_answer_is_listed(
    shopper: TestClient, assignment: dict[str, Any]
) -> None:
    answers = _answers()
    for key in ("greeted_verbally", "tills", "friendliness"):
        del answers[key]
    response = shopper.put(
        f"/api/v1/visits/{new_id()}", json=visit_body(assignment, answers=answers)
    )
    assert response.status_code == 422
    paths = {d["path"] for d in response.json()["error"]["details"]}
    assert {"answers.greeted_verbally", "answers.tills", "answers.friendliness"} <= paths


def test_another_shoppers_assignment_is_refused(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    body = visit_body(assignment, assignment_id=_other_shoppers_assignment(demo_dir))
    response = shopper.put(f"/api/v1/visits/{new_id()}", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["path"] == "assignment_id"


def test_a_second_visit_for_the_same_assignment_is_refused(
    shopper: TestClient, assignment: dict[str, Any]
) -> None:
    assert shopper.put(f"/api/v1/visits/{new_id()}", json=visit_body(assignment)).status_code == 201
    response = shopper.put(f"/api/v1/visits/{new_id()}", json=visit_body(assignment))
    assert response.status_code == 422
    assert "no longer open" in response.json()["error"]["message"]


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"assignment_id": "x"}'])
def test_malformed_bodies_answer_in_the_error_shape(shopper: TestClient, body: bytes) -> None:
    response = shopper.put(
        f"/api/v1/visits/{new_id()}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert set(response.json()["error"]) >= {"code", "message"}


def test_a_visit_id_must_be_a_uuid(shopper: TestClient, assignment: dict[str, Any]) -> None:
    response = shopper.put("/api/v1/visits/not-a-uuid", json=visit_body(assignment))
    assert response.status_code == 404


def test_shoppers_cannot_read_or_write_each_others_visits(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "shopper@demo.test")
    mine = open_assignments(demo_client)[0]
    visit_id = new_id()
    body = visit_body(mine)
    assert demo_client.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
    login(demo_client, "shopper2@demo.test")
    assert demo_client.get(f"/api/v1/visits/{visit_id}").status_code == 404
    theirs = open_assignments(demo_client)[0]
    overwrite = demo_client.put(f"/api/v1/visits/{visit_id}", json=visit_body(theirs))
    assert overwrite.status_code == 404
    replay = demo_client.put(f"/api/v1/visits/{visit_id}", json=body)
    assert replay.status_code == 404
    assert db_rows(demo_dir, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        (1,)
    ]


def test_only_shoppers_send_visits(demo_client: TestClient) -> None:
    assert demo_client.put(f"/api/v1/visits/{new_id()}", json={}).status_code == 401
    login(demo_client, "reviewer@demo.test")
    response = demo_client.put(f"/api/v1/visits/{new_id()}", json={})
    assert response.status_code == 403


def test_staff_see_submitted_visits_owners_only_approved(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    visit_id = new_id()
    shopper.put(f"/api/v1/visits/{visit_id}", json=visit_body(assignment))
    branch_owner = db_rows(
        demo_dir,
        "SELECT u.email FROM branch_owners o JOIN users u ON"
        " u.id = o.user_id WHERE o.branch_id = ?",
        (assignment["branch_id"],),
    )
    assert branch_owner, "the demo shopper's first assignment is at an owned branch"
    login(shopper, "reviewer@demo.test")
    assert shopper.get(f"/api/v1/visits/{visit_id}").status_code == 200
    login(shopper, branch_owner[0][0])
    assert shopper.get(f"/api/v1/visits/{visit_id}").status_code == 404
    login(shopper, "manager@demo.test")
    assert shopper.get(f"/api/v1/visits/{visit_id}").status_code == 404


def _return_visit(data_dir: Path, visit_id: str, note: str) -> None:
    async def main() -> None:
        async with open_db(data_dir) as db:
            row = await visits.latest(db, visit_id)
            assert row is not None
            reviewer = await db.fetchone("SELECT id FROM users WHERE role = 'reviewer'")
            assert reviewer is not None
            async with db.transaction() as tx:
                await visits.return_to_shopper(tx, row["id"], note, reviewer[0])

    asyncio.run(main())


def test_a_returned_visit_takes_a_new_revision_and_keeps_the_old(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    visit_id = new_id()
    first = visit_body(assignment)
    shopper.put(f"/api/v1/visits/{visit_id}", json=first)
    # Without a return, a second revision is not expected.
    early = shopper.put(f"/api/v1/visits/{visit_id}", json={**first, "revision": 2})
    assert early.status_code == 409
    _return_visit(demo_dir, visit_id, "Please add the till count comment.")
    status = shopper.get(f"/api/v1/visits/{visit_id}").json()
    assert status["state"] == "returned"
    assert status["review_note"] == "Please add the till count comment."
    returned = shopper.get("/api/v1/assignments").json()["returned_visits"]
    assert [r["visit_id"] for r in returned] == [visit_id]
    second = {**first, "revision": 2, "comment": "Added: 1 of 15 tills open at 10:12."}
    response = shopper.put(f"/api/v1/visits/{visit_id}", json=second)
    assert response.status_code == 201, response.text
    assert response.json()["revision"] == 2 and response.json()["state"] == "submitted"
    assert shopper.put(f"/api/v1/visits/{visit_id}", json=second).status_code == 200
    # The first revision's retry still answers 200: nothing is lost for a late phone.
    assert shopper.put(f"/api/v1/visits/{visit_id}", json=first).status_code == 200
    rows = db_rows(
        demo_dir,
        "SELECT revision, state, comment FROM visits WHERE visit_uuid = ? ORDER BY revision",
        (visit_id,),
    )
    assert rows == [
        (1, "returned", "free text"),
        (2, "submitted", "Added: 1 of 15 tills open at 10:12."),
    ]
    assert shopper.get("/api/v1/assignments").json()["returned_visits"] == []
    skipping = shopper.put(f"/api/v1/visits/{visit_id}", json={**first, "revision": 4})
    assert skipping.status_code == 409


def test_with_review_off_a_complete_visit_is_approved(demo_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_dir, review_required=False))) as client:
        login(client, "shopper@demo.test")
        assignment = open_assignments(client)[0]
        visit_id = new_id()
        data = jpeg_bytes()
        entry = manifest(data)
        response = client.put(
            f"/api/v1/visits/{visit_id}", json=visit_body(assignment, photos=[entry])
        )
        assert response.json()["state"] == "incomplete"
        client.put(f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=data)
        assert client.get(f"/api/v1/visits/{visit_id}").json()["state"] == "approved"
    actions = [
        r[0]
        for r in db_rows(
            demo_dir, "SELECT action FROM audit_log WHERE entity_id = ? ORDER BY id", (visit_id,)
        )
    ]
    assert actions == ["visit.received", "visit.submitted", "visit.approved"]


def test_stamps_out_of_order_are_refused_naming_the_stamp(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    body = visit_body(assignment)
    body["stamps"]["served"] = "2026-11-24T10:05:00+07:00"  # before joined_queue (10:12)
    visit_id = new_id()
    response = shopper.put(f"/api/v1/visits/{visit_id}", json=body)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [d["path"] for d in details] == ["stamps.served"]
    assert "Joined queue" in details[0]["message"]
    assert not db_rows(demo_dir, "SELECT 1 FROM visits WHERE visit_uuid = ?", (visit_id,))


def test_a_missing_stamp_needs_never_and_then_scores_zero(
    shopper: TestClient, assignment: dict[str, Any], demo_dir: Path
) -> None:
    body = visit_body(assignment)
    del body["stamps"]["greeted"]
    response = shopper.put(f"/api/v1/visits/{new_id()}", json=body)
    assert response.status_code == 422
    assert [d["path"] for d in response.json()["error"]["details"]] == ["answers.greeting_delay"]
    body["answers"]["greeting_delay"] = {"never": True}
    visit_id = new_id()
    assert shopper.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
    (visit,) = visit_scores(demo_dir, "WHERE visit_uuid = ?", (visit_id,))
    assert visit["questions"]["greeting_delay"] == (0, 2)  # scored: no points of two


@pytest.mark.parametrize(
    ("answer", "path"),
    [
        ({"never": False}, "answers.greeting_delay.never"),
        ({"never": True, "na": True}, "answers.greeting_delay"),
        ({"na": True}, "answers.greeting_delay.na"),  # only questions marked na may be N/A
    ],
)
def test_never_and_na_on_a_timed_question_are_checked(
    shopper: TestClient, assignment: dict[str, Any], answer: dict[str, Any], path: str
) -> None:
    body = visit_body(assignment)
    body["answers"]["greeting_delay"] = answer
    response = shopper.put(f"/api/v1/visits/{new_id()}", json=body)
    assert response.status_code == 422
    assert path in [d["path"] for d in response.json()["error"]["details"]]


def test_never_is_only_for_timed_questions(shopper: TestClient, assignment: dict[str, Any]) -> None:
    body = visit_body(assignment)
    body["answers"]["thanked"] = {"never": True}
    response = shopper.put(f"/api/v1/visits/{new_id()}", json=body)
    assert response.status_code == 422
    assert "answers.thanked.never" in [d["path"] for d in response.json()["error"]["details"]]
