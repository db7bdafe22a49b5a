"""Reviewer corrections (issue "Closing the loop for owners and chains"): an answer or
its comment changed with a reason, the shopper's original kept, the visit rescored and,
once approved, recounted in the summaries in the same transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.visit_record import unpack_answers
from tests.conftest import csrf_token, db_rows, login
from tests.test_summaries import assert_consistent
from tests.views.test_appeals import appeal, approved_now


def a_visit(data: Path, state: str) -> tuple[str, str]:
    """A visit in ``state`` at a branch with an owner: (visit id, the owner's email)."""
    return db_rows(
        data,
        "SELECT v.visit_uuid, u.email FROM visits v JOIN branch_owners o ON"
        " o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " WHERE v.state = ? ORDER BY v.id LIMIT 1",
        (state,),
    )[0]


def correct(client: TestClient, visit_id: str, question: str, **form: Any) -> Any:
    login(client, "reviewer@demo.test")
    return client.post(
        f"/review/{visit_id}/correct/{question}",
        data={"csrf_token": csrf_token(client), **form},
        follow_redirects=False,
    )


def stored(data: Path, visit_id: str) -> tuple[dict[str, Any], float]:
    answers, total = db_rows(
        data, "SELECT answers, score_total FROM visits WHERE visit_uuid = ?", (visit_id,)
    )[0]
    return unpack_answers(answers), total


def test_a_reviewer_corrects_a_submitted_visit_and_the_original_stays(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, _owner = a_visit(demo_dir, "submitted")
    answers, total = stored(demo_dir, visit_id)
    flipped = "false" if answers["greeted_verbally"].get("value") else "true"
    answer = correct(
        demo_client,
        visit_id,
        "greeted_verbally",
        how="value",
        value=flipped,
        comment="The receipt's timestamp shows the greeting came late.",
        reason="Checked against the receipt photo.",
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/visits/{visit_id}#q-greeted_verbally"
    now, new_total = stored(demo_dir, visit_id)
    assert now["greeted_verbally"] == {
        "value": flipped == "true",
        "comment": "The receipt's timestamp shows the greeting came late.",
    }
    assert new_total != total  # rescored
    ((kept_before, reason),) = db_rows(
        demo_dir,
        "SELECT c.before, c.reason FROM visit_corrections c JOIN visits v ON v.id = c.visit_id"
        " WHERE v.visit_uuid = ?",
        (visit_id,),
    )
    assert kept_before is not None and reason == "Checked against the receipt photo."
    assert db_rows(
        demo_dir,
        "SELECT count(*) FROM audit_log WHERE entity_id = ? AND action = 'visit.corrected'",
        (visit_id,),
    ) == [(1,)]
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "corrected by the agency" in page and "The shopper answered:" in page
    assert "Checked against the receipt photo." in page  # on the history
    data = demo_client.get(f"/visits/{visit_id}.json").json()
    assert data["corrected"] is True
    assert data["corrections"][0]["question"] == "greeted_verbally"
    assert data["total"] == pytest.approx(new_total)
    assert_consistent(demo_dir)  # a submitted visit is not in the summaries


def test_an_approved_visit_is_corrected_only_under_appeal(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, _owner = a_visit(demo_dir, "approved")
    answer = correct(demo_client, visit_id, "eye_contact", how="value", value="0", reason="x")
    assert answer.status_code == 409


def test_an_approved_visit_is_recounted_and_its_owner_sees_it_was_corrected(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    assert appeal(demo_client, owner, visit_id).status_code == 303
    branch, month = db_rows(
        demo_dir,
        "SELECT branch_id, substr(local_date, 1, 7) FROM visits WHERE visit_uuid = ?",
        (visit_id,),
    )[0]
    sums = (
        "SELECT score_sum FROM branch_month_scores"
        " WHERE branch_id = ? AND month = ? AND section_key = ''"
    )
    (before_sum,) = db_rows(demo_dir, sums, (branch, month))[0]
    _answers, before_total = stored(demo_dir, visit_id)
    assert (
        correct(
            demo_client,
            visit_id,
            "tills",
            how="value",
            open="0",
            total="5",
            reason="Photo shows 0 of 5.",
        ).status_code
        == 303
    )
    answers, after_total = stored(demo_dir, visit_id)
    assert answers["tills"] == {"value": {"open": 0, "total": 5}}
    (after_sum,) = db_rows(demo_dir, sums, (branch, month))[0]
    assert float(after_sum) == pytest.approx(float(before_sum) - before_total + after_total)
    assert_consistent(demo_dir)

    login(demo_client, owner)
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "corrected by the agency" in page and 'id="corrected-note"' in page
    assert "The shopper answered:" not in page  # the original is for the agency
    assert "Correct this answer" not in page
    data = demo_client.get(f"/visits/{visit_id}.json").json()
    assert data["corrected"] is True and "corrections" not in data


@pytest.mark.parametrize(
    ("question", "form", "expected"),
    [
        ("eye_contact", {"how": "value", "value": "4"}, {"value": 4}),
        ("resolution", {"how": "value", "value": "passed_on"}, {"value": "passed_on"}),
        ("people_ahead", {"how": "value", "value": "7"}, {"value": 7}),
        ("self_checkouts", {"how": "na"}, {"na": True}),
        ("queue_wait", {"how": "never"}, {"never": True}),
        ("overall_comment", {"how": "value", "value": "Fixed typo"}, {"value": "Fixed typo"}),
    ],
)
def test_each_kind_of_answer_can_be_corrected(
    demo_client: TestClient, demo_dir: Path, question: str, form: dict[str, str], expected: Any
) -> None:
    visit_id, _owner = a_visit(demo_dir, "submitted")
    answer = correct(demo_client, visit_id, question, reason="Checked.", **form)
    assert answer.status_code == 303, answer.text
    now, _total = stored(demo_dir, visit_id)
    assert {k: v for k, v in now[question].items() if k != "comment"} == expected


@pytest.mark.parametrize(
    ("question", "form", "status"),
    [
        ("eye_contact", {"how": "value", "value": "9", "reason": "x"}, 422),  # off the scale
        ("eye_contact", {"how": "value", "value": "four", "reason": "x"}, 422),
        ("eye_contact", {"how": "value", "value": "3"}, 422),  # no reason
        ("greeted_verbally", {"how": "na", "reason": "x"}, 422),  # N/A not allowed there
        ("tills", {"how": "value", "open": "6", "total": "5", "reason": "x"}, 422),
        ("no_such_question", {"how": "value", "value": "1", "reason": "x"}, 404),
    ],
)
def test_a_bad_correction_is_refused_and_changes_nothing(
    demo_client: TestClient, demo_dir: Path, question: str, form: dict[str, str], status: int
) -> None:
    visit_id, _owner = a_visit(demo_dir, "submitted")
    before = stored(demo_dir, visit_id)
    assert correct(demo_client, visit_id, question, **form).status_code == status
    assert stored(demo_dir, visit_id) == before
    assert db_rows(demo_dir, "SELECT count(*) FROM visit_corrections") == [(0,)]


def test_a_returned_visit_is_the_shoppers_to_change(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, _owner = a_visit(demo_dir, "submitted")
    login(demo_client, "reviewer@demo.test")
    demo_client.post(
        f"/review/{visit_id}/return", data={"csrf_token": csrf_token(demo_client), "note": "Fix"}
    )
    answer = correct(demo_client, visit_id, "eye_contact", how="value", value="2", reason="x")
    assert answer.status_code == 409


@pytest.mark.parametrize("email", ["owner@demo.test", "manager@demo.test", "shopper@demo.test"])
def test_only_agency_staff_correct(demo_client: TestClient, demo_dir: Path, email: str) -> None:
    visit_id, _owner = a_visit(demo_dir, "approved")
    login(demo_client, email)
    answer = demo_client.post(
        f"/review/{visit_id}/correct/eye_contact",
        data={"csrf_token": csrf_token(demo_client), "how": "value", "value": "0", "reason": "x"},
    )
    assert answer.status_code == 403
