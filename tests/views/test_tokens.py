"""Read-only API tokens (issue "Telling people"): made by an admin or a chain's manager
(or `visitscore create-token`), shown once, kept hashed; a token reads its chain's JSON
reports and exports with a bearer header and is refused elsewhere and once revoked."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from starlette.testclient import TestClient

from server.cli import main
from tests.conftest import csrf_token, db_rows, db_write, login


def make(client: TestClient, chain: int = 1, name: str = "Power BI") -> str:
    login(client, "manager@demo.test")
    answer = client.post(
        f"/chains/{chain}/tokens",
        data={"csrf_token": csrf_token(client, f"/chains/{chain}/tokens"), "name": name},
    )
    assert answer.status_code == 201, answer.text[:300]
    assert answer.headers["cache-control"] == "no-store"
    found = re.search(r"<code>(vst_[A-Za-z0-9_-]+)</code>", answer.text)
    assert found
    return found.group(1)


def bearer(client: TestClient, token: str, path: str, method: str = "GET") -> int:
    client.cookies.clear()
    return client.request(method, path, headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_token_reads_its_chains_reports_and_nothing_else(
    demo_client: TestClient, demo_dir: Path
) -> None:
    token = make(demo_client)
    assert db_rows(demo_dir, "SELECT count(*) FROM api_tokens WHERE token_hash LIKE 'vst_%'") == [
        (0,)
    ]  # only its hash is kept
    # A second chain the token is not for.
    db_write(
        demo_dir,
        [
            (
                "INSERT INTO chains (code, name, created_at)"
                " VALUES ('OTHER', 'Other', '2026-01-01')",
                (),
            ),
            (
                "INSERT INTO branches (chain_id, code, name, region, created_at)"
                " SELECT id, 'O-1', 'Other one', 'X', '2026-01-01' FROM chains"
                " WHERE code = 'OTHER'",
                (),
            ),
        ],
    )
    other_chain, other_branch = db_rows(
        demo_dir,
        "SELECT c.id, b.id FROM chains c JOIN branches b ON b.chain_id = c.id"
        " WHERE c.code = 'OTHER'",
    )[0]
    (visit,) = db_rows(
        demo_dir,
        "SELECT visit_uuid FROM visits v WHERE state = 'approved' AND branch_id = 1 LIMIT 1",
    )[0]
    for path in (
        "/chains/1/compare.json",
        "/branches/1.json",
        f"/visits/{visit}.json",
        "/chains/1/compare.csv",
        "/chains/1/visits.csv?from=2026-11&to=2026-11",
    ):
        assert bearer(demo_client, token, path) == 200, path
    compared = demo_client.get(
        "/chains/1/compare.json", headers={"Authorization": f"Bearer {token}"}
    )
    assert len(compared.json()["branches"]) == 12
    assert bearer(demo_client, token, f"/chains/{other_chain}/compare.json") == 404
    assert bearer(demo_client, token, f"/branches/{other_branch}.json") == 404
    assert bearer(demo_client, token, "/chains/1/compare") == 403  # a page, not a report
    assert bearer(demo_client, token, "/admin/users") == 403
    assert bearer(demo_client, token, "/chains/1/exports", "POST") == 403  # read-only
    refused = demo_client.get("/chains/1/compare", headers={"Authorization": f"Bearer {token}"})
    assert "only reads the JSON reports and the exports" in refused.text
    assert db_rows(demo_dir, "SELECT last_used_at IS NOT NULL FROM api_tokens") == [(1,)]

    login(demo_client, "manager@demo.test")
    page = demo_client.get("/chains/1/tokens")
    assert "Power BI" in page.text and token not in page.text  # never shown again
    (token_id,) = db_rows(demo_dir, "SELECT id FROM api_tokens")[0]
    revoked = demo_client.post(
        f"/chains/1/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(demo_client, "/chains/1/tokens")},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert bearer(demo_client, token, "/chains/1/compare.json") == 401
    assert bearer(demo_client, "vst_not-a-token", "/chains/1/compare.json") == 401


def test_who_may_make_tokens(demo_client: TestClient, demo_dir: Path) -> None:
    make(demo_client, name="one")
    for email, status in (
        ("owner@demo.test", 403),
        ("reviewer@demo.test", 403),
        ("shopper@demo.test", 404),
    ):
        login(demo_client, email)
        assert demo_client.get("/chains/1/tokens").status_code == status, email
    login(demo_client, "manager@demo.test")
    csrf = csrf_token(demo_client, "/chains/1/tokens")
    assert (
        demo_client.post("/chains/1/tokens", data={"csrf_token": csrf, "name": "one"}).status_code
        == 409
    )
    assert (
        demo_client.post("/chains/1/tokens", data={"csrf_token": csrf, "name": "<b>"}).status_code
        == 422
    )
    assert db_rows(demo_dir, "SELECT count(*) FROM api_tokens") == [(1,)]


def test_the_command_line_makes_and_revokes_tokens(demo_client: TestClient, demo_dir: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        main, ["create-token", "--name", "Looker", "--chain", "TOKO", "--data-dir", str(demo_dir)]
    )
    assert made.exit_code == 0, made.output
    token = made.output.strip()
    assert token.startswith("vst_")
    assert bearer(demo_client, token, "/chains/1/compare.json") == 200
    again = runner.invoke(
        main, ["create-token", "--name", "Looker", "--chain", "TOKO", "--data-dir", str(demo_dir)]
    )
    assert again.exit_code != 0 and "already exists" in again.output
    gone = runner.invoke(main, ["revoke-token", "Looker", "--data-dir", str(demo_dir)])
    assert gone.exit_code == 0 and "Revoked Looker" in gone.output
    assert bearer(demo_client, token, "/chains/1/compare.json") == 401
