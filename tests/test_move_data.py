"""`visitscore move-data`: the demo's SQLite folder into a real PostgreSQL and a real S3
bucket, then served from there."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner
from starlette.testclient import TestClient

from server import move_data
from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import copy_data, db_rows, login

SCHEMA = {
    "foreign keys": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    "triggers": "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger"
    " WHERE NOT tgisinternal",
}
"""What the bulk copy takes away while the rows arrive, and must give back."""

TABLES = ("users", "branches", "visits", "photos", "visit_photos", "audit_log", "visit_counts")


def test_a_data_folder_moves_into_postgresql_and_a_bucket_and_serves_from_there(
    demo_template: Path, tmp_path: Path, pg_url: str, s3_bucket: str, s3_endpoint: Any
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    store = f"s3://{s3_bucket}/moved"
    runner = CliRunner()
    args = ["--data-dir", str(data), "--to-database-url", pg_url, "--to-photo-store", store]
    result = runner.invoke(main, ["move-data", *args])
    assert result.exit_code == 0, result.output
    assert "every count and photo checked" in result.output
    with psycopg.connect(pg_url) as conn:
        for table in TABLES:
            there = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert there is not None
            assert there[0] == db_rows(data, f"SELECT count(*) FROM {table}")[0][0] > 0, table
        # New rows continue after the copied ids.
        conn.execute(
            "INSERT INTO chains (code, name, created_at) VALUES ('NEW', 'New', '2026-12-02')"
        )
        (new_id,) = conn.execute("SELECT id FROM chains WHERE code = 'NEW'").fetchone() or (0,)
        conn.rollback()
    assert new_id > db_rows(data, "SELECT max(id) FROM chains")[0][0]
    files = sorted(p for p in (data / "photos").rglob("*.jpg"))
    listed = s3_endpoint.client().list_objects_v2(Bucket=s3_bucket, Prefix="moved/")
    assert listed["KeyCount"] == len(files) > 0

    # The same app on the new engines: an owner reads a photo of their branch's visit.
    photo_id, key, owner = db_rows(
        data,
        "SELECT p.id, p.blob_key, u.email FROM photos p JOIN visit_photos vp ON vp.photo_id = p.id"
        " JOIN visits v ON v.id = vp.visit_id JOIN branch_owners o ON o.branch_id = v.branch_id"
        " JOIN users u ON u.id = o.user_id WHERE v.state = 'approved'"
        " AND p.received_at IS NOT NULL LIMIT 1",
    )[0]
    settings = Settings(data_dir=tmp_path / "elsewhere", database_url=pg_url, photo_store=store)
    with TestClient(create_app(settings)) as client:
        login(client, owner)
        served = client.get(f"/api/v1/photos/{photo_id}/display")
    assert served.status_code == 200
    original = data / "photos" / key[:2] / key[2:4] / f"{key}-display.jpg"
    assert hashlib.sha256(served.content).digest() == hashlib.sha256(original.read_bytes()).digest()

    again = runner.invoke(main, ["move-data", *args])
    assert again.exit_code == 1
    assert "the target database is not empty" in again.output


def schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {what: sorted(conn.execute(sql).fetchall()) for what, sql in SCHEMA.items()}


def test_the_moved_database_has_every_key_index_and_trigger_a_migrated_one_has(
    demo_template: Path, tmp_path: Path, pg_cluster: Any, pg_url: str
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    result = CliRunner().invoke(
        main, ["move-data", "--data-dir", str(data), "--to-database-url", pg_url]
    )
    assert result.exit_code == 0, result.output
    fresh = pg_cluster.create_database(f"fresh_{tmp_path.name[-20:].lower()}")
    assert CliRunner().invoke(main, ["migrate", "--database-url", fresh]).exit_code == 0
    moved, migrated = schema(pg_url), schema(fresh)
    assert all(moved[what] for what in SCHEMA), moved
    assert moved == migrated
    # The visit counter counts again: a visit changing state moves one count.
    with psycopg.connect(pg_url) as conn:
        counts = "SELECT state, visits FROM visit_counts WHERE visits > 0 ORDER BY state"
        before = dict(conn.execute(counts).fetchall())
        conn.execute(
            "UPDATE visits SET state = 'rejected' WHERE id = (SELECT min(id) FROM visits"
            " WHERE state = 'approved')"
        )
        after = dict(conn.execute(counts).fetchall())
        conn.rollback()
    assert after["approved"] == before["approved"] - 1
    assert after["rejected"] == before.get("rejected", 0) + 1


def test_rows_that_break_a_foreign_key_stop_the_move_and_leave_the_target_empty(
    demo_template: Path, tmp_path: Path, pg_url: str
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    # A folder whose visits point at a branch that is gone (SQLite left its keys unchecked).
    lite = sqlite3.connect(data / "visitscore.db")
    lite.execute("PRAGMA foreign_keys = OFF")
    (branch,) = lite.execute("SELECT branch_id FROM visits LIMIT 1").fetchone()
    for table in ("assignments", "branch_owners", "branch_month_scores", "branch_month_questions"):
        lite.execute(f"DELETE FROM {table} WHERE branch_id = ?", (branch,))
    lite.execute("DELETE FROM branches WHERE id = ?", (branch,))
    lite.commit()
    lite.close()
    result = CliRunner().invoke(
        main, ["move-data", "--data-dir", str(data), "--to-database-url", pg_url]
    )
    assert result.exit_code == 1
    assert "the move stopped" in result.output and "foreign key" in result.output
    with psycopg.connect(pg_url) as conn:  # nothing was copied, the schema is whole
        assert conn.execute("SELECT count(*) FROM visits").fetchone() == (0,)
        assert conn.execute(SCHEMA["foreign keys"]).fetchall()


def test_a_non_empty_photo_store_or_a_wrong_target_is_refused(
    demo_template: Path, tmp_path: Path, pg_url: str
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    runner = CliRunner()
    wrong = runner.invoke(
        main, ["move-data", "--data-dir", str(data), "--to-database-url", "sqlite:////tmp/x.db"]
    )
    assert wrong.exit_code == 1 and "must be a postgresql:// URL" in wrong.output
    used = copy_data(demo_template, tmp_path / "other")
    refused = runner.invoke(
        main,
        [
            "move-data",
            *("--data-dir", str(data), "--to-database-url", pg_url),
            *("--to-photo-store", str(used / "photos")),
        ],
    )
    assert refused.exit_code == 1 and "the target photo store is not empty" in refused.output
    with psycopg.connect(pg_url) as conn:  # nothing was copied
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_tables_are_moved_page_by_page_whether_keyed_by_rowid_or_by_their_key(
    demo_template: Path, tmp_path: Path, pg_url: str, monkeypatch: Any
) -> None:
    """Small pages: the rollups (WITHOUT ROWID, paged by their primary key) and the
    visits (paged by rowid) arrive whole, row for row."""
    monkeypatch.setattr(move_data, "PAGE", 7)
    data = copy_data(demo_template, tmp_path / "data")
    args = ["--data-dir", str(data), "--to-database-url", pg_url]
    result = CliRunner().invoke(main, ["move-data", *args])
    assert result.exit_code == 0, result.output
    compared = {
        "branch_month_slots": "branch_id, month",
        "branch_month_scores": "branch_id, month, section_key",
        "visits": "id",
    }
    with psycopg.connect(pg_url) as conn:
        for table, order in compared.items():
            here = [tuple(r) for r in db_rows(data, f"SELECT * FROM {table} ORDER BY {order}")]
            there = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]
            assert len(there) == len(here) > 7, table
            assert [r[:4] for r in there] == [r[:4] for r in here], table
