"""Comparing branches: the numbers (checked by hand against the raw visits), filters,
exports and who may see what."""

from __future__ import annotations

import csv
import io
import statistics
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.csv_export import FORMULA_STARTS, safe_cell
from server.settings import Settings
from tests.conftest import db_rows, db_write, login


def by_hand(data: Path, month_from: str, month_to: str) -> dict[str, dict[str, Any]]:
    """Each branch's visits and mean score over the months, straight from the visits."""
    rows = db_rows(
        data,
        "SELECT b.name, v.score_total, substr(v.started_at, 1, 7) FROM visits v"
        " JOIN branches b ON b.id = v.branch_id WHERE v.state = 'approved'",
    )
    out: dict[str, dict[str, Any]] = {}
    for name, score, month in rows:
        if month_from <= month <= month_to:
            entry = out.setdefault(name, {"scores": []})
            entry["scores"].append(score)
    for entry in out.values():
        entry["visits"] = len(entry["scores"])
        entry["mean"] = statistics.fmean(entry["scores"])
    return out


def test_the_comparison_matches_a_hand_computation(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "manager@demo.test")
    data = demo_client.get("/chains/1/compare.json?from=2026-06&to=2026-11").json()
    expected = by_hand(demo_dir, "2026-06", "2026-11")
    assert {b["name"] for b in data["branches"]} == set(expected)
    for branch in data["branches"]:
        assert branch["visits"] == expected[branch["name"]]["visits"]
        assert branch["total"] == pytest.approx(expected[branch["name"]]["mean"])
    order = sorted(expected, key=lambda name: -expected[name]["mean"])
    assert [b["name"] for b in data["branches"]] == order  # ranked, best first
    assert [b["rank"] for b in data["branches"]] == list(range(1, 13))
    assert data["branches"][0]["percentile"] == 100 and data["branches"][-1]["percentile"] == 0


def test_small_samples_are_shown_but_not_ranked(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "manager@demo.test")
    data = demo_client.get("/chains/1/compare.json?from=2026-09&to=2026-09").json()
    expected = by_hand(demo_dir, "2026-09", "2026-09")
    small = [b for b in data["branches"] if b["visits"] < 3]
    assert small, "a one-month period gives some branches fewer than 3 visits"
    for branch in small:
        assert branch["rank"] is None and branch["small_sample"] is True
        assert branch["percentile"] is None
        if branch["visits"]:
            assert branch["total"] == pytest.approx(expected[branch["name"]]["mean"])
    ranked = [b for b in data["branches"] if b["rank"] is not None]
    assert all(b["visits"] >= 3 for b in ranked)
    page = demo_client.get("/chains/1/compare?from=2026-09&to=2026-09")
    assert page.text.count("small sample") >= len(small)


def test_region_filter_and_bad_filters(demo_client: TestClient) -> None:
    login(demo_client, "manager@demo.test")
    bali = demo_client.get("/chains/1/compare.json?region=Bali").json()
    assert {b["region"] for b in bali["branches"]} == {"Bali"} and len(bali["branches"]) == 4
    assert [t["region"] for t in bali["region_trends"]] == ["Bali"]
    odd = demo_client.get("/chains/1/compare.json?from=June&to=2026-13&region=Mars&sort=x")
    assert odd.status_code == 200
    assert len(odd.json()["notes"]) == 4 and len(odd.json()["branches"]) == 12
    page = demo_client.get("/chains/1/compare?from=June")
    assert page.status_code == 200 and 'role="note"' in page.text


def test_the_csv_exports_open_as_spreadsheets(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "manager@demo.test")
    table = demo_client.get("/chains/1/compare.csv?from=2026-06&to=2026-11")
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in table.headers["content-disposition"]
    assert table.content.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Branch", "Code", "Region", "Visits", "Average score"]
    assert len(rows) == 13
    expected = by_hand(demo_dir, "2026-06", "2026-11")
    for row in rows[1:]:
        assert float(row[4]) == pytest.approx(expected[row[0]]["mean"], abs=0.05)
    visits = demo_client.get("/chains/1/visits.csv")
    lines = list(csv.reader(io.StringIO(visits.content.decode("utf-8-sig"))))
    approved = db_rows(demo_dir, "SELECT count(*) FROM visits WHERE state = 'approved'")[0][0]
    assert len(lines) == approved + 1
    header = lines[0]
    assert header[:6] == ["Visit", "Date", "Branch", "Code", "Region", "Score"]
    assert "greeted_verbally" in header and "tills" in header
    first = dict(zip(header, lines[1], strict=True))
    (stored,) = db_rows(
        demo_dir, "SELECT score_total FROM visits WHERE visit_uuid = ?", (first["Visit"],)
    )
    assert float(first["Score"]) == pytest.approx(stored[0], abs=0.05)
    as_json = demo_client.get("/chains/1/visits.json").json()
    assert len(as_json["visits"]) == approved
    same = next(v for v in as_json["visits"] if v["visit_id"] == first["Visit"])
    assert same["total"] == pytest.approx(stored[0])
    assert same["questions"]["tills"] == pytest.approx(float(first["tills"]), abs=0.05)
    # French (and Indonesian) spreadsheets expect ";" between cells and a decimal comma.
    french = demo_client.get("/chains/1/compare.csv", headers={"accept-language": "fr"})
    lines = list(csv.reader(io.StringIO(french.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0][:2] == ["Succursale", "Code"] and len(lines[0]) == len(rows[0])
    assert all("." not in cell for line in lines[1:] for cell in line[3:])
    assert any("," in cell for line in lines[1:] for cell in line[3:])


@pytest.mark.parametrize(
    ("email", "status", "branches"),
    [
        ("manager@demo.test", 200, 12),
        ("owner@demo.test", 200, 4),
        ("owner2@demo.test", 200, 4),
        ("admin@demo.test", 200, 12),
        ("reviewer@demo.test", 200, 12),
        ("shopper@demo.test", 404, 0),
    ],
)
def test_who_sees_which_branches(
    demo_client: TestClient, email: str, status: int, branches: int
) -> None:
    login(demo_client, email)
    response = demo_client.get("/chains/1/compare.json")
    assert response.status_code == status
    if status == 200:
        assert len(response.json()["branches"]) == branches
    assert demo_client.get("/chains/99/compare").status_code == 404


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("manager@demo.test", 200),
        ("admin@demo.test", 200),
        ("owner@demo.test", 403),
        ("reviewer@demo.test", 403),
        ("shopper@demo.test", 404),
    ],
)
def test_only_managers_and_the_agency_export(
    demo_client: TestClient, email: str, status: int
) -> None:
    login(demo_client, email)
    assert demo_client.get("/chains/1/compare.csv").status_code == status
    assert demo_client.get("/chains/1/visits.csv").status_code == status
    assert demo_client.get("/chains/1/visits.json").status_code == status


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_csv_export_neutralises_cells_that_look_like_formulas(
    demo_dir: Path, start: str
) -> None:
    """Branch names, codes and regions (and anything else a user typed) that start like a
    formula reach every export as text: a leading apostrophe, as OWASP recommends."""
    evil = f'{start}HYPERLINK("http://attacker.invalid","x")'
    db_write(
        demo_dir,
        [
            (
                "UPDATE branches SET name = ?, code = ?, region = ? WHERE id = 1",
                (evil, f"{start}CODE", f"{start}Region"),
            )
        ],
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "manager@demo.test")
        exports = [
            client.get("/chains/1/compare.csv?from=2026-06&to=2026-11"),
            client.get("/chains/1/visits.csv"),
        ]
    for export in exports:
        assert export.status_code == 200
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        cells = [cell for row in rows for cell in row]
        assert "'" + evil in cells and f"'{start}CODE" in cells and f"'{start}Region" in cells
        assert not [c for c in cells if c.startswith(FORMULA_STARTS)]


def test_safe_cell_leaves_numbers_and_plain_text_alone() -> None:
    assert safe_cell(-3.5) == -3.5 and safe_cell("") == "" and safe_cell("Toko") == "Toko"
    assert [safe_cell(s + "1") for s in FORMULA_STARTS] == ["'" + s + "1" for s in FORMULA_STARTS]


def test_region_trends_weigh_each_branch_month_by_its_scored_visits(demo_dir: Path) -> None:
    """A branch-month of 4 visits of which only 1 has a score counts as 1, not 4."""
    (a, region), (b, _same) = db_rows(
        demo_dir,
        "SELECT id, region FROM branches WHERE region = (SELECT region FROM branches"
        " WHERE id = 1) ORDER BY id LIMIT 2",
    )
    others = [
        r[0] for r in db_rows(demo_dir, "SELECT id FROM branches WHERE region = ?", (region,))
    ]
    db_write(
        demo_dir,
        [
            (
                f"DELETE FROM branch_month_scores WHERE month = '2026-11' AND branch_id IN"
                f" ({','.join('?' * len(others))})",
                tuple(others),
            ),
            (
                "INSERT INTO branch_month_scores (branch_id, month, section_key, visits,"
                " scored, score_sum) VALUES (?, '2026-11', '', ?, ?, ?)",
                [(a, 4, 1, 10.0), (b, 1, 1, 90.0)],
            ),
        ],
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "manager@demo.test")
        data = client.get("/chains/1/compare.json?from=2026-11&to=2026-11").json()
    (trend,) = [t for t in data["region_trends"] if t["region"] == region]
    assert trend["months"] == [{"month": "2026-11", "mean": pytest.approx(50.0)}]
    row = next(r for r in data["branches"] if r["id"] == a)
    assert row["visits"] == 4 and row["small_sample"] and row["rank"] is None


def test_an_export_of_a_period_holds_that_period_day_by_day(demo_client: TestClient) -> None:
    from tests.conftest import login as log_in

    log_in(demo_client, "manager@demo.test")
    everything = demo_client.get("/chains/1/visits.json").json()["visits"]
    days = [v["local_date"] for v in everything]
    assert days == sorted(days) and len(set(days)) > 20  # in the order of the branch's days
    months = sorted({d[:7] for d in days})
    first, last = months[1], months[2]
    answer = demo_client.get(f"/chains/1/visits.json?from={first}&to={last}")
    got = answer.json()["visits"]
    expected = [v for v in everything if first <= v["local_date"][:7] <= last]
    assert got == expected and got
    reversed_too = demo_client.get(f"/chains/1/visits.json?from={last}&to={first}").json()
    assert reversed_too["visits"] == expected
    csv = demo_client.get(f"/chains/1/visits.csv?from={first}")
    assert csv.status_code == 200
    assert csv.text.count("\n") == 1 + sum(1 for v in everything if v["local_date"][:7] >= first)
    bad = demo_client.get("/chains/1/visits.csv?to=last-year")
    assert bad.status_code == 400 and "given in months" in bad.text


def test_the_comparison_shows_last_year_the_spread_and_when_service_is_worst(
    demo_client: TestClient, demo_dir: Path
) -> None:
    from tests.test_summaries import slots_from_visits

    login(demo_client, "manager@demo.test")
    data = demo_client.get("/chains/1/compare.json?from=2026-06&to=2026-11").json()
    branches = [b["id"] for b in data["branches"]]
    marks = ",".join("?" * len(branches))
    scores = [
        s
        for (s,) in db_rows(
            demo_dir,
            f"SELECT score_total FROM visits WHERE state = 'approved' AND branch_id IN ({marks})"
            " AND local_date BETWEEN '2026-06-01' AND '2026-11-31' AND score_total IS NOT NULL",
            tuple(branches),
        )
    ]
    assert data["bands"] == [
        sum(s < 50 for s in scores),
        sum(50 <= s < 70 for s in scores),
        sum(70 <= s < 85 for s in scores),
        sum(s >= 85 for s in scores),
    ]
    assert data["total"] == pytest.approx(sum(scores) / len(scores))
    assert data["last_year"]["period"] == {"from": "2025-06", "to": "2025-11"}
    assert (
        data["last_year"]["visits"] == 0 and data["last_year"]["total"] is None
    )  # the demo starts in 2026
    expected: dict[tuple[int, int], list[float]] = {}
    for branch, month, day, part, visits, scored, total in slots_from_visits(demo_dir):
        if branch in branches and "2026-06" <= month <= "2026-11":
            cell = expected.setdefault((day, part), [0, 0, 0.0])
            cell[0] += visits
            cell[1] += scored
            cell[2] += total
    assert {(c["weekday"], c["daypart"]): (c["visits"], c["scored"]) for c in data["when"]} == {
        k: (v[0], v[1]) for k, v in expected.items()
    }
    for cell in data["when"]:
        v = expected[(cell["weekday"], cell["daypart"])]
        assert cell["mean"] == pytest.approx(v[2] / v[1])
    page = demo_client.get("/chains/1/compare?from=2026-06&to=2026-11").text
    assert 'id="when"' in page and "Monday" in page and "before 12:00" in page
