"""Appeals (issue "Closing the loop for owners and chains"): an owner or manager contests
an approved visit within the appeal period; a reviewer corrects answers and decides, and
the report, its JSON twin and the summaries change in the same transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import csrf_token, db_rows, db_write, login
from tests.test_summaries import assert_consistent, early_plans


def approved_now(client: TestClient, data: Path) -> tuple[str, str]:
    """A visit the reviewer approves now, at a branch with an owner: (id, owner's email)."""
    visit_id, owner = db_rows(
        data,
        "SELECT v.visit_uuid, u.email FROM visits v JOIN branch_owners o ON"
        " o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " WHERE v.state = 'submitted' ORDER BY v.id LIMIT 1",
    )[0]
    ((branch,),) = db_rows(data, "SELECT branch_id FROM visits WHERE visit_uuid = ?", (visit_id,))
    early_plans(data, branch)  # their "since" must follow the approval and what comes after
    login(client, "reviewer@demo.test")
    approved = client.post(
        f"/review/{visit_id}/approve",
        data={"csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    return visit_id, owner


def appeal(client: TestClient, email: str, visit_id: str, **form: Any) -> Any:
    login(client, email)
    fields = {"category": "fact_wrong", "text": "Two tills were open, not one.", **form}
    return client.post(
        f"/visits/{visit_id}/appeal",
        data={"csrf_token": csrf_token(client), **fields},
        follow_redirects=False,
    )


def decide(client: TestClient, visit_id: str, **form: Any) -> Any:
    login(client, "reviewer@demo.test")
    return client.post(
        f"/review/{visit_id}/appeal",
        data={"csrf_token": csrf_token(client), **form},
        follow_redirects=False,
    )


def test_an_owner_appeals_and_the_reviewer_corrects_and_upholds(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    login(demo_client, owner)
    assert "Appeal this visit" in demo_client.get(f"/visits/{visit_id}").text
    answer = appeal(demo_client, owner, visit_id)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/visits/{visit_id}#appeal"
    report = demo_client.get(f"/visits/{visit_id}.json").json()
    assert report["appeal"] | {"opened_at": None} == {
        "state": "open",
        "category": "fact_wrong",
        "text": "Two tills were open, not one.",
        "opened_at": None,
        "decision": None,
        "reason": None,
        "decided_at": None,
        "voided": False,
    }
    assert appeal(demo_client, owner, visit_id).status_code == 409  # one open appeal
    assert_consistent(demo_dir)  # the comparison counts it as appealed at once

    login(demo_client, "reviewer@demo.test")
    queue = demo_client.get("/review").text
    assert f'href="/visits/{visit_id}#appeal"' in queue
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "Correct this answer" in page and "Decide the appeal" in page
    corrected = demo_client.post(
        f"/review/{visit_id}/correct/tills",
        data={
            "csrf_token": csrf_token(demo_client),
            "how": "value",
            "open": "2",
            "total": "4",
            "reason": "The photo shows two tills open.",
        },
        follow_redirects=False,
    )
    assert corrected.status_code == 303
    assert (
        decide(
            demo_client, visit_id, decision="upheld", reason="The photo shows two tills."
        ).status_code
        == 303
    )
    assert_consistent(demo_dir)  # the correction recounted the approved visit

    login(demo_client, owner)
    report = demo_client.get(f"/visits/{visit_id}.json").json()
    assert (report["appeal"]["state"], report["appeal"]["decision"]) == ("decided", "upheld")
    assert report["appeal"]["reason"] == "The photo shows two tills."
    assert report["corrected"] is True
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "Decision: upheld" in page and "corrected by the agency" in page
    (branch,) = db_rows(demo_dir, "SELECT branch_id FROM visits WHERE visit_uuid = ?", (visit_id,))[
        0
    ]
    rates = demo_client.get(f"/branches/{branch}.json").json()["appeals"]
    assert (rates["appealed"], rates["upheld"]) == (1, 1) and rates["visits"] >= 1
    assert "Appealed: 1 of" in demo_client.get(f"/branches/{branch}").text
    assert db_rows(
        demo_dir,
        "SELECT action FROM audit_log WHERE entity_id = ? AND action IN"
        " ('visit.appealed', 'visit.corrected', 'appeal.upheld') ORDER BY id",
        (visit_id,),
    ) == [("visit.appealed",), ("visit.corrected",), ("appeal.upheld",)]
    # Decided: no more corrections, and it cannot be decided twice.
    assert decide(demo_client, visit_id, decision="rejected", reason="x").status_code == 409


def test_an_upheld_appeal_may_void_the_visit_which_leaves_the_reports(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    appeal(demo_client, owner, visit_id, category="scenario_not_followed", text="Wrong shop.")
    answer = decide(demo_client, visit_id, decision="upheld", reason="Wrong shop.", void="on")
    assert answer.status_code == 303
    assert db_rows(demo_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        ("rejected",)
    ]
    assert_consistent(demo_dir)
    login(demo_client, owner)
    assert demo_client.get(f"/visits/{visit_id}.json").status_code == 404


@pytest.mark.parametrize("decision", ["partly_upheld", "rejected"])
def test_other_decisions_keep_the_visit(
    demo_client: TestClient, demo_dir: Path, decision: str
) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    appeal(demo_client, owner, visit_id, category="other", text="Unfair.")
    # Voiding goes only with upheld: asked with another decision, it is ignored.
    assert (
        decide(demo_client, visit_id, decision=decision, reason="Seen.", void="on").status_code
        == 303
    )
    assert db_rows(demo_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (visit_id,)) == [
        ("approved",)
    ]
    assert_consistent(demo_dir)
    (upheld,) = db_rows(demo_dir, "SELECT sum(upheld) FROM branch_month_appeals")[0]
    assert upheld == (1 if decision == "partly_upheld" else 0)
    login(demo_client, owner)
    assert demo_client.get(f"/visits/{visit_id}.json").json()["appeal"]["decision"] == decision


def test_a_bad_appeal_or_decision_is_refused(demo_client: TestClient, demo_dir: Path) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    assert appeal(demo_client, owner, visit_id, category="bored").status_code == 422
    assert appeal(demo_client, owner, visit_id, text="  ").status_code == 422
    assert decide(demo_client, visit_id, decision="upheld", reason="x").status_code == 409  # none
    appeal(demo_client, owner, visit_id)
    assert decide(demo_client, visit_id, decision="maybe", reason="x").status_code == 422
    assert decide(demo_client, visit_id, decision="upheld", reason=" ").status_code == 422
    assert db_rows(demo_dir, "SELECT state FROM appeals") == [("open",)]


def test_the_appeal_period_is_the_programmes(demo_client: TestClient, demo_dir: Path) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    # Approved ten days ago: past the default seven.
    db_write(
        demo_dir,
        [
            (
                "UPDATE audit_log SET at = '2026-01-01T00:00:00Z' WHERE entity_id = ?"
                " AND action = 'visit.approved'",
                (visit_id,),
            )
        ],
    )
    closed = appeal(demo_client, owner, visit_id)
    assert closed.status_code == 409 and "has passed" in closed.text
    login(demo_client, owner)
    assert "Appeal this visit" not in demo_client.get(f"/visits/{visit_id}").text
    login(demo_client, "admin@demo.test")
    demo_client.post(
        "/admin/programme",
        data={"csrf_token": csrf_token(demo_client, "/admin/programme"), "appeal_days": "365"},
    )
    assert appeal(demo_client, owner, visit_id).status_code == 303
    login(demo_client, "admin@demo.test")
    bad = demo_client.post(
        "/admin/programme",
        data={"csrf_token": csrf_token(demo_client, "/admin/programme"), "appeal_days": "-1"},
    )
    assert bad.status_code == 422


def test_who_may_appeal(demo_client: TestClient, demo_dir: Path) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    other_owner = "owner2@demo.test" if owner != "owner2@demo.test" else "owner@demo.test"
    assert appeal(demo_client, other_owner, visit_id).status_code == 404  # not their branch
    for email in ("shopper@demo.test", "reviewer@demo.test", "admin@demo.test"):
        assert appeal(demo_client, email, visit_id).status_code == 403
    assert appeal(demo_client, "manager@demo.test", visit_id).status_code == 303


def test_an_upheld_appeal_counts_against_the_shoppers_visit_quality(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit_id, owner = approved_now(demo_client, demo_dir)
    (shopper,) = db_rows(
        demo_dir, "SELECT shopper_id FROM visits WHERE visit_uuid = ?", (visit_id,)
    )[0]

    def quality() -> str:
        login(demo_client, "admin@demo.test")
        page = demo_client.get(f"/admin/users/{shopper}").text
        start = page.index('id="quality"')
        return page[start : page.index("</section>", start)]

    before = quality()
    assert "appeals upheld against them: 0" in before
    appeal(demo_client, owner, visit_id)
    decide(demo_client, visit_id, decision="partly_upheld", reason="Half right.")
    after = quality()
    assert "appeals upheld against them: 1" in after
    assert after != before  # the clean share went down with it


def test_the_comparison_shows_appeal_and_upheld_rates_per_branch(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """A voided visit left the averages but still counts in the appeal rate's n."""
    visit_id, owner = approved_now(demo_client, demo_dir)
    appeal(demo_client, owner, visit_id, category="scenario_not_followed", text="Wrong shop.")
    assert (
        decide(demo_client, visit_id, decision="upheld", reason="Yes.", void="on").status_code
        == 303
    )
    (branch, day), *_ = db_rows(
        demo_dir, "SELECT branch_id, local_date FROM visits WHERE visit_uuid = ?", (visit_id,)
    )
    month = day[:7]
    login(demo_client, "manager@demo.test")
    data = demo_client.get(f"/chains/1/compare.json?from={month}&to={month}").json()
    by_id = {b["id"]: b for b in data["branches"]}
    approved = db_rows(
        demo_dir,
        "SELECT count(*) FROM visits WHERE branch_id = ? AND state = 'approved'"
        " AND local_date LIKE ?",
        (branch, f"{month}-%"),
    )[0][0]
    assert by_id[branch]["visits"] == approved  # the voided visit is not in the averages
    assert by_id[branch]["appeals"] == {
        "visits": approved + 1,
        "appealed": 1,
        "upheld": 1,
        "appeal_rate": pytest.approx(1 / (approved + 1)),
        "upheld_rate": 1.0,
    }
    assert all(b["appeals"]["appealed"] == 0 for i, b in by_id.items() if i != branch)
    assert (data["appeals"]["appealed"], data["appeals"]["upheld"]) == (1, 1)
    assert data["appeals"]["visits"] == sum(b["visits"] for b in by_id.values()) + 1
    page = demo_client.get(f"/chains/1/compare?from={month}&to={month}").text
    assert f"Appealed: 1 of {data['appeals']['visits']} visits" in page
    table = demo_client.get(f"/chains/1/compare.csv?from={month}&to={month}").text
    header, *rows = [line.split(",") for line in table.lstrip("\ufeff").splitlines()]
    assert header[-2:] == ["Appealed", "Upheld"]
    assert sorted(r[-2:] for r in rows if r[-2] != "0") == [["1", "1"]]


def test_an_upgrade_counts_the_appeals_made_before_it(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """Migration 0035 counts, by branch and month, the appeals a database already has."""
    visit_id, owner = approved_now(demo_client, demo_dir)
    appeal(demo_client, owner, visit_id, category="scenario_not_followed", text="Wrong shop.")
    decide(demo_client, visit_id, decision="upheld", reason="Wrong shop.", void="on")
    kept = db_rows(demo_dir, "SELECT * FROM branch_month_appeals ORDER BY 1, 2")
    assert kept and kept[0][2:] == (1, 1, 1)
    db_write(
        demo_dir,
        [
            ("DROP TABLE branch_month_appeals", ()),
            ("DELETE FROM schema_migrations WHERE version = 35", ()),
        ],
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        assert client.get("/healthz").status_code == 200
    assert db_rows(demo_dir, "SELECT * FROM branch_month_appeals ORDER BY 1, 2") == kept
    assert_consistent(demo_dir)
