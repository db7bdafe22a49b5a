"""Targets (issue "Closing the loop for owners and chains"): the programme's pass marks,
read by the branch dashboard (a line, met or below, the share of visits on target) and
the comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import csrf_token, db_rows, login


def set_targets(client: TestClient, **marks: str) -> Any:
    login(client, "admin@demo.test")
    return client.post(
        "/admin/programme",
        data={"csrf_token": csrf_token(client, "/admin/programme"), **marks},
        follow_redirects=False,
    )


def test_the_dashboard_reads_every_score_against_its_target(
    demo_client: TestClient, demo_dir: Path
) -> None:
    assert (
        set_targets(demo_client, target_total="70", target_section_greeting="80").status_code == 303
    )
    login(demo_client, "owner@demo.test")
    (branch,) = db_rows(
        demo_dir,
        "SELECT o.branch_id FROM branch_owners o JOIN users u ON u.id = o.user_id"
        " WHERE u.email = 'owner@demo.test' ORDER BY o.branch_id LIMIT 1",
    )[0]
    data = demo_client.get(f"/branches/{branch}.json?from=2026-01&to=2026-12").json()
    target = data["target"]
    assert target["total"] == 70
    assert target["met"] == (data["total"] >= 70)
    scored, on_target = db_rows(
        demo_dir,
        "SELECT count(score_total), sum(CASE WHEN score_total >= 70 THEN 1 ELSE 0 END)"
        " FROM visits WHERE branch_id = ? AND state = 'approved'"
        " AND local_date BETWEEN '2026-01-01' AND '2026-12-31'",
        (branch,),
    )[0]
    assert target["visits"] == {"visits": scored, "on_target": on_target}
    greeting = next(s for s in data["sections"] if s["key"] == "greeting")
    assert greeting["target"] == 80 and greeting["met"] == (greeting["shoppers"] >= 80)
    assert all(s["target"] is None for s in data["sections"] if s["key"] != "greeting")
    page = demo_client.get(f"/branches/{branch}?from=2026-01&to=2026-12").text
    assert 'class="target"' in page  # the line on the trend chart
    assert f"{on_target} of {scored} visits" in page


def test_targets_are_checked(demo_client: TestClient) -> None:
    assert set_targets(demo_client, target_total="101").status_code == 422
    assert set_targets(demo_client, target_total="high").status_code == 422
    assert set_targets(demo_client, target_section_nowhere="50").status_code == 422
    assert set_targets(demo_client, target_total="").status_code == 303  # none
    login(demo_client, "admin@demo.test")
    assert 'id="target-total" name="target_total" inputmode="decimal" value=""' in (
        demo_client.get("/admin/programme").text
    )


def test_the_comparison_says_which_branches_are_on_target(
    demo_client: TestClient, demo_dir: Path
) -> None:
    set_targets(demo_client, target_total="65")
    login(demo_client, "manager@demo.test")
    (chain,) = db_rows(demo_dir, "SELECT id FROM chains ORDER BY id LIMIT 1")[0]
    data = demo_client.get(f"/chains/{chain}/compare.json?from=2026-01&to=2026-12").json()
    assert data["target"]["total"] == 65
    for row in data["branches"]:
        assert row["target_met"] == (None if row["total"] is None else row["total"] >= 65)
    met = sum(1 for r in data["branches"] if r["target_met"])
    scored = sum(1 for r in data["branches"] if r["target_met"] is not None)
    assert 0 < met < scored  # the demo has branches on both sides
    page = demo_client.get(f"/chains/{chain}/compare?from=2026-01&to=2026-12").text
    assert f"{met} of {scored} branches" in page and 'class="target"' in page
