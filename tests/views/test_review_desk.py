"""The review desk (issue "The agency at scale"): a queue that filters by branch, region,
shopper, warning and waiting time, sorts and pages with counts, shows late visits; on a
visit the decision comes after the report, with "approve and open the next", notes on
single answers and saved notes in the shopper's language, and a quality rating; visits
without warnings are approved in bulk; every decision says what happened, and deciding
twice is refused cleanly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from server.queries import review
from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import csrf_token, db_rows, db_write, login


def waiting(data: Path, where: str = "1 = 1", params: tuple[Any, ...] = ()) -> list[str]:
    return [
        r[0]
        for r in db_rows(
            data,
            f"SELECT visit_uuid FROM visits v WHERE state = 'submitted' AND {where}"
            " ORDER BY submitted_at, id",
            params,
        )
    ]


def make_short(data: Path, count: int = 2) -> None:
    """The newest ``count`` waiting visits lasted no time at all: a warning each."""
    db_write(
        data,
        [
            (
                "UPDATE visits SET ended_at = started_at WHERE id IN (SELECT id FROM visits"
                " WHERE state = 'submitted' ORDER BY submitted_at DESC LIMIT ?)",
                (count,),
            )
        ],
    )


def shown(html: str) -> list[str]:
    """The visits the queue page lists, in order."""
    return re.findall(r'<a href="/visits/([0-9a-f-]{36})', html.split('id="queue-h"')[1])


def test_the_queue_filters_sorts_and_pages_with_counts(
    demo_client: TestClient, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_short(demo_dir)
    login(demo_client, "reviewer@demo.test")
    everything = waiting(demo_dir)
    page = demo_client.get("/review").text
    assert f"{len(everything)} visits wait for review" in page
    assert shown(page) == everything  # oldest first
    # The warnings worked out for the queue are kept with each visit.
    clean = waiting(demo_dir, "warning_codes = ','")
    warned = waiting(demo_dir, "warning_codes <> ','")
    assert sorted(clean + warned) == sorted(everything) and clean and warned
    assert shown(demo_client.get("/review?warning=none").text) == clean
    assert shown(demo_client.get("/review?warning=any").text) == warned
    assert shown(demo_client.get("/review?warning=short_visit").text) == warned
    assert shown(demo_client.get("/review?warning=photo_reused").text) == []
    [(branch, region)] = db_rows(
        demo_dir,
        "SELECT b.id, b.region FROM visits v JOIN branches b ON b.id = v.branch_id"
        " WHERE v.visit_uuid = ?",
        (everything[0],),
    )
    assert shown(demo_client.get(f"/review?branch={branch}").text) == waiting(
        demo_dir, "branch_id = ?", (branch,)
    )
    assert shown(demo_client.get(f"/review?region={region}").text) == waiting(
        demo_dir, "branch_id IN (SELECT id FROM branches WHERE region = ?)", (region,)
    )
    [(shopper,)] = db_rows(
        demo_dir, "SELECT shopper_id FROM visits WHERE visit_uuid = ?", (everything[0],)
    )
    assert shown(demo_client.get(f"/review?shopper={shopper}").text) == waiting(
        demo_dir, "shopper_id = ?", (shopper,)
    )
    assert shown(demo_client.get("/review?sort=newest").text) == everything[::-1]
    # Pages of three, with the filter kept from page to page.
    monkeypatch.setattr(review, "PER_PAGE", 3)
    first = demo_client.get("/review?sort=newest").text
    assert shown(first) == everything[::-1][:3]
    assert "showing 1–3" in first and "Page 1 of" in first
    assert 'href="/review?sort=newest&amp;page=2"' in first
    second = demo_client.get("/review?sort=newest&page=2").text
    assert shown(second) == everything[::-1][3:6]
    # A value that cannot be read is left out, with a note: never an error.
    odd = demo_client.get("/review?branch=x&warning=bogus&waited=-3&sort=sideways&page=0")
    assert odd.status_code == 200 and "Ignored the filter branch" in odd.text


def test_late_visits_stand_out_by_the_programme_deadline(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    saved = demo_client.post(
        "/admin/programme",
        data={"csrf_token": csrf_token(demo_client, "/admin/programme"), "review_hours": "1"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert (
        demo_client.post(
            "/admin/programme",
            data={"csrf_token": csrf_token(demo_client, "/admin/programme"), "review_hours": "0"},
        ).status_code
        == 422
    )
    db_write(
        demo_dir,
        [
            (
                "UPDATE visits SET submitted_at = ? WHERE state = 'submitted' AND id = "
                "(SELECT max(id) FROM visits WHERE state = 'submitted')",
                ("2999-01-01T00:00:00+00:00",),
            )
        ],
    )
    login(demo_client, "reviewer@demo.test")
    page = demo_client.get("/review").text
    assert page.count('<tr class="late">') == len(waiting(demo_dir)) - 1
    assert "Late (over 1 h)" in page
    assert len(shown(demo_client.get("/review?waited=late").text)) == len(waiting(demo_dir)) - 1


def decide(client: TestClient, visit_id: str, decision: str, **form: str) -> Any:
    return client.post(
        f"/review/{visit_id}/{decision}",
        data={"csrf_token": csrf_token(client, f"/visits/{visit_id}"), **form},
        follow_redirects=False,
    )


def test_approve_and_open_the_next_keeps_the_queue_and_says_what_happened(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "reviewer@demo.test")
    demo_client.get("/review")  # (warnings kept)
    clean = waiting(demo_dir, "warning_codes = ','")
    page = demo_client.get(f"/visits/{clean[0]}?warning=none").text
    # The decision comes after the report.
    assert page.index('id="decide"') > page.index('id="total-h"')
    assert 'name="queue" value="warning=none"' in page
    went = decide(demo_client, clean[0], "approve", queue="warning=none", next="1")
    assert went.status_code == 303
    target = urlsplit(went.headers["location"])
    assert target.path == f"/visits/{clean[1]}"
    assert parse_qs(target.query) == {"warning": ["none"], "said": ["approved"], "n": ["1"]}
    assert "1 visit approved." in demo_client.get(went.headers["location"]).text
    # Deciding twice (another reviewer was first) is refused, and changes nothing.
    twice = decide(demo_client, clean[0], "reject", note="Too late.")
    assert twice.status_code == 409 and "not waiting for review any more" in twice.text
    assert db_rows(
        demo_dir,
        "SELECT state FROM visits WHERE visit_uuid = ? ORDER BY revision DESC LIMIT 1",
        (clean[0],),
    ) == [("approved",)]
    # A plain decision goes back to the queue the reviewer came from.
    back = decide(demo_client, clean[1], "approve", queue="warning=none&sort=newest")
    assert back.headers["location"] == "/review?warning=none&sort=newest&said=approved&n=1"


def test_a_rating_needs_a_reason_and_counts_on_the_visit(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "reviewer@demo.test")
    visit_id = waiting(demo_dir)[0]
    assert (
        decide(demo_client, visit_id, "approve", rating="11", rating_reason="x").status_code == 422
    )
    assert decide(demo_client, visit_id, "approve", rating="8").status_code == 422
    assert waiting(demo_dir)[0] == visit_id  # nothing decided
    done = decide(
        demo_client, visit_id, "approve", rating="8", rating_reason="Thorough, clear photos"
    )
    assert done.status_code == 303
    assert db_rows(
        demo_dir,
        "SELECT quality_rating, quality_reason FROM visits WHERE visit_uuid = ?"
        " AND state = 'approved'",
        (visit_id,),
    ) == [(8, "Thorough, clear photos")]


def test_bulk_approval_takes_only_visits_still_waiting_without_warnings(
    demo_client: TestClient, demo_dir: Path
) -> None:
    make_short(demo_dir)
    login(demo_client, "reviewer@demo.test")
    page = demo_client.get("/review").text
    clean = waiting(demo_dir, "warning_codes = ','")
    warned = waiting(demo_dir, "warning_codes <> ','")
    # The button names how many, and its confirmation too.
    assert f"Approve the {len(clean)} visits without warnings" in page
    assert f"Approve {len(clean)} visits that carry no warning?" in page
    assert decide(demo_client, clean[0], "reject", note="Wrong shop.").status_code == 303
    token = csrf_token(demo_client, "/review")
    response = demo_client.post(
        "/review/approve-many",
        data={"csrf_token": token, "visit": [*clean, warned[0]], "queue": "sort=newest"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    said = demo_client.get(response.headers["location"]).text
    assert f"{len(clean) - 1} visits approved." in said
    assert "2 were left as they were" in said
    assert waiting(demo_dir) == warned
    assert (
        db_rows(
            demo_dir,
            "SELECT count(*) FROM audit_log WHERE action = 'visit.approved'"
            " AND entity_id IN (SELECT visit_uuid FROM visits WHERE state = 'approved')",
        )[0][0]
        >= len(clean) - 1
    )
    for bad in ({"visit": "not-a-visit"}, {}):
        refused = demo_client.post("/review/approve-many", data={"csrf_token": token, **bad})
        assert refused.status_code == 422


def test_saved_notes_and_notes_on_answers_reach_the_shopper_in_their_language(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "reviewer@demo.test")
    token = csrf_token(demo_client, "/review/notes")
    partial = demo_client.post(
        "/review/notes", data={"csrf_token": token, "title": "Receipt", "text_en": "Add it."}
    )
    assert partial.status_code == 422 and "in each language" in partial.text
    made = demo_client.post(
        "/review/notes",
        data={
            "csrf_token": token,
            "title": "Receipt missing",
            "text_en": "Add a photo of the receipt.",
            "text_id": "Tambahkan foto struk.",
            "text_fr": "Ajoutez une photo du ticket.",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    [(note_id,)] = db_rows(demo_dir, "SELECT id FROM review_notes")
    db_write(demo_dir, [("UPDATE users SET locale = 'id' WHERE email = 'shopper@demo.test'", ())])
    login(demo_client, "shopper@demo.test")
    visit_id = new_id()
    sent = demo_client.put(
        f"/api/v1/visits/{visit_id}", json=visit_body(open_assignments(demo_client)[0])
    )
    assert sent.status_code == 201
    login(demo_client, "reviewer@demo.test")
    returned = decide(
        demo_client,
        visit_id,
        "return",
        saved_note=str(note_id),
        note="And the till count.",
        answer_note_tills="Count every till, open or not.",
    )
    assert returned.status_code == 303
    assert "1 visit returned to its shopper." in demo_client.get(returned.headers["location"]).text
    login(demo_client, "shopper@demo.test")
    [back] = demo_client.get("/api/v1/assignments").json()["returned_visits"]
    assert back["review_note"] == "Tambahkan foto struk.\n\nAnd the till count."
    assert back["questions"] == ["tills"]  # a note on an answer points at it
    assert back["answer_notes"] == {"tills": "Count every till, open or not."}
    # Removed from the library: no longer offered.
    login(demo_client, "reviewer@demo.test")
    gone = demo_client.post(
        f"/review/notes/{note_id}/archive",
        data={"csrf_token": csrf_token(demo_client, "/review/notes")},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert "Receipt missing" not in demo_client.get("/review/notes").text
