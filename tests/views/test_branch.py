"""A branch's dashboard: the gap, the trend, the weakest questions, and who may see it."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import db_rows, login


def branch_id(data: Path, code: str) -> int:
    return int(db_rows(data, "SELECT id FROM branches WHERE code = ?", (code,))[0][0])


def test_the_gap_sets_the_owners_view_beside_the_shoppers(
    demo_client: TestClient, demo_dir: Path
) -> None:
    kemang = branch_id(demo_dir, "JKT-KMG")
    login(demo_client, "owner@demo.test")
    data = demo_client.get(f"/branches/{kemang}.json?from=2026-06&to=2026-11").json()
    scores = [
        r[0]
        for r in db_rows(
            demo_dir,
            "SELECT score_total FROM visits WHERE branch_id = ? AND state = 'approved'"
            " AND substr(started_at, 1, 7) BETWEEN '2026-06' AND '2026-11'",
            (kemang,),
        )
    ]
    assert data["visits"] == len(scores)
    assert data["total"] == pytest.approx(statistics.fmean(scores))
    (own,) = db_rows(demo_dir, "SELECT scores FROM self_assessments WHERE branch_id = ?", (kemang,))
    owner_sections = {s["key"]: s["score"] for s in json.loads(own[0])["sections"]}
    for section in data["sections"]:
        assert section["owner"] == pytest.approx(owner_sections[section["key"]])
        assert section["gap"] == pytest.approx(section["owner"] - section["shoppers"])
    checkout = next(s for s in data["sections"] if s["key"] == "checkout")
    assert checkout["gap"] > 20  # a long-queue branch whose owner thinks all is well
    assert data["weakest_questions"][0]["key"] in {"queue_wait", "staff_idle", "tills"}
    page = demo_client.get(f"/branches/{kemang}?from=2026-06&to=2026-11")
    assert "You think" in page.text and "shoppers found" in page.text
    assert page.text.count('href="/visits/') == 10


def test_the_trend_starts_where_the_data_starts(demo_client: TestClient, demo_dir: Path) -> None:
    """At most twelve months, from the first month with a visit: no empty run of months
    before the data begins."""
    login(demo_client, "manager@demo.test")
    branch = branch_id(demo_dir, "BAL-UBD")
    data = demo_client.get(f"/branches/{branch}.json").json()
    (first,) = db_rows(
        demo_dir,
        "SELECT min(substr(local_date, 1, 7)) FROM visits WHERE branch_id = ?"
        " AND state = 'approved'",
        (branch,),
    )[0]
    start = data["trend"][0]
    assert start["visits"] > 0 and 1 <= len(data["trend"]) <= 12
    # The branch's first month, unless that is more than twelve months back.
    assert start["month"] == first or (start["month"] > first and len(data["trend"]) == 12)
    months_with_visits = [p for p in data["trend"] if p["visits"]]
    assert len(months_with_visits) >= 5
    assert all(0 <= p["mean"] <= 100 for p in months_with_visits)


@pytest.mark.parametrize(
    ("email", "code", "status"),
    [
        ("owner@demo.test", "JKT-KMG", 200),
        ("owner@demo.test", "BAL-KTA", 404),
        ("owner2@demo.test", "BAL-KTA", 200),
        ("manager@demo.test", "JBR-BGR", 200),
        ("reviewer@demo.test", "JBR-BGR", 200),
        ("shopper@demo.test", "JKT-KMG", 404),
    ],
)
def test_who_may_see_a_dashboard(
    demo_client: TestClient, demo_dir: Path, email: str, code: str, status: int
) -> None:
    login(demo_client, email)
    assert demo_client.get(f"/branches/{branch_id(demo_dir, code)}").status_code == status
    assert demo_client.get(f"/branches/{branch_id(demo_dir, code)}.json").status_code == status
    assert demo_client.get("/branches/9999").status_code == 404


def test_an_owner_lists_every_visit_to_a_branch_by_period(
    demo_client: TestClient, demo_dir: Path
) -> None:
    branch = branch_id(demo_dir, "JKT-KMG")
    login(demo_client, "owner@demo.test")
    everything = db_rows(
        demo_dir,
        "SELECT visit_uuid FROM visits WHERE branch_id = ? AND state = 'approved'"
        " AND local_date BETWEEN '2026-01-01' AND '2026-12-31'"
        " ORDER BY local_date DESC, started_utc DESC, id DESC",
        (branch,),
    )
    assert len(everything) > 10  # more than the dashboard's latest ten
    seen: list[str] = []
    page = 1
    while True:
        data = demo_client.get(
            f"/branches/{branch}/visits.json?from=2026-01&to=2026-12&page={page}"
        ).json()
        assert data["total"] == len(everything)
        seen += [v["visit_id"] for v in data["visits"]]
        if page >= data["pages"]:
            break
        page += 1
    assert seen == [r[0] for r in everything]
    html = demo_client.get(f"/branches/{branch}/visits?from=2026-06&to=2026-06").text
    (june,) = db_rows(
        demo_dir,
        "SELECT count(*) FROM visits WHERE branch_id = ? AND state = 'approved'"
        " AND local_date LIKE '2026-06-%'",
        (branch,),
    )[0]
    assert html.count('href="/visits/') == june
    assert demo_client.get(f"/branches/{branch}/visits?page=x").status_code == 200  # a note
    login(demo_client, "owner2@demo.test")
    assert demo_client.get(f"/branches/{branch}/visits").status_code == 404
