"""The visit report and its JSON twin: the numbers, who may see it, caching."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import visit_record
from server.questionnaire import load_default
from server.scoring import score_visit
from tests.conftest import db_rows, db_write, login, published_version

SHOPPER_NAMES = ("Sari Shopper", "Sam Shopper", "Siti Shopper", "@demo.test")


def a_visit(
    data: Path, state: str, owner: str = "owner@demo.test", with_photo: bool = False
) -> dict[str, Any]:
    """A visit of the given state at one of this owner's branches."""
    photo = (
        "AND EXISTS (SELECT 1 FROM visit_photos vp WHERE vp.visit_id = v.id)" if with_photo else ""
    )
    row = db_rows(
        data,
        "SELECT v.visit_uuid, v.score_total, v.scores, v.answers, v.stamps,"
        " b.name, v.started_at FROM visits v JOIN branches b ON b.id = v.branch_id"
        " JOIN branch_owners o ON o.branch_id = b.id JOIN users u"
        f" ON u.id = o.user_id WHERE u.email = ? AND v.state = ? {photo}"
        " ORDER BY v.id LIMIT 1",
        (owner, state),
    )[0]
    return {
        "id": row[0],
        "total": row[1],
        "scores": json.loads(row[2]),
        "answers": visit_record.unpack_answers(row[3]),
        "stamps": visit_record.unpack_stamps(row[4], row[6]),
        "branch": row[5],
    }


def test_the_report_shows_the_stored_scores_and_can_be_recomputed(
    demo_client: TestClient, demo_dir: Path
) -> None:
    visit = a_visit(demo_dir, "approved", with_photo=True)
    login(demo_client, "owner@demo.test")
    report = demo_client.get(f"/visits/{visit['id']}.json").json()
    assert report["total"] == pytest.approx(visit["total"])
    assert [s["score"] for s in report["sections"]] == visit["scores"]["sections"]
    assert report["scored_by_earlier_rules"] is False
    again = score_visit(load_default(), report["answers"], report["stamps"])
    assert again.total == pytest.approx(report["total"])
    assert report["photos"] and report["photos"][0]["thumb"].startswith("/api/v1/photos/")
    assert report["location"] is None  # where the phone was: reviewers only
    page = demo_client.get(f"/visits/{visit['id']}")
    assert page.status_code == 200
    assert visit["branch"] in page.text
    assert f"{round(visit['total'])}" in page.text
    assert "What moved the score" in page.text
    assert 'src="/api/v1/photos/' in page.text


def test_scores_at_rest_are_compact_and_the_explanation_is_made_again(demo_dir: Path) -> None:
    """Stored: the section scores and each question's points, positional against the
    visit's questionnaire version; no explanation, no details, no request body."""
    visit = a_visit(demo_dir, "approved")
    record = visit["scores"]
    assert set(record) <= {"v", "sections", "earned", "zeroed_by"} and record["v"] == 2
    questions = [q for s in load_default()["sections"] for q in s["questions"]]
    assert len(record["earned"]) == len(questions)
    (size,) = db_rows(
        demo_dir, "SELECT length(scores) FROM visits WHERE visit_uuid = ?", (visit["id"],)
    )[0]
    assert size < 400
    full = score_visit(load_default(), visit["answers"], visit["stamps"])
    assert record["sections"] == [s.score for s in full.sections]
    assert record["earned"] == [q.earned if q.status == "scored" else None for q in full.questions]


def test_a_visit_scored_by_earlier_rules_keeps_its_numbers_and_says_so(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """If today's rules give other numbers than those the visit was approved with (the
    rules changed), the stored numbers stand and the report says so."""
    visit = a_visit(demo_dir, "approved")
    record = visit["scores"]
    record["sections"][0] = 12.5  # as if an older rule had scored the first section so
    db_write(
        demo_dir,
        [("UPDATE visits SET scores = ? WHERE visit_uuid = ?", (json.dumps(record), visit["id"]))],
    )
    login(demo_client, "owner@demo.test")
    report = demo_client.get(f"/visits/{visit['id']}.json").json()
    assert report["sections"][0]["score"] == 12.5
    assert report["scored_by_earlier_rules"] is True
    page = demo_client.get(f"/visits/{visit['id']}").text
    assert "scored by an earlier version of the scoring rules" in page


@pytest.mark.parametrize("email", ["owner@demo.test", "manager@demo.test"])
def test_owners_and_managers_never_see_who_the_shopper_was(
    demo_client: TestClient, demo_dir: Path, email: str
) -> None:
    visit = a_visit(demo_dir, "approved")
    login(demo_client, email)
    for path in (f"/visits/{visit['id']}", f"/visits/{visit['id']}.json"):
        response = demo_client.get(path)
        assert response.status_code == 200
        for name in SHOPPER_NAMES:
            assert name not in response.text, (path, name)


def test_agency_staff_see_the_shopper(demo_client: TestClient, demo_dir: Path) -> None:
    visit = a_visit(demo_dir, "submitted")
    login(demo_client, "reviewer@demo.test")
    report = demo_client.get(f"/visits/{visit['id']}.json").json()
    assert report["state"] == "submitted" and report["shopper"] in SHOPPER_NAMES


@pytest.mark.parametrize(
    ("email", "state", "status"),
    [
        ("owner@demo.test", "approved", 200),
        ("owner2@demo.test", "approved", 404),  # another owner's branch: no hint it exists
        ("owner@demo.test", "submitted", 404),  # not yet approved
        ("manager@demo.test", "approved", 200),
        ("manager@demo.test", "submitted", 404),
        ("reviewer@demo.test", "submitted", 200),
        ("admin@demo.test", "submitted", 200),
    ],
)
def test_who_may_see_a_report(
    demo_client: TestClient, demo_dir: Path, email: str, state: str, status: int
) -> None:
    visit = a_visit(demo_dir, state)
    login(demo_client, email)
    assert demo_client.get(f"/visits/{visit['id']}").status_code == status
    assert demo_client.get(f"/visits/{visit['id']}.json").status_code == status


def test_a_shopper_sees_only_their_own_visits(demo_client: TestClient, demo_dir: Path) -> None:
    visit_id, email = db_rows(
        demo_dir,
        "SELECT v.visit_uuid, u.email FROM visits v JOIN users u"
        " ON u.id = v.shopper_id ORDER BY v.id LIMIT 1",
    )[0]
    other = "shopper2@demo.test" if email != "shopper2@demo.test" else "shopper3@demo.test"
    login(demo_client, email)
    assert demo_client.get(f"/visits/{visit_id}.json").status_code == 200
    login(demo_client, other)
    assert demo_client.get(f"/visits/{visit_id}.json").status_code == 404


def test_unknown_visits_are_404_pages_in_the_users_language(demo_client: TestClient) -> None:
    login(demo_client, "owner@demo.test")
    for path in ("/visits/00000000-0000-4000-8000-000000000000", "/visits/not-a-uuid"):
        page = demo_client.get(path, headers={"accept-language": "fr"})
        assert page.status_code == 404
        assert "Cette visite n'existe pas." in html.unescape(page.text)
    assert demo_client.get("/visits/not-a-uuid.json").json()["error"]["code"] == "not_found"
    demo_client.delete("/api/v1/session")
    assert demo_client.get("/visits/not-a-uuid.json").status_code == 401


def test_an_approved_report_is_cached_by_etag(demo_client: TestClient, demo_dir: Path) -> None:
    visit = a_visit(demo_dir, "approved")
    login(demo_client, "owner@demo.test")
    first = demo_client.get(f"/visits/{visit['id']}")
    etag = first.headers["etag"]
    again = demo_client.get(f"/visits/{visit['id']}", headers={"if-none-match": etag})
    assert again.status_code == 304 and not again.content
    french = demo_client.get(
        f"/visits/{visit['id']}", headers={"if-none-match": etag, "accept-language": "fr"}
    )
    assert french.status_code == 200  # another language is another page
    login(demo_client, "reviewer@demo.test")
    pending = a_visit(demo_dir, "submitted")
    assert "etag" not in demo_client.get(f"/visits/{pending['id']}").headers


def test_where_the_phone_was_is_for_reviewers_only(demo_client: TestClient, demo_dir: Path) -> None:
    ((visit_id,),) = db_rows(
        demo_dir,
        "SELECT visit_uuid FROM visits WHERE state = 'approved' AND geo_lat IS NOT NULL"
        " AND branch_id IN (SELECT branch_id FROM branch_owners WHERE user_id ="
        " (SELECT id FROM users WHERE email = 'owner@demo.test')) LIMIT 1",
    )
    login(demo_client, "reviewer@demo.test")
    assert "from the branch" in demo_client.get(f"/visits/{visit_id}").text
    assert demo_client.get(f"/visits/{visit_id}.json").json()["location"]["distance_m"] < 500
    for email in ("owner@demo.test", "manager@demo.test"):
        demo_client.cookies.clear()
        login(demo_client, email)
        page = demo_client.get(f"/visits/{visit_id}")
        assert page.status_code == 200
        assert "from the branch" not in page.text and "GPS" not in page.text
        assert demo_client.get(f"/visits/{visit_id}.json").json()["location"] is None


def test_photos_that_prove_the_visit_are_listed_apart(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """A version whose checkout photo is proof of the visit: its photos head the report."""
    definition = {**load_default(), "version": 2}
    for section in definition["sections"]:
        for q in section["questions"]:
            if q["key"] == "checkout_photo":
                q["proof"] = True
    visit = a_visit(demo_dir, "approved", with_photo=True)
    db_write(
        demo_dir,
        [
            published_version(demo_dir, definition),
            ("UPDATE visits SET questionnaire_version = 2 WHERE visit_uuid = ?", (visit["id"],)),
        ],
    )
    proofs = db_rows(
        demo_dir,
        "SELECT p.id FROM photos p JOIN visit_photos vp ON vp.photo_id = p.id"
        " JOIN visits v ON v.id = vp.visit_id WHERE v.visit_uuid = ?"
        " AND vp.question_key = 'checkout_photo' AND p.received_at IS NOT NULL",
        (visit["id"],),
    )
    assert proofs, "the demo visit has a checkout photo"
    login(demo_client, "reviewer@demo.test")
    report = demo_client.get(f"/visits/{visit['id']}.json").json()
    assert [p["photo_id"] for p in report["proof"]] == [str(p) for (p,) in proofs]
    assert all(p["question"] == "checkout_photo" for p in report["proof"])
    page = demo_client.get(f"/visits/{visit['id']}").text
    proof = page.split('id="proof-h"')[1].split("</section>")[0]
    assert "Proof of visit" in page and f"/api/v1/photos/{proofs[0][0]}/thumb" in proof
    # A version without proof questions lists none.
    other = a_visit(demo_dir, "approved", owner="owner@demo.test")
    if other["id"] != visit["id"]:
        assert demo_client.get(f"/visits/{other['id']}.json").json()["proof"] == []
