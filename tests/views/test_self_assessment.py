"""Owners assess their own branch with the same questionnaire; the gap follows."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.questionnaire import is_scored, iter_questions, load_default
from tests.conftest import csrf_from, db_rows, login


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


def best_answers() -> dict[str, str]:
    """The best choice for every scored question, as the form names them."""
    form = {}
    for _s, q in iter_questions(load_default()):
        if not is_scored(q):
            continue
        form[f"q-{q['key']}"] = {
            "yes_no": "false" if q.get("inverse") else "true",
            "scale": str(q.get("max")),
            "choice": "resolved",
            "count_pair": "100",
            "timed": str(q["thresholds"][0]["max_seconds"]) if q["type"] == "timed" else "",
        }[q["type"]]
    return form


def kemang(data: Path) -> int:
    return int(db_rows(data, "SELECT id FROM branches WHERE code = 'JKT-KMG'")[0][0])


def test_an_owner_updates_the_self_assessment_and_the_gap_follows(
    demo_client: TestClient, demo_dir: Path
) -> None:
    branch = kemang(demo_dir)
    audited = "SELECT count(*) FROM audit_log WHERE action = 'selfassessment.created'"
    (before,) = db_rows(demo_dir, audited)[0]
    login(demo_client, "owner@demo.test")
    token = csrf(demo_client, f"/branches/{branch}/self-assessment")
    response = demo_client.post(
        f"/branches/{branch}/self-assessment",
        data={**best_answers(), "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    data = demo_client.get(f"/branches/{branch}.json").json()
    assert data["self_assessment"]["total"] == pytest.approx(100)
    assert all(s["owner"] == pytest.approx(100) for s in data["sections"])
    form = demo_client.get(f"/branches/{branch}/self-assessment").text
    assert 'value="resolved" checked' in form  # the form shows the latest answers
    assert db_rows(demo_dir, audited) == [(before + 1,)]


def test_a_slow_greeting_in_the_self_assessment_earns_nothing(
    demo_client: TestClient, demo_dir: Path
) -> None:
    branch = kemang(demo_dir)
    login(demo_client, "owner@demo.test")
    token = csrf(demo_client, f"/branches/{branch}/self-assessment")
    answers = {**best_answers(), "q-greeting_delay": "longer"}
    demo_client.post(f"/branches/{branch}/self-assessment", data={**answers, "csrf_token": token})
    greeting = next(
        s
        for s in demo_client.get(f"/branches/{branch}.json").json()["sections"]
        if s["key"] == "greeting"
    )
    assert greeting["owner"] == pytest.approx(5 / 7 * 100)  # 2 of 7 possible points lost


def test_nothing_answered_is_refused(demo_client: TestClient, demo_dir: Path) -> None:
    branch = kemang(demo_dir)
    login(demo_client, "owner@demo.test")
    token = csrf(demo_client, f"/branches/{branch}/self-assessment")
    response = demo_client.post(
        f"/branches/{branch}/self-assessment", data={"q-thanked": "maybe", "csrf_token": token}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("owner2@demo.test", 404),
        ("manager@demo.test", 403),
        ("shopper@demo.test", 404),
    ],
)
def test_only_the_branchs_owner_self_assesses(
    demo_client: TestClient, demo_dir: Path, email: str, status: int
) -> None:
    login(demo_client, email)
    assert demo_client.get(f"/branches/{kemang(demo_dir)}/self-assessment").status_code == status


def test_each_self_assessment_is_dated_and_the_dashboard_says_whether_the_gap_closes(
    demo_client: TestClient, demo_dir: Path
) -> None:
    from tests.conftest import db_write

    branch = kemang(demo_dir)
    db_write(demo_dir, [("DELETE FROM self_assessments WHERE branch_id = ?", (branch,))])
    login(demo_client, "owner@demo.test")
    for _ in range(2):  # two assessments, the first then dated in July
        token = csrf(demo_client, f"/branches/{branch}/self-assessment")
        demo_client.post(
            f"/branches/{branch}/self-assessment", data={**best_answers(), "csrf_token": token}
        )
    (first,) = db_rows(
        demo_dir, "SELECT min(id) FROM self_assessments WHERE branch_id = ?", (branch,)
    )[0]
    db_write(
        demo_dir,
        [
            (
                "UPDATE self_assessments SET created_at = '2026-07-15T08:00:00Z' WHERE id = ?",
                (first,),
            )
        ],
    )
    data = demo_client.get(f"/branches/{branch}.json").json()
    history = data["gap_history"]
    assert [h["created_at"][:7] for h in history] == ["2026-07", history[1]["created_at"][:7]]
    scored, total = db_rows(
        demo_dir,
        "SELECT count(score_total), sum(score_total) FROM visits WHERE branch_id = ?"
        " AND state = 'approved' AND local_date BETWEEN '2026-05-01' AND '2026-07-31'",
        (branch,),
    )[0]
    assert history[0]["visits"] == scored
    assert history[0]["shoppers"] == pytest.approx(total / scored)
    assert history[0]["gap"] == pytest.approx(100 - total / scored)
    gaps = [abs(h["gap"]) for h in history if h["gap"] is not None]
    expected = (
        None
        if len(gaps) < 2
        else "steady"
        if abs(gaps[-1] - gaps[0]) < 2
        else "closing"
        if gaps[-1] < gaps[0]
        else "widening"
    )
    assert data["gap_trend"] == expected
    page = demo_client.get(f"/branches/{branch}").text
    assert 'id="gap-history"' in page
