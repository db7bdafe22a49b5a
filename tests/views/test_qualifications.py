"""Qualifications (issue "The agency at scale"): the agency names certificates, gives
them to shoppers until a day or for good, and requires one on an assignment; a shopper
without it (or whose holding runs out before the window opens) can neither be given nor
claim the visit, nor sees it offered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import csrf_token, db_rows, login


def user_id(data: Path, email: str) -> int:
    return int(db_rows(data, "SELECT id FROM users WHERE email = ?", (email,))[0][0])


def admin_post(client: TestClient, path: str, page: str, **form: str) -> Any:
    login(client, "admin@demo.test")
    return client.post(
        path, data={"csrf_token": csrf_token(client, page), **form}, follow_redirects=False
    )


def new_qualification(client: TestClient, data: Path, name: str) -> int:
    made = admin_post(client, "/admin/qualifications", "/admin/qualifications", name=name)
    assert made.status_code == 303, made.text
    return int(db_rows(data, "SELECT id FROM qualifications WHERE name = ?", (name,))[0][0])


def grant(client: TestClient, data: Path, email: str, qualification: int, until: str = "") -> Any:
    shopper = user_id(data, email)
    return admin_post(
        client,
        f"/admin/users/{shopper}/qualifications",
        f"/admin/users/{shopper}",
        qualification=str(qualification),
        expires_on=until,
    )


def open_assignment(client: TestClient, data: Path, qualification: int) -> int:
    made = admin_post(
        client,
        "/admin/assignments",
        "/admin/assignments",
        shopper="open",
        questionnaire="default",
        branches="2",
        start="2027-06-01",
        end="2027-06-30",
        qualification=str(qualification),
    )
    assert made.status_code == 303, made.text
    return int(db_rows(data, "SELECT max(id) FROM assignments")[0][0])


def offered(client: TestClient) -> list[int]:
    login(client, "shopper@demo.test")
    return [a["id"] for a in client.get("/api/v1/assignments").json()["claimable"]]


def claim(client: TestClient, assignment: int) -> Any:
    login(client, "shopper@demo.test")
    return client.post(f"/api/v1/assignments/{assignment}/claim", json={})


def test_only_a_shopper_holding_the_qualification_sees_and_claims_the_visit(
    demo_client: TestClient, demo_dir: Path
) -> None:
    bank = new_qualification(demo_client, demo_dir, "Bank scenarios")
    again = admin_post(
        demo_client, "/admin/qualifications", "/admin/qualifications", name="bank  SCENARIOS"
    )
    assert again.status_code == 422 and "already a qualification" in again.text
    assignment = open_assignment(demo_client, demo_dir, bank)
    assert "requires Bank scenarios" in demo_client.get("/admin/assignments").text

    assert assignment not in offered(demo_client)
    refused = claim(demo_client, assignment)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_qualified"
    assert db_rows(demo_dir, "SELECT shopper_id FROM assignments WHERE id = ?", (assignment,)) == [
        (None,)
    ]

    # Held, but running out before the window opens: still not.
    assert grant(demo_client, demo_dir, "shopper@demo.test", bank, "2027-05-15").status_code == 303
    assert assignment not in offered(demo_client)
    assert claim(demo_client, assignment).status_code == 409
    login(demo_client, "admin@demo.test")
    shown = demo_client.get(f"/admin/users/{user_id(demo_dir, 'shopper@demo.test')}").text
    assert "Bank scenarios" in shown and "until" in shown

    # Renewed past the window: offered and claimed.
    assert grant(demo_client, demo_dir, "shopper@demo.test", bank, "2027-12-31").status_code == 303
    assert assignment in offered(demo_client)
    assert claim(demo_client, assignment).status_code == 200
    assert db_rows(
        demo_dir,
        "SELECT u.email FROM assignments a JOIN users u ON u.id = a.shopper_id WHERE a.id = ?",
        (assignment,),
    ) == [("shopper@demo.test",)]


def test_the_agency_cannot_give_the_visit_to_a_shopper_without_it(
    demo_client: TestClient, demo_dir: Path
) -> None:
    bank = new_qualification(demo_client, demo_dir, "Bank scenarios")
    other = user_id(demo_dir, "shopper2@demo.test")
    before = db_rows(demo_dir, "SELECT count(*) FROM assignments")
    named = admin_post(
        demo_client,
        "/admin/assignments",
        "/admin/assignments",
        shopper=str(other),
        questionnaire="default",
        branches="2",
        start="2027-06-01",
        end="2027-06-30",
        qualification=str(bank),
    )
    assert named.status_code == 422 and "does not hold the qualification" in named.text
    assert db_rows(demo_dir, "SELECT count(*) FROM assignments") == before
    assignment = open_assignment(demo_client, demo_dir, bank)
    given = admin_post(
        demo_client,
        f"/admin/assignments/{assignment}/shopper",
        "/admin/assignments",
        shopper=str(other),
    )
    assert given.status_code == 409 and "does not hold the qualification" in given.text
    assert grant(demo_client, demo_dir, "shopper2@demo.test", bank).status_code == 303
    given = admin_post(
        demo_client,
        f"/admin/assignments/{assignment}/shopper",
        "/admin/assignments",
        shopper=str(other),
    )
    assert given.status_code == 303
    # Taken away: the audit keeps both.
    revoked = admin_post(
        demo_client,
        f"/admin/users/{other}/qualifications/{bank}/revoke",
        f"/admin/users/{other}",
    )
    assert revoked.status_code == 303
    assert db_rows(demo_dir, "SELECT count(*) FROM shopper_qualifications") == [(0,)]
    assert db_rows(
        demo_dir,
        "SELECT action FROM audit_log WHERE action LIKE 'qualification.%' ORDER BY id",
    ) == [("qualification.created",), ("qualification.granted",), ("qualification.revoked",)]


def test_bad_qualification_forms_are_refused_clearly(
    demo_client: TestClient, demo_dir: Path
) -> None:
    bank = new_qualification(demo_client, demo_dir, "Bank scenarios")
    admin = user_id(demo_dir, "admin@demo.test")
    not_shopper = admin_post(
        demo_client,
        f"/admin/users/{admin}/qualifications",
        f"/admin/users/{admin}",
        qualification=str(bank),
    )
    assert not_shopper.status_code == 422 and "Only shoppers" in not_shopper.text
    assert grant(demo_client, demo_dir, "shopper@demo.test", 999999).status_code == 422
    bad_day = grant(demo_client, demo_dir, "shopper@demo.test", bank, "31/12/2027")
    assert bad_day.status_code == 422
    nameless = admin_post(demo_client, "/admin/qualifications", "/admin/qualifications", name=" ")
    assert nameless.status_code == 422
    unknown = admin_post(
        demo_client,
        "/admin/assignments",
        "/admin/assignments",
        shopper="open",
        questionnaire="default",
        branches="2",
        start="2027-06-01",
        end="2027-06-30",
        qualification="999999",
    )
    assert unknown.status_code == 422 and "Choose one of the qualifications" in unknown.text
    assert db_rows(demo_dir, "SELECT count(*) FROM shopper_qualifications") == [(0,)]
