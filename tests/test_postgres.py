"""The commands on a real PostgreSQL (a throwaway cluster of this test session)."""

from __future__ import annotations

from pathlib import Path

import psycopg
from click.testing import CliRunner

from server.cli import main
from server.db import load_migrations
from tests.conftest import free_port


def test_demo_and_migrate_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    where = ["--data-dir", str(tmp_path / "data"), "--database-url", pg_url]
    made = runner.invoke(main, ["demo", *where])
    assert made.exit_code == 0, made.output
    assert "12 branches" in made.output
    again = runner.invoke(main, ["migrate", *where])
    assert again.exit_code == 0, again.output
    latest = max(m.version for m in load_migrations())
    assert f"is at migration {latest:04d}" in again.output and "applied" not in again.output
    assert not (tmp_path / "data" / "visitscore.db").exists()  # nothing went to SQLite
    with psycopg.connect(pg_url) as conn:
        approved = conn.execute("SELECT count(*) FROM visits WHERE state = 'approved'").fetchone()
        counted = conn.execute(
            "SELECT sum(visits) FROM visit_counts WHERE state = 'approved'"
        ).fetchone()
        months = conn.execute(
            "SELECT sum(visits) FROM branch_month_scores WHERE section_key = ''"
        ).fetchone()
    assert approved is not None and counted is not None and months is not None
    assert approved[0] == counted[0] == months[0] > 0
    refused = runner.invoke(main, ["demo", *where])
    assert refused.exit_code == 1 and "already has data" in refused.output
    backup = runner.invoke(main, ["backup", str(tmp_path / "copy"), *where])
    assert backup.exit_code == 1 and "pg_dump" in backup.output


def test_a_bad_or_unreachable_database_stops_a_command_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    for url, words in [
        ("mysql://root@localhost/x", "give postgresql://… or sqlite:///…, not mysql://"),
        ("sqlite://relative.db", "give sqlite:////absolute/path/visitscore.db"),
        (
            f"postgresql://someone:hunter2@127.0.0.1:{free_port()}/visitscore",
            "Connection refused",
        ),
    ]:
        result = runner.invoke(main, ["migrate", *data, "--database-url", url])
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], result.output
        assert "hunter2" not in result.output


def test_a_sqlite_url_names_the_file(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "visits.db"
    result = CliRunner().invoke(
        main,
        ["migrate", "--data-dir", str(tmp_path / "data"), "--database-url", f"sqlite://{target}"],
    )
    assert result.exit_code == 0, result.output
    assert target.is_file() and not (tmp_path / "data" / "visitscore.db").exists()
