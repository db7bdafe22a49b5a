"""People from a CSV file (issue "The agency at scale"): `visitscore import-users FILE`
and the People page take every row or none, list every bad row by its line, give
shoppers their profile, owners their branches and managers their chains, and invite
everyone by e-mail."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from starlette.testclient import TestClient

from server.cli import main
from tests.conftest import csrf_token, db_rows, login

GOOD = (
    "email,name,role,locale,branches,chains,phone,languages,home_city,home_region,state\n"
    'dewi@example.test,Dewi Lestari,shopper,id,,,+62 811 222 333,"id, en",Bandung,'
    "Jawa Barat,applicant\n"
    "marc@example.test,Marc Dubois,owner,fr,JKT-01 JKT-02,,,,,,\n"
    "\n"
    "head@example.test,Head Office,manager,,,DEMO,,,,,\n"
)


def people(data: Path) -> list[tuple[str, str]]:
    return [
        (email, role)
        for email, role in db_rows(
            data, "SELECT email, role FROM users WHERE email LIKE '%@example.test' ORDER BY email"
        )
    ]


def test_the_command_adds_everyone_with_their_memberships_and_invites_them(
    demo_dir: Path, tmp_path: Path
) -> None:
    [(chain,)] = db_rows(demo_dir, "SELECT code FROM chains ORDER BY id LIMIT 1")
    codes = [r[0] for r in db_rows(demo_dir, "SELECT code FROM branches ORDER BY id LIMIT 2")]
    text = GOOD.replace("JKT-01 JKT-02", " ".join(codes)).replace("DEMO", chain)
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import-users", str(path), "--data-dir", str(demo_dir)])
    assert result.exit_code == 0, result.output
    assert "Added 3 people" in result.output
    assert people(demo_dir) == [
        ("dewi@example.test", "shopper"),
        ("head@example.test", "manager"),
        ("marc@example.test", "owner"),
    ]
    assert db_rows(
        demo_dir,
        "SELECT p.state, p.phone, p.languages, p.home_city FROM shopper_profiles p"
        " JOIN users u ON u.id = p.user_id WHERE u.email = 'dewi@example.test'",
    ) == [("applicant", "+62 811 222 333", "id,en", "Bandung")]
    assert db_rows(
        demo_dir,
        "SELECT count(*) FROM branch_owners o JOIN users u ON u.id = o.user_id"
        " WHERE u.email = 'marc@example.test'",
    ) == [(2,)]
    assert db_rows(
        demo_dir,
        "SELECT count(*) FROM notifications WHERE kind = 'invitation'",
    ) == [(3,)]


def test_one_bad_row_adds_nobody_and_every_bad_row_is_listed(
    demo_dir: Path, tmp_path: Path
) -> None:
    bad = (
        "email,name,role,branches,phone,home_lat\n"
        "ok@example.test,Fine Person,reviewer,,,\n"  # line 2: fine
        "not-an-address,Someone,shopper,,,\n"  # line 3
        "admin@demo.test,Taken,admin,,,\n"  # line 4
        "x@example.test,X,chef,,,\n"  # line 5
        "o@example.test,Owner,owner,NOPE,,\n"  # line 6
        "r@example.test,Rev,reviewer,,+62 1,\n"  # line 7: a phone is a shopper's
        "ok@example.test,Twice,reviewer,,,\n"  # line 8
        "s@example.test,Shop,shopper,,,-6.2\n"  # line 9: a latitude without longitude
    )
    path = tmp_path / "bad.csv"
    path.write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(main, ["import-users", str(path), "--data-dir", str(demo_dir)])
    assert result.exit_code != 0
    for line in (3, 4, 5, 6, 7, 8, 9):
        assert f"line {line}:" in result.output, line
    assert "line 2:" not in result.output
    assert "nobody was added" in result.output
    assert people(demo_dir) == []


def test_the_people_page_imports_the_same_file_all_or_nothing(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    token = csrf_token(demo_client, "/admin/users")
    wrong = demo_client.post(
        "/admin/users/import",
        data={"csrf_token": token},
        files={"file": ("people.csv", b"email,name\nx@example.test,X\n", "text/csv")},
    )
    assert wrong.status_code == 422 and "missing column &#39;role&#39;" in wrong.text
    good = "email,name,role,languages\nnew@example.test,New Shopper,shopper,fr\n"
    done = demo_client.post(
        "/admin/users/import",
        data={"csrf_token": token},
        files={"file": ("people.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = demo_client.get(done.headers["location"]).text
    assert "1 person added and invited by e-mail." in page
    assert people(demo_dir) == [("new@example.test", "shopper")]


def test_the_people_list_is_searched_filtered_and_paged(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    [(everyone,)] = db_rows(demo_dir, "SELECT count(*) FROM users")
    page = demo_client.get("/admin/users").text
    assert f"{everyone} people" in page
    assert '<option value="" selected>Choose a role</option>' in page  # no role chosen
    shoppers = demo_client.get("/admin/users?role=shopper").text
    assert "3 people" in shoppers and "Sari Shopper" in shoppers
    assert "1 person" in demo_client.get("/admin/users?q=sari").text
    assert demo_client.get("/admin/users?role=chef&page=-1").status_code == 200


def test_the_people_page_has_a_plain_title(demo_client: TestClient) -> None:
    login(demo_client, "admin@demo.test")
    assert "<title>People · Visitscore</title>" in demo_client.get("/admin/users").text
