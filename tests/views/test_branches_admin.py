"""Chains and branches in the browser: by form, or from a CSV file that is stored whole or
not at all, with every bad row named by its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import csrf_token, db_rows, login

PAGE = "/admin/branches"


def post(client: TestClient, path: str, **form: Any) -> Any:
    token = csrf_token(client, PAGE)
    return client.post(path, data={"csrf_token": token, **form}, follow_redirects=False)


def test_a_chain_and_a_branch_by_form(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "admin@demo.test")
    assert post(demo_client, "/admin/chains", code="ROTI", name="Roti Enak").status_code == 303
    [(chain_id,)] = db_rows(demo_dir, "SELECT id FROM chains WHERE code = 'ROTI'")
    response = post(
        demo_client,
        PAGE,
        chain=str(chain_id),
        name="Roti Enak Kemang",
        code="KMG",
        region="South",
        city="Jakarta",
        address="Jl. Kemang Raya 5",
        latitude="-6,26",
        longitude="106.81",
        timezone="Asia/Jakarta",
    )
    assert response.status_code == 303, response.text
    rows = db_rows(
        demo_dir,
        "SELECT name, region, latitude, longitude, timezone FROM branches WHERE code = 'KMG'",
    )
    assert rows == [("Roti Enak Kemang", "South", -6.26, 106.81, "Asia/Jakarta")]
    assert "Roti Enak Kemang" in demo_client.get(PAGE).text
    actions = db_rows(demo_dir, "SELECT action FROM audit_log WHERE entity = 'chain'")
    assert ("chain.created",) in actions and ("branches.added",) in actions


def test_a_bad_branch_form_says_what_is_wrong_and_keeps_the_input(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    before = db_rows(demo_dir, "SELECT count(*) FROM branches")
    [(chain_id, code)] = db_rows(demo_dir, "SELECT chain_id, code FROM branches LIMIT 1")
    response = post(
        demo_client,
        PAGE,
        chain=str(chain_id),
        name="Twin",
        code=code,
        region="",
        latitude="95",
        longitude="",
        timezone="Mars/Olympus",
    )
    assert response.status_code == 422
    for message in (
        "region is required",
        "is already a branch of this chain",
        "latitude must be a number from -90 to 90",
        "is not a time zone",
    ):
        assert message in response.text, message
    assert 'value="Twin"' in response.text
    half = post(
        demo_client,
        PAGE,
        chain=str(chain_id),
        name="N",
        code="N1",
        region="R",
        latitude="-6.2",
        timezone="UTC",
    )
    assert half.status_code == 422 and "give both latitude and longitude" in half.text
    assert db_rows(demo_dir, "SELECT count(*) FROM branches") == before
    duplicate = post(demo_client, "/admin/chains", code="demo", name="")
    assert duplicate.status_code == 422


def test_csv_import_is_all_or_nothing(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "admin@demo.test")
    [(chain_id,)] = db_rows(demo_dir, "SELECT id FROM chains LIMIT 1")
    before = db_rows(demo_dir, "SELECT count(*) FROM branches")
    bad = (
        b"name,code,region,city,latitude,longitude,timezone\n"
        b"Good One,G1,East,Surabaya,-7.25,112.75,Asia/Jakarta\n"
        b",G2,East,,,,\n"
        b"Dup,G1,East,,,,\n"
    )
    token = csrf_token(demo_client, PAGE)
    response = demo_client.post(
        "/admin/branches/import",
        data={"csrf_token": token, "chain": str(chain_id)},
        files={"file": ("branches.csv", bad, "text/csv")},
    )
    assert response.status_code == 422
    assert "line 3: name is required" in response.text
    assert "line 4: code &#39;G1&#39; is also on line 2" in response.text
    assert db_rows(demo_dir, "SELECT count(*) FROM branches") == before
    good = bad.split(b"\n")[0] + b"\n" + bad.split(b"\n")[1] + b"\nTwo,G3,East,,,,UTC\n"
    response = demo_client.post(
        "/admin/branches/import",
        data={"csrf_token": token, "chain": str(chain_id)},
        files={"file": ("branches.csv", good, "text/csv")},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "2 branches were added." in response.text
    assert db_rows(demo_dir, "SELECT count(*) FROM branches")[0][0] == before[0][0] + 2


def test_a_branch_is_corrected_and_keeps_its_visits(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    visits_before = db_rows(demo_dir, "SELECT count(*) FROM visits WHERE branch_id = 1")
    page = demo_client.get("/admin/branches/1")
    assert page.status_code == 200 and 'value="Toko Contoh Menteng"' in page.text
    [(code_2,)] = db_rows(demo_dir, "SELECT code FROM branches WHERE id = 2")
    fields = {
        "name": "Toko Contoh Menteng Baru",
        "code": code_2,  # taken by another branch of the chain
        "region": "Jakarta",
        "timezone": "Asia/Jakarta",
        "latitude": "-6.19",
        "longitude": "106.83",
    }
    clash = post(demo_client, "/admin/branches/1", **fields)
    assert clash.status_code == 422 and "is already a branch of this chain" in clash.text
    [(own_code,)] = db_rows(demo_dir, "SELECT code FROM branches WHERE id = 1")
    saved = post(demo_client, "/admin/branches/1", **{**fields, "code": own_code})
    assert saved.status_code == 303
    assert db_rows(demo_dir, "SELECT name, latitude FROM branches WHERE id = 1") == [
        ("Toko Contoh Menteng Baru", -6.19)
    ]
    assert db_rows(demo_dir, "SELECT count(*) FROM visits WHERE branch_id = 1") == visits_before
    assert demo_client.get("/admin/branches/999").status_code == 404
