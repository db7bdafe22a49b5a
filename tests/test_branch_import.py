"""Branches from CSV: all or nothing, every bad row named by its line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from server.branch_import import parse
from server.cli import main
from tests.conftest import db_rows

GOOD = (
    "\ufeffname,code,region,city,address,latitude,longitude,timezone\n"
    "Toko Contoh Medan,SUM-MDN,Sumatra,Medan,Jl. Gatot Subroto 1,3.5952,98.6722,Asia/Jakarta\n"
    "\n"
    "Toko Contoh Makassar,SUL-MKS,Sulawesi,Makassar,Jl. Somba Opu 5,-5.1477,119.4327,"
    "Asia/Makassar\n"
)


def test_a_good_file_adds_every_branch(tmp_path: Path, demo_dir: Path) -> None:
    path = tmp_path / "branches.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["import-branches", str(path), "--chain", "TOKO", "--data-dir", str(demo_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "Added 2 branches" in result.output
    rows = db_rows(
        demo_dir,
        "SELECT code, region, timezone, latitude FROM branches"
        " WHERE code IN ('SUM-MDN', 'SUL-MKS') ORDER BY code",
    )
    assert rows == [
        ("SUL-MKS", "Sulawesi", "Asia/Makassar", -5.1477),
        ("SUM-MDN", "Sumatra", "Asia/Jakarta", 3.5952),
    ]


def test_a_new_chain_is_created_when_asked(tmp_path: Path, demo_dir: Path) -> None:
    path = tmp_path / "branches.csv"
    path.write_text(GOOD, encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(
        main, ["import-branches", str(path), "--chain", "NEW", "--data-dir", str(demo_dir)]
    )
    assert refused.exit_code == 1 and "--new-chain-name" in refused.output
    made = runner.invoke(
        main,
        [
            "import-branches",
            str(path),
            "--chain",
            "NEW",
            "--new-chain-name",
            "Toko Baru",
            "--data-dir",
            str(demo_dir),
        ],
    )
    assert made.exit_code == 0
    assert db_rows(demo_dir, "SELECT name FROM chains WHERE code = 'NEW'") == [("Toko Baru",)]


def test_bad_rows_are_listed_by_line_and_nothing_is_added(tmp_path: Path, demo_dir: Path) -> None:
    bad = (
        "name,code,region,latitude,longitude,timezone\n"
        "Fine,OK-1,North,1.0,100.0,Asia/Jakarta\n"
        ",OK-2,North,,,\n"
        "Dup,JKT-MTG,North,,,\n"
        "Twice,OK-1,North,,,\n"
        "Lat,OK-3,North,95,100,\n"
        "Zone,OK-4,North,,,Mars/Olympus\n"
    )
    path = tmp_path / "bad.csv"
    path.write_text(bad, encoding="utf-8")
    before = db_rows(demo_dir, "SELECT count(*) FROM branches")
    result = CliRunner().invoke(
        main, ["import-branches", str(path), "--chain", "TOKO", "--data-dir", str(demo_dir)]
    )
    assert result.exit_code == 1
    for expected in (
        "line 3: name is required",
        "line 4: code 'JKT-MTG' is already",
        "line 5: code 'OK-1' is also on line 2",
        "line 6: latitude must be",
        "line 7: 'Mars/Olympus' is not a time zone",
        "5 problems",
    ):
        assert expected in result.output, expected
    assert db_rows(demo_dir, "SELECT count(*) FROM branches") == before


def test_header_problems_are_reported_before_rows() -> None:
    rows, problems = parse(b"title,code\nA,B\n", set())
    assert rows == [] and [str(p) for p in problems] == [
        "line 1: missing column 'name'",
        "line 1: missing column 'region'",
        "line 1: unknown column(s): title",
    ]
    assert [str(p) for p in parse(b"\xff\xfe", set())[1]] == ["line 1: the file is not UTF-8 text"]
    assert [str(p) for p in parse(b"name,code,region\n", set())[1]] == [
        "line 2: the file has no branches"
    ]
