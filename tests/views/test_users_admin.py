"""People: admins create users with roles, deactivate and reactivate, reset passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import csrf_token as token
from tests.conftest import db_rows, login


def user_id(data: Path, email: str) -> int:
    return int(db_rows(data, "SELECT id FROM users WHERE email = ?", (email,))[0][0])


def test_an_admin_adds_an_owner_who_sees_their_branches(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    branches = [
        str(r[0])
        for r in db_rows(demo_dir, "SELECT id FROM branches WHERE code IN ('JBR-DGO', 'JBR-BRG')")
    ]
    response = demo_client.post(
        "/admin/users",
        follow_redirects=False,
        data={
            "csrf_token": token(demo_client),
            "name": "Budi Owner",
            "email": "budi@example.com",
            "role": "owner",
            "password": "a long enough password",
            "branches": branches,
        },
    )
    assert response.status_code == 303
    assert "budi@example.com" in demo_client.get("/admin/users").text
    login(demo_client, "budi@example.com", "a long enough password")
    home = demo_client.get("/").text
    assert "Toko Contoh Dago" in home and "Toko Contoh Menteng" not in home


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"email": "admin@demo.test"}, "already has that email"),
        ({"email": "not-an-email"}, "valid email"),
        ({"password": "short"}, "at least 10 characters"),
        ({"role": "owner"}, "An owner needs at least one branch"),
        ({"role": "manager"}, "A manager needs at least one chain"),
        ({"role": "emperor"}, "Choose a role"),
    ],
)
def test_bad_new_users_are_refused_clearly(
    demo_client: TestClient, demo_dir: Path, form: dict[str, str], message: str
) -> None:
    login(demo_client, "admin@demo.test")
    before = db_rows(demo_dir, "SELECT count(*) FROM users")
    data = {
        "csrf_token": token(demo_client),
        "name": "X",
        "email": "x@example.com",
        "role": "reviewer",
        "password": "a long enough password",
        **form,
    }
    response = demo_client.post("/admin/users", data=data)
    assert response.status_code == 422 and message in response.text
    assert db_rows(demo_dir, "SELECT count(*) FROM users") == before


def test_deactivating_ends_access_and_keeps_past_visits(
    demo_client: TestClient, demo_dir: Path
) -> None:
    shopper = user_id(demo_dir, "shopper2@demo.test")
    visits = db_rows(demo_dir, "SELECT count(*) FROM visits WHERE shopper_id = ?", (shopper,))
    other = TestClient(demo_client.app)
    login(other, "shopper2@demo.test")
    login(demo_client, "admin@demo.test")
    demo_client.post(f"/admin/users/{shopper}/deactivate", data={"csrf_token": token(demo_client)})
    assert other.get("/api/v1/session").status_code == 401  # the session ended
    refused = demo_client.post(
        "/api/v1/session", json={"email": "shopper2@demo.test", "password": "visitscore-demo"}
    )
    assert refused.status_code == 401
    assert (
        db_rows(demo_dir, "SELECT count(*) FROM visits WHERE shopper_id = ?", (shopper,)) == visits
    )
    demo_client.post(f"/admin/users/{shopper}/activate", data={"csrf_token": token(demo_client)})
    login(demo_client, "shopper2@demo.test")


def test_the_last_admin_cannot_be_deactivated(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "admin@demo.test")
    admin = user_id(demo_dir, "admin@demo.test")
    response = demo_client.post(
        f"/admin/users/{admin}/deactivate", data={"csrf_token": token(demo_client)}
    )
    assert response.status_code == 409 and "last admin" in response.text
    assert db_rows(demo_dir, "SELECT active FROM users WHERE id = ?", (admin,)) == [(1,)]


def test_a_new_role_and_memberships_apply_at_once(demo_client: TestClient, demo_dir: Path) -> None:
    owner = user_id(demo_dir, "owner@demo.test")
    login(demo_client, "owner@demo.test")
    assert demo_client.get("/branches/9").status_code == 404  # a Bali branch: not theirs
    owner_session = demo_client.cookies.get("vs_session")
    login(demo_client, "admin@demo.test")
    assert "Role and memberships" in demo_client.get(f"/admin/users/{owner}").text
    response = demo_client.post(
        f"/admin/users/{owner}/role",
        data={"csrf_token": token(demo_client), "role": "owner", "branches": ["1", "9"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert db_rows(
        demo_dir, "SELECT branch_id FROM branch_owners WHERE user_id = ? ORDER BY 1", (owner,)
    ) == [(1,), (9,)]
    demo_client.cookies.clear()
    demo_client.cookies.set("vs_session", owner_session or "")
    assert demo_client.get("/branches/9").status_code == 200
    assert demo_client.get("/branches/2").status_code == 404


def test_roles_keep_their_rules(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "admin@demo.test")
    admin = user_id(demo_dir, "admin@demo.test")
    demoted = demo_client.post(
        f"/admin/users/{admin}/role", data={"csrf_token": token(demo_client), "role": "reviewer"}
    )
    assert demoted.status_code == 409 and "last admin" in demoted.text
    owner = user_id(demo_dir, "owner@demo.test")
    bare = demo_client.post(
        f"/admin/users/{owner}/role", data={"csrf_token": token(demo_client), "role": "owner"}
    )
    assert bare.status_code == 422 and "at least one branch" in bare.text
    assert db_rows(demo_dir, "SELECT role FROM users WHERE id = ?", (admin,)) == [("admin",)]
    assert demo_client.get("/admin/users/99999").status_code == 404


def test_a_password_reset_takes_effect(demo_client: TestClient, demo_dir: Path) -> None:
    owner = user_id(demo_dir, "owner2@demo.test")
    login(demo_client, "admin@demo.test")
    short = demo_client.post(
        f"/admin/users/{owner}/password",
        data={"csrf_token": token(demo_client), "password": "short"},
    )
    assert short.status_code == 422
    demo_client.post(
        f"/admin/users/{owner}/password",
        data={"csrf_token": token(demo_client), "password": "brand new password"},
    )
    login(demo_client, "owner2@demo.test", "brand new password")
    assert db_rows(
        demo_dir,
        "SELECT action FROM audit_log WHERE entity = 'user' AND"
        " entity_id = ? ORDER BY id DESC LIMIT 1",
        (str(owner),),
    ) == [("user.password_reset",)]


@pytest.mark.parametrize(
    "email", ["reviewer@demo.test", "manager@demo.test", "owner@demo.test", "shopper@demo.test"]
)
def test_only_admins_manage_people(demo_client: TestClient, demo_dir: Path, email: str) -> None:
    login(demo_client, email)
    assert demo_client.get("/admin/users").status_code == 403
    target = user_id(demo_dir, "shopper3@demo.test")
    response = demo_client.post(
        f"/admin/users/{target}/deactivate", data={"csrf_token": token(demo_client)}
    )
    assert response.status_code == 403
