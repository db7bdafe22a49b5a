from __future__ import annotations

import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from server.app import create_app
from server.cli import main
from server.settings import Settings
from tests.conftest import copy_data, login


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command's words, a group's commands included (`export visits`)."""
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("command", _commands(main), ids=" ".join)
def test_every_command_has_help(runner: CliRunner, command: tuple[str, ...]) -> None:
    result = runner.invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "--data-dir" in result.output and "--photo-store" in result.output


def test_migrate_twice_applies_nothing_the_second_time(runner: CliRunner, tmp_path: Path) -> None:
    first = runner.invoke(main, ["migrate", "--data-dir", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert "applied 0001_initial" in first.output
    second = runner.invoke(main, ["migrate", "--data-dir", str(tmp_path)])
    assert second.exit_code == 0 and "applied" not in second.output


def test_create_user_reads_the_password_from_the_environment(
    runner: CliRunner, demo_dir: Path
) -> None:
    result = runner.invoke(
        main,
        [
            "create-user",
            "--email",
            "new.owner@example.com",
            "--name",
            "New Owner",
            "--role",
            "owner",
            "--branch",
            "JKT-MTG",
            "--branch",
            "2",
            "--data-dir",
            str(demo_dir),
        ],
        env={"VISITSCORE_PASSWORD": "a long enough password"},
    )
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(demo_dir / "visitscore.db")
    row = db.execute(
        "SELECT id, role, password_hash FROM users WHERE email = ?", ("new.owner@example.com",)
    ).fetchone()
    assert row[1] == "owner" and row[2].startswith("scrypt$")
    owned = db.execute("SELECT count(*) FROM branch_owners WHERE user_id = ?", (row[0],)).fetchone()
    assert owned[0] == 2


def test_create_user_asks_for_the_password(runner: CliRunner, demo_dir: Path) -> None:
    result = runner.invoke(
        main,
        [
            "create-user",
            "--email",
            "rev2@example.com",
            "--name",
            "Rev",
            "--role",
            "reviewer",
            "--data-dir",
            str(demo_dir),
        ],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "admin@demo.test", "--name", "X", "--role", "admin"], "already exists"),
        (["--email", "ADMIN@demo.test", "--name", "X", "--role", "admin"], "already exists"),
        (
            ["--email", "o@example.com", "--name", "X", "--role", "owner"],
            "needs at least one --branch",
        ),
        (
            ["--email", "o@example.com", "--name", "X", "--role", "owner", "--branch", "NOPE"],
            "no branch with id or code 'NOPE'",
        ),
        (
            ["--email", "m@example.com", "--name", "X", "--role", "manager"],
            "needs at least one --chain",
        ),
        (
            ["--email", "s@example.com", "--name", "X", "--role", "shopper", "--branch", "1"],
            "--branch is for owners",
        ),
        (["--email", "s@example.com", "--name", "X", "--role", "king"], "'king' is not one of"),
        (["--email", "not-an-email", "--name", "X", "--role", "admin"], "is not an email address"),
    ],
)
def test_create_user_refuses_bad_input_with_one_clear_line(
    runner: CliRunner, demo_dir: Path, args: list[str], message: str
) -> None:
    before = (
        sqlite3.connect(demo_dir / "visitscore.db")
        .execute("SELECT count(*) FROM users")
        .fetchone()[0]
    )
    result = runner.invoke(
        main,
        ["create-user", *args, "--data-dir", str(demo_dir)],
        env={"VISITSCORE_PASSWORD": "a long enough password"},
    )
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    after = (
        sqlite3.connect(demo_dir / "visitscore.db")
        .execute("SELECT count(*) FROM users")
        .fetchone()[0]
    )
    assert after == before


def create_admin(runner: CliRunner, demo_dir: Path, **kwargs: object) -> Result:
    return runner.invoke(
        main,
        [
            "create-user",
            "--email",
            "a@example.com",
            "--name",
            "A",
            "--role",
            "admin",
            "--data-dir",
            str(demo_dir),
        ],
        **kwargs,  # type: ignore[arg-type]
    )


def test_create_user_refuses_a_short_password(runner: CliRunner, demo_dir: Path) -> None:
    result = create_admin(runner, demo_dir, env={"VISITSCORE_PASSWORD": "short"})
    assert result.exit_code == 1 and "at least 10 characters" in result.output


def test_create_user_without_a_terminal_or_password_explains(
    runner: CliRunner, demo_dir: Path
) -> None:
    result = create_admin(runner, demo_dir, input="")
    assert result.exit_code == 1 and "VISITSCORE_PASSWORD" in result.output


def test_demo_prints_the_logins_and_refuses_a_full_data_dir(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(main, ["demo", "--data-dir", str(tmp_path), "--today", "2026-11-23"])
    assert result.exit_code == 0, result.output
    for email in (
        "admin@demo.test",
        "reviewer@demo.test",
        "manager@demo.test",
        "owner@demo.test",
        "owner2@demo.test",
        "shopper@demo.test",
        "shopper2@demo.test",
        "shopper3@demo.test",
    ):
        assert email in result.output
    assert "visitscore-demo" in result.output
    again = runner.invoke(main, ["demo", "--data-dir", str(tmp_path)])
    assert again.exit_code == 1 and "already has data" in again.output


def test_backup_copies_database_and_photos(
    runner: CliRunner, demo_dir: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "backup"
    result = runner.invoke(main, ["backup", str(dest), "--data-dir", str(demo_dir)])
    assert result.exit_code == 0, result.output
    copy = sqlite3.connect(dest / "visitscore.db")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM visits").fetchone()[0] > 100
    keys = [r[0] for r in copy.execute("SELECT blob_key FROM photos WHERE blob_key IS NOT NULL")]
    assert keys
    for key in keys:
        assert (dest / "photos" / key[:2] / key[2:4] / f"{key}-display.jpg").is_file()
    refused = runner.invoke(main, ["backup", str(dest), "--data-dir", str(demo_dir)])
    assert refused.exit_code == 1 and "not empty" in refused.output


def test_backup_without_a_database_fails_clearly(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["backup", str(tmp_path / "b"), "--data-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1 and "no database" in result.output


def test_a_bad_environment_setting_is_one_clear_line(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(
        main, ["migrate", "--data-dir", str(tmp_path)], env={"VISITSCORE_MAX_PHOTO_BYTES": "lots"}
    )
    assert (
        result.exit_code == 1
        and "VISITSCORE_MAX_PHOTO_BYTES must be a whole number" in result.output
    )


def test_backup_of_a_copy_serves(demo_template: Path, tmp_path: Path, runner: CliRunner) -> None:
    """A backup is a working data directory: migrate accepts it as up to date."""
    source = copy_data(demo_template, tmp_path / "src")
    runner.invoke(main, ["backup", str(tmp_path / "dst"), "--data-dir", str(source)])
    result = runner.invoke(main, ["migrate", "--data-dir", str(tmp_path / "dst")])
    assert result.exit_code == 0 and "applied" not in result.output


def test_export_visits_writes_what_the_streamed_export_gives(
    runner: CliRunner, demo_dir: Path
) -> None:
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "admin@demo.test")
        french = client.get(
            "/chains/1/visits.csv?from=2026-07&to=2026-10&region=Jakarta",
            headers={"accept-language": "fr"},
        ).content
        whole = client.get("/chains/1/visits.json").content
    args = ["export-visits", "--data-dir", str(demo_dir), "--chain"]
    period = ["--from", "2026-07", "--to", "2026-10", "--region", "Jakarta", "--locale", "fr"]
    made = runner.invoke(main, [*args, "TOKO", *period])
    assert made.exit_code == 0, made.output
    assert made.stdout_bytes == french and french.count(b"\n") > 1
    assert french.decode("utf-8-sig").startswith("Visite;")  # the reader's language and cells
    as_json = runner.invoke(main, [*args, "1", "--format", "json"])
    assert as_json.exit_code == 0 and as_json.stdout_bytes == whole
    grouped = ["export", "visits", "--data-dir", str(demo_dir), "--chain", "1", "--format", "json"]
    assert runner.invoke(main, grouped).stdout_bytes == whole  # `visitscore export visits`
    questionnaire = ["default", "--data-dir", str(demo_dir)]
    alone = runner.invoke(main, ["export-questionnaire", *questionnaire])
    assert alone.exit_code == 0 and '"sections"' in alone.output
    assert runner.invoke(main, ["export", "questionnaire", *questionnaire]).output == alone.output


def test_export_visits_refuses_bad_input_in_one_line(runner: CliRunner, demo_dir: Path) -> None:
    args = ["export-visits", "--data-dir", str(demo_dir), "--chain"]
    bad_month = runner.invoke(main, [*args, "TOKO", "--to", "2026-13"])
    assert bad_month.exit_code == 2 and "--to: write months as YYYY-MM" in bad_month.output
    no_chain = runner.invoke(main, [*args, "NOPE"])
    assert no_chain.exit_code == 1 and "no chain with id or code 'NOPE'" in no_chain.output
    no_region = runner.invoke(main, [*args, "TOKO", "--region", "Mars"])
    assert no_region.exit_code == 1 and "TOKO has no region 'Mars'" in no_region.output
    bad_ids = runner.invoke(main, [*args, "TOKO", "--branches", "1;DROP"])
    assert bad_ids.exit_code == 2 and "branch ids" in bad_ids.output
