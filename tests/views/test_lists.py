"""Lists that find anything (issue "The agency at scale"): the agency's lists of
assignments and branches are searched, filtered, paged with their totals, and stop at no
silent limit; giving a visit picks the shopper by name or address from a list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.queries import assignments, chains
from server.views import pickers
from tests.conftest import csrf_token, db_rows, db_write, login


def listed_assignments(html: str) -> int:
    return len(re.findall(r'action="/admin/assignments/\d+/cancel"', html))


def test_assignments_are_paged_with_their_total_and_filtered(
    demo_client: TestClient, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(open_count,)] = db_rows(demo_dir, "SELECT count(*) FROM assignments WHERE state = 'open'")
    [(done_count,)] = db_rows(demo_dir, "SELECT count(*) FROM assignments WHERE state = 'done'")
    login(demo_client, "admin@demo.test")
    monkeypatch.setattr(assignments, "PER_PAGE", 2)
    first = demo_client.get("/admin/assignments").text
    assert f'Open assignments <span class="muted">({open_count})</span>' in first
    assert listed_assignments(first) == min(2, open_count)
    pages = -(-open_count // 2)
    last = demo_client.get(f"/admin/assignments?page={pages}").text
    assert listed_assignments(last) == open_count - 2 * (pages - 1)
    done = demo_client.get("/admin/assignments?state=done").text
    assert f'Assignments done <span class="muted">({done_count})</span>' in done
    assert listed_assignments(done) == 0  # a done assignment cannot be moved or cancelled
    [(kemang,)] = db_rows(
        demo_dir,
        "SELECT count(*) FROM assignments a JOIN branches b ON b.id = a.branch_id"
        " WHERE a.state = 'open' AND b.name LIKE '%Kemang%'",
    )
    searched = demo_client.get("/admin/assignments?q=kemang").text
    assert f"({kemang})" in searched


def test_a_visit_open_to_claim_is_given_by_the_shoppers_address(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    made = demo_client.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf_token(demo_client, "/admin/assignments"),
            "shopper": "open",
            "questionnaire": "default",
            "branches": "2",
            "start": "2027-06-01",
            "end": "2027-06-30",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    [(assignment,)] = db_rows(demo_dir, "SELECT max(id) FROM assignments")
    page = demo_client.get("/admin/assignments?claim=unclaimed").text
    assert '<option value="shopper3@demo.test">' in page
    token = csrf_token(demo_client, "/admin/assignments")
    unknown = demo_client.post(
        f"/admin/assignments/{assignment}/shopper",
        data={"csrf_token": token, "shopper": "nobody@demo.test"},
    )
    assert unknown.status_code == 422
    given = demo_client.post(
        f"/admin/assignments/{assignment}/shopper",
        data={"csrf_token": token, "shopper": "shopper3@demo.test"},
        follow_redirects=False,
    )
    assert given.status_code == 303
    assert db_rows(
        demo_dir,
        "SELECT u.email FROM assignments a JOIN users u ON u.id = a.shopper_id WHERE a.id = ?",
        (assignment,),
    ) == [("shopper3@demo.test",)]


def test_branches_are_searched_filtered_and_paged(
    demo_client: TestClient, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(everything,)] = db_rows(demo_dir, "SELECT count(*) FROM branches WHERE active = 1")
    login(demo_client, "admin@demo.test")
    monkeypatch.setattr(chains, "BRANCHES_PER_PAGE", 5)
    page = demo_client.get("/admin/branches").text
    assert f"{everything} branches" in page and "Page 1 of" in page
    assert page.count('<th scope="row"><a href="/admin/branches/') == 5
    bali = demo_client.get("/admin/branches?region=Bali").text
    assert "4 branches" in bali and "Toko Contoh Kuta" in bali
    assert "1 branch" in demo_client.get("/admin/branches?q=kuta").text
    db_write(demo_dir, [("UPDATE branches SET city = 'Ubud Kaja' WHERE name LIKE '%Ubud%'", ())])
    assert "1 branch" in demo_client.get("/admin/branches?q=kaja").text
    assert demo_client.get("/admin/branches?chain=x&page=zero").status_code == 200


def test_questionnaires_are_searched_by_title_or_identifier(demo_client: TestClient) -> None:
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/admin/questionnaires").text
    assert "1 of 1 questionnaires" in page
    assert "1 of 1 questionnaires" in demo_client.get("/admin/questionnaires?q=DEFAULT").text
    nothing = demo_client.get("/admin/questionnaires?q=bakery").text
    assert (
        "0 of 1 questionnaires" in nothing and 'href="/admin/questionnaires/default"' not in nothing
    )


def test_beyond_a_few_hundred_branches_forms_take_codes_and_search_the_server(
    demo_client: TestClient, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pickers, "PICKER_MAX", 5)
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/admin/users").text
    assert 'name="branch_codes"' in page and 'data-lookup="/admin/branches.json"' in page
    assert "Toko Contoh Kuta" not in page  # not every branch in the page any more
    found = demo_client.get("/admin/branches.json?q=kuta").json()
    assert found["total"] == 1 and found["branches"][0]["name"] == "Toko Contoh Kuta"
    [(kuta, code)] = db_rows(demo_dir, "SELECT id, code FROM branches WHERE name LIKE '%Kuta'")
    [(other,)] = db_rows(demo_dir, "SELECT id FROM branches WHERE name LIKE '%Ubud'")
    token = csrf_token(demo_client, "/admin/users")
    form = {"csrf_token": token, "name": "Kadek", "email": "kadek@example.test", "role": "owner"}
    refused = demo_client.post("/admin/users", data={**form, "branch_codes": "NOPE"})
    assert refused.status_code == 422 and "No branch has the code NOPE" in refused.text
    made = demo_client.post(
        "/admin/users",
        data={**form, "branch_codes": code, "branches": str(other)},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert sorted(
        r[0]
        for r in db_rows(
            demo_dir,
            "SELECT o.branch_id FROM branch_owners o JOIN users u ON u.id = o.user_id"
            " WHERE u.email = 'kadek@example.test'",
        )
    ) == sorted([kuta, other])


def test_the_start_page_pages_the_branches_a_role_sees_and_finds_one(
    demo_client: TestClient, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chains, "BRANCHES_PER_PAGE", 5)
    [(everything,)] = db_rows(demo_dir, "SELECT count(*) FROM branches WHERE active = 1")
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/").text
    assert page.count('<th scope="row"><a href="/branches/') == 5
    assert f"Page 1 of {-(-everything // 5)}" in page
    assert f"<dd>{everything}</dd>" in page  # the programme's total, not the page's
    found = demo_client.get("/?q=kuta").text
    assert found.count('<th scope="row"><a href="/branches/') == 1 and "Toko Contoh Kuta" in found
    login(demo_client, "manager@demo.test")
    assert demo_client.get("/").text.count('<th scope="row"><a href="/branches/') == 5


def test_beyond_a_few_hundred_shoppers_the_agency_types_the_address(
    demo_client: TestClient, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pickers, "PICKER_MAX", 1)
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/admin/assignments").text
    assert 'name="shopper_email"' in page and ">Sam Shopper</option>" not in page
    made = demo_client.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf_token(demo_client, "/admin/assignments"),
            "shopper_email": "shopper3@demo.test",
            "questionnaire": "default",
            "branches": "2",
            "start": "2027-06-01",
            "end": "2027-06-30",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    assert db_rows(
        demo_dir,
        "SELECT u.email FROM assignments a JOIN users u ON u.id = a.shopper_id"
        " WHERE a.id = (SELECT max(id) FROM assignments)",
    ) == [("shopper3@demo.test",)]
