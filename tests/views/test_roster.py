"""The shopper roster (issue "The agency at scale"): a profile and a state per shopper,
visit quality out of 10 with its trend (server/quality.py), seen by the agency and by
the shopper; only active shoppers are given or claim visits; open visits nearest the
shopper's home first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import quality
from tests.conftest import csrf_token, db_rows, login


def shopper_id(data: Path, email: str = "shopper@demo.test") -> int:
    return int(db_rows(data, "SELECT id FROM users WHERE email = ?", (email,))[0][0])


def save_profile(client: TestClient, user: int, **form: str) -> Any:
    login(client, "admin@demo.test")
    return client.post(
        f"/admin/users/{user}/profile",
        data={"csrf_token": csrf_token(client, f"/admin/users/{user}"), **form},
        follow_redirects=False,
    )


def open_visit(client: TestClient, branch: int) -> None:
    login(client, "admin@demo.test")
    made = client.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf_token(client, "/admin/assignments"),
            "shopper": "open",
            "questionnaire": "default",
            "branches": str(branch),
            "start": "2027-06-01",
            "end": "2027-06-30",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text


def test_a_profile_is_kept_and_bad_ones_are_refused_whole(
    demo_client: TestClient, demo_dir: Path
) -> None:
    sari = shopper_id(demo_dir)
    saved = save_profile(
        demo_client,
        sari,
        state="active",
        phone="+62 812-3456-7890",
        languages="ID, en",
        home_city="Jakarta Selatan",
        home_region="Jakarta",
        home_lat="-6,26",
        home_lon="106.81",
        note="Prefers weekday mornings.",
    )
    assert saved.status_code == 303
    assert db_rows(
        demo_dir,
        "SELECT state, phone, languages, home_city, home_lat, home_lon FROM shopper_profiles",
    ) == [("active", "+62 812-3456-7890", "id,en", "Jakarta Selatan", -6.26, 106.81)]
    page = demo_client.get(f"/admin/users/{sari}").text
    assert "Prefers weekday mornings." in page and "Visit quality" in page
    for bad in (
        {"state": "retired"},
        {"phone": "call me maybe"},
        {"languages": "Bahasa Indonesia"},
        {"home_lat": "-6.2"},  # a latitude without its longitude
        {"home_lat": "95", "home_lon": "10"},
    ):
        refused = save_profile(demo_client, sari, **bad)
        assert refused.status_code == 422, bad
    assert db_rows(demo_dir, "SELECT phone FROM shopper_profiles") == [("+62 812-3456-7890",)]
    admin = shopper_id(demo_dir, "admin@demo.test")
    assert save_profile(demo_client, admin, state="active").status_code == 422


def test_a_paused_shopper_is_neither_given_nor_offered_visits(
    demo_client: TestClient, demo_dir: Path
) -> None:
    sari = shopper_id(demo_dir)
    assert save_profile(demo_client, sari, state="paused").status_code == 303
    page = demo_client.get("/admin/assignments").text
    assert f'<option value="{sari}">Sari Shopper</option>' not in page
    named = demo_client.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf_token(demo_client, "/admin/assignments"),
            "shopper": str(sari),
            "questionnaire": "default",
            "branches": "2",
            "start": "2027-06-01",
            "end": "2027-06-30",
        },
    )
    assert named.status_code == 422 and "Choose an active shopper" in named.text
    open_visit(demo_client, 2)
    [(assignment,)] = db_rows(demo_dir, "SELECT max(id) FROM assignments")
    login(demo_client, "shopper@demo.test")
    assert demo_client.get("/api/v1/assignments").json()["claimable"] == []
    refused = demo_client.post(f"/api/v1/assignments/{assignment}/claim", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_active"
    assert save_profile(demo_client, sari, state="active").status_code == 303
    login(demo_client, "shopper@demo.test")
    assert [a["id"] for a in demo_client.get("/api/v1/assignments").json()["claimable"]] == [
        assignment
    ]


def test_open_visits_come_nearest_the_shoppers_home_first(
    demo_client: TestClient, demo_dir: Path
) -> None:
    for branch in (9, 2, 7):  # Denpasar, Kemang, Bogor
        open_visit(demo_client, branch)
    login(demo_client, "shopper@demo.test")
    soonest = [
        a["branch"]["id"] for a in demo_client.get("/api/v1/assignments").json()["claimable"]
    ]
    assert sorted(soonest) == [2, 7, 9]
    # Home in Bogor: Bogor, then Kemang (Jakarta), then Denpasar (Bali).
    sari = shopper_id(demo_dir)
    assert save_profile(demo_client, sari, home_lat="-6.59", home_lon="106.80").status_code == 303
    login(demo_client, "shopper@demo.test")
    offered = demo_client.get("/api/v1/assignments").json()["claimable"]
    assert [a["branch"]["id"] for a in offered] == [7, 2, 9]
    assert offered[0]["distance_km"] < 2 < offered[1]["distance_km"] < offered[2]["distance_km"]


def test_the_roster_searches_filters_and_shows_quality_which_the_shopper_sees_too(
    demo_client: TestClient, demo_dir: Path
) -> None:
    sari = shopper_id(demo_dir)
    save_profile(demo_client, sari, home_city="Bogor", home_region="Jawa Barat", state="active")
    save_profile(demo_client, shopper_id(demo_dir, "shopper2@demo.test"), state="applicant")
    page = demo_client.get("/admin/shoppers").text
    assert "3 shoppers" in page and "Sari Shopper" in page
    assert "1 shopper" in demo_client.get("/admin/shoppers?q=bogor").text
    applicants = demo_client.get("/admin/shoppers?state=applicant").text
    assert "1 shopper" in applicants and "Sam Shopper" in applicants
    region = demo_client.get("/admin/shoppers?region=Jawa+Barat").text
    assert "Sari Shopper" in region and "Sam Shopper" not in region
    assert demo_client.get("/admin/shoppers?state=bogus&page=x").status_code == 200
    # The shopper reads their own quality, the same numbers the agency reads.
    login(demo_client, "shopper@demo.test")
    mine = demo_client.get("/api/v1/me/visits").json()["quality"]
    login(demo_client, "admin@demo.test")
    [row] = [r for r in demo_client.get("/admin/shoppers?q=sari").text.split("<tr>") if "Sari" in r]
    assert mine["visits"] > 0
    shown = f"{mine['quality']:.1f}" if mine["quality"] is not None else "–"
    assert shown in row


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def outcome(days_ago: int, **kw: Any) -> quality.VisitOutcome:
    values: dict[str, Any] = {
        "rating": None,
        "returned": False,
        "rejected": False,
        "upheld": False,
        "decided": True,
    } | kw
    return quality.VisitOutcome(started=NOW - timedelta(days=days_ago), **values)


@pytest.mark.parametrize(
    ("kw", "mark"),
    [
        ({}, 7.0),
        ({"rating": 9}, 9.0),
        ({"rating": 9, "returned": True}, 7.0),
        ({"rating": 9, "upheld": True}, 6.0),
        ({"rating": 3, "returned": True, "upheld": True}, 1.0),
        ({"rating": 10, "rejected": True}, 1.0),
    ],
)
def test_each_visit_marks_out_of_ten_as_the_rule_says(kw: dict[str, Any], mark: float) -> None:
    assert quality.mark(outcome(1, **kw)) == mark


def test_quality_is_the_mean_mark_and_the_trend_compares_two_spans_of_90_days() -> None:
    found = quality.summary(
        [
            outcome(10, rating=9),
            outcome(20, rating=7, returned=True),  # 5
            outcome(100, rating=4),
            outcome(150),  # 7
            outcome(300, rating=10),  # older than both spans: in the mean only
            outcome(5, decided=False),  # waiting for review: not marked yet
        ],
        NOW,
    )
    assert found["quality"] == round((9 + 5 + 4 + 7 + 10) / 5, 1)
    assert found["trend"] == {"recent": 7.0, "before": 5.5}
    assert (found["visits"], found["decided"], found["returned"], found["rated"]) == (6, 5, 1, 4)
