"""Importing an outbox file that the shopper app exported (issue "The shopper app on real
phones"): ``visitscore import-outbox`` and the admins' page, through the same path as a
sync. (The browser test of the app's own export is tests/browser/test_app_phone.py.)"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server.cli import main
from tests.api.conftest import jpeg_bytes, manifest, new_id, open_assignments, visit_body
from tests.conftest import csrf_token, db_rows, login


def shopper_assignments(
    client: TestClient, email: str = "shopper@demo.test"
) -> list[dict[str, Any]]:
    login(client, email)
    return open_assignments(client)


def item(body: dict[str, Any], visit_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """An outbox item as the app keeps it."""
    return {
        "visit_id": visit_id or new_id(),
        "revision": body.get("revision"),
        "body": body,
        "state": "waiting",
        "attempts": 3,
        "created": 1764000000000,
        "title": "Toko Contoh",
        **extra,
    }


def photo_entry(visit_id: str, photo: dict[str, Any], data: bytes) -> dict[str, Any]:
    return {
        "photo_id": photo["photo_id"],
        "visit_id": visit_id,
        "content_type": "image/jpeg",
        "sha256": photo["sha256"],
        "data_base64": base64.b64encode(data).decode(),
    }


def outbox_file(
    visits: list[dict[str, Any]], photos: list[dict[str, Any]], drafts: list[Any] = ()
) -> bytes:  # type: ignore[assignment]
    return json.dumps(
        {
            "format": "visitscore-outbox",
            "version": 1,
            "exported_at": "2026-11-24T18:00:00+07:00",
            "visits": visits,
            "drafts": list(drafts),
            "photos": photos,
        }
    ).encode()


def a_file(client: TestClient) -> tuple[bytes, dict[str, str]]:
    """A phone's outbox: a visit with its photo, a visit whose photo bytes were damaged,
    a visit of another shopper's assignment claimed to be this shopper's, one not even a
    visit, and a draft."""
    mine = shopper_assignments(client)
    theirs = shopper_assignments(client, "shopper2@demo.test")
    sari = user_id(client, "shopper@demo.test")
    good_photo = jpeg_bytes()
    good_meta = manifest(good_photo)
    good = item(visit_body(mine[0], photos=[good_meta]), owner=sari)
    bad_photo = jpeg_bytes(color=(200, 10, 10))
    bad_meta = manifest(bad_photo)
    damaged = item(visit_body(mine[1], photos=[bad_meta]), owner=sari)
    wrong = item(visit_body(theirs[0]), owner=sari)
    broken = item({"assignment_id": "x"})
    draft = {"visit_id": new_id(), "branch_name": "Toko Draft", "answers": {}}
    raw = outbox_file(
        [good, damaged, wrong, broken],
        [
            photo_entry(good["visit_id"], good_meta, good_photo),
            photo_entry(damaged["visit_id"], bad_meta, bad_photo[:-10] + b"0123456789"),
        ],
        [draft],
    )
    ids = {
        "good": good["visit_id"],
        "damaged": damaged["visit_id"],
        "wrong": wrong["visit_id"],
        "broken": broken["visit_id"],
        "draft": draft["visit_id"],
    }
    return raw, ids


def user_id(client: TestClient, email: str) -> int:
    login(client, email)
    return int(client.get("/api/v1/session").json()["user"]["id"])


def test_the_command_imports_what_it_can_and_says_what_became_of_each(
    demo_client: TestClient, demo_dir: Path, tmp_path: Path
) -> None:
    raw, ids = a_file(demo_client)
    path = tmp_path / "visitscore-outbox-2026-11-24.json"
    path.write_bytes(raw)
    runner = CliRunner()
    result = runner.invoke(main, ["import-outbox", str(path), "--data-dir", str(demo_dir)])
    assert result.exit_code == 1, result.output
    lines = dict(line.split(" (Toko", 1) for line in result.stdout.splitlines())
    assert lines[ids["good"]].endswith(": stored")
    assert "refused: the visit is stored, but photos were refused" in lines[ids["damaged"]]
    assert "do not match its SHA-256" in lines[ids["damaged"]]
    assert "refused: recorded by another shopper than the assignment's" in lines[ids["wrong"]]
    assert "refused: assignment_id:" in lines[ids["broken"]]
    assert lines[ids["draft"]].startswith(" Draft): left out")
    assert "3 of 5 refused" in result.stderr
    # The good visit is stored whole, as the assignment's shopper's, and says it was imported.
    assert db_rows(
        demo_dir,
        "SELECT v.state, u.email FROM visits v JOIN users u ON u.id = v.shopper_id"
        " WHERE v.visit_uuid = ?",
        (ids["good"],),
    ) == [("submitted", "shopper@demo.test")]
    assert db_rows(
        demo_dir,
        "SELECT action FROM audit_log WHERE entity_id = ? AND action = 'visit.imported'",
        (ids["good"],),
    ) == [("visit.imported",)]
    # The damaged photo's visit waits for a good copy of it; the others left nothing.
    assert db_rows(
        demo_dir, "SELECT state FROM visits WHERE visit_uuid = ?", (ids["damaged"],)
    ) == [("incomplete",)]
    for name in ("wrong", "broken", "draft"):
        assert db_rows(
            demo_dir, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (ids[name],)
        ) == [(0,)]

    # The same file again: nothing is stored twice.
    again = runner.invoke(main, ["import-outbox", str(path), "--data-dir", str(demo_dir)])
    lines = dict(line.split(" (Toko", 1) for line in again.stdout.splitlines())
    assert lines[ids["good"]].endswith(": already there")
    assert db_rows(
        demo_dir, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (ids["good"],)
    ) == [(1,)]


def test_a_file_that_is_not_an_outbox_is_refused_whole(demo_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    for content, said in (
        (b"not json", "This is not a JSON file"),
        (b'{"format": "visitscore-questionnaire"}', "not an outbox file"),
        (b'{"format": "visitscore-outbox", "version": 9}', "version (9)"),
    ):
        path.write_bytes(content)
        result = CliRunner().invoke(main, ["import-outbox", str(path), "--data-dir", str(demo_dir)])
        assert result.exit_code == 1 and said in result.output, result.output


def upload(client: TestClient, raw: bytes, name: str = "outbox.json") -> Any:
    return client.post(
        "/admin/outbox-import",
        data={"csrf_token": csrf_token(client, "/admin/outbox-import")},
        files={"file": (name, raw, "application/json")},
    )


def test_an_admin_imports_a_file_on_the_page(demo_client: TestClient, demo_dir: Path) -> None:
    raw, ids = a_file(demo_client)
    login(demo_client, "admin@demo.test")
    page = upload(demo_client, raw)
    assert page.status_code == 200
    assert "3 visits were refused." in page.text
    assert page.text.count('class="outcome-stored"') == 1
    assert page.text.count('class="outcome-refused"') == 3
    assert page.text.count('class="outcome-left-out"') == 1
    (actor,) = db_rows(
        demo_dir,
        "SELECT u.email FROM audit_log a JOIN users u ON u.id = a.actor_id"
        " WHERE a.entity_id = ? AND a.action = 'visit.imported'",
        (ids["good"],),
    )[0]
    assert actor == "admin@demo.test"
    again = upload(demo_client, raw)
    assert again.text.count('class="outcome-already-there"') == 1


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"", "Choose an outbox file"),
        (b"[1, 2]", "not an outbox file exported by the Visitscore app"),
    ],
)
def test_a_bad_upload_gets_a_clear_page(demo_client: TestClient, raw: bytes, said: str) -> None:
    login(demo_client, "admin@demo.test")
    page = upload(demo_client, raw, name="" if not raw else "x.json")
    assert page.status_code == 422
    assert said in page.text


@pytest.mark.parametrize("email", ["reviewer@demo.test", "shopper@demo.test", "owner@demo.test"])
def test_only_admins_import(demo_client: TestClient, email: str) -> None:
    login(demo_client, email)
    assert demo_client.get("/admin/outbox-import").status_code == 403
    raw = outbox_file([], [])
    answer = demo_client.post(
        "/admin/outbox-import",
        data={"csrf_token": csrf_token(demo_client)},
        files={"file": ("outbox.json", raw, "application/json")},
    )
    assert answer.status_code == 403
