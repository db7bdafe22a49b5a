"""The rollups (per-branch-per-month scores and questions, visit counts by questionnaire
version and state) always agree with the visits they sum."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import visit_record
from server.app import create_app
from server.queries import rollups
from server.scoring import score_visit
from server.settings import Settings
from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import ENGINE, csrf_token, db_rows, db_write, login, open_db, visit_scores

FROM_VISITS = """
SELECT branch_id, substr(local_date, 1, 7) AS month, count(*), count(score_total),
       round(CAST(coalesce(sum(score_total), 0) AS NUMERIC), 6)
FROM visits WHERE state = 'approved' GROUP BY 1, 2 ORDER BY 1, 2"""
FROM_SUMMARY = """
SELECT branch_id, month, visits, scored, round(CAST(score_sum AS NUMERIC), 6)
FROM branch_month_scores
WHERE section_key = '' ORDER BY 1, 2"""
SECTIONS_FROM_SUMMARY = """
SELECT branch_id, month, section_key, scored, round(CAST(score_sum AS NUMERIC), 6)
FROM branch_month_scores
WHERE section_key <> '' ORDER BY 1, 2, 3"""

QUESTIONS_FROM_SUMMARY = """
SELECT branch_id, month, question_key, visits, round(CAST(earned AS NUMERIC), 6),
       round(CAST(possible AS NUMERIC), 6)
FROM branch_month_questions ORDER BY 1, 2, 3"""
COUNTS_FROM_VISITS = """
SELECT questionnaire_id, questionnaire_version, state, count(*) FROM visits
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
COUNTS_KEPT = """
SELECT questionnaire_id, questionnaire_version, state, visits FROM visit_counts
WHERE visits > 0 ORDER BY 1, 2, 3"""


def sections_from_visits(data_dir: Path) -> list[tuple[Any, ...]]:
    """Per branch, month and section: scored visits and the sum of their scores."""
    sums: dict[tuple[int, str, str], list[float]] = {}
    for visit in visit_scores(data_dir, "WHERE state = 'approved'"):
        for key, score in visit["sections"].items():
            entry = sums.setdefault((visit["branch_id"], visit["month"], key), [0, 0.0])
            if score is not None:
                entry[0] += 1
                entry[1] += score
    return [(*k, int(v[0]), v[1]) for k, v in sorted(sums.items())]


def questions_from_visits(data_dir: Path) -> list[tuple[Any, ...]]:
    """Per branch, month and scored question: visits, points earned and possible."""
    sums: dict[tuple[int, str, str], list[float]] = {}
    for visit in visit_scores(data_dir, "WHERE state = 'approved'"):
        for key, (earned, possible) in visit["questions"].items():
            if possible > 0:
                entry = sums.setdefault((visit["branch_id"], visit["month"], key), [0, 0.0, 0.0])
                entry[0] += 1
                entry[1] += earned
                entry[2] += possible
    return [(*k, int(v[0]), v[1], v[2]) for k, v in sorted(sums.items())]


def same_rows(kept: list[tuple[Any, ...]], counted: list[tuple[Any, ...]]) -> bool:
    """Rows equal, their sums to 6 decimal places (as the summary queries round them)."""
    plain = [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in kept]
    return plain == [
        tuple(pytest.approx(v, abs=1e-6) if isinstance(v, float) else v for v in row)
        for row in counted
    ]


BANDS_FROM_VISITS = """
SELECT branch_id, substr(local_date, 1, 7), CASE WHEN score_total >= 85 THEN 3
  WHEN score_total >= 70 THEN 2 WHEN score_total >= 50 THEN 1 ELSE 0 END, count(*)
FROM visits WHERE state = 'approved' AND score_total IS NOT NULL AND local_date IS NOT NULL
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
BANDS_KEPT = """
SELECT branch_id, month, band, visits FROM (
  SELECT branch_id, month, 0 AS band, band_0 AS visits FROM branch_month_bands
  UNION ALL SELECT branch_id, month, 1, band_1 FROM branch_month_bands
  UNION ALL SELECT branch_id, month, 2, band_2 FROM branch_month_bands
  UNION ALL SELECT branch_id, month, 3, band_3 FROM branch_month_bands
) AS counted WHERE visits <> 0 ORDER BY 1, 2, 3"""
BANDS_TOTALS = """
SELECT count(*) FROM branch_month_bands WHERE visits <> band_0 + band_1 + band_2 + band_3
  OR visits = 0"""


def slots_kept(data_dir: Path) -> list[tuple[Any, ...]]:
    """The weekday × time-of-day rollup as rows (branch, month, weekday, daypart, visits,
    scored, sum): each kept row holds a branch-month's 21 slots as columns; a row's
    ``visits`` is the sum of its slots'."""
    out = []
    for row in db_rows(data_dir, "SELECT * FROM branch_month_slots ORDER BY 1, 2"):
        branch, month, total, *grid = row
        assert total == sum(grid[0::3]) > 0
        for slot in range(21):
            visits, scored, score_sum = grid[3 * slot : 3 * slot + 3]
            if visits:
                out.append((branch, month, *divmod(slot, 3), visits, scored, float(score_sum)))
    return out


def slots_from_visits(data_dir: Path) -> list[tuple[Any, ...]]:
    """Per branch, month, weekday (of the day at the branch) and hour band (of the phone's
    clock, 0 before 12, 1 before 17, 2 after): visits, scored visits, sum of scores, counted
    here by this test's own reading of the rule."""
    from datetime import date

    sums: dict[tuple[Any, ...], list[float]] = {}
    for branch, day, started, total in db_rows(
        data_dir,
        "SELECT branch_id, local_date, started_at, score_total FROM visits"
        " WHERE state = 'approved' AND local_date IS NOT NULL",
    ):
        hour = int(started[11:13])
        part = 0 if hour < 12 else 1 if hour < 17 else 2
        key = (branch, day[:7], date.fromisoformat(day).weekday(), part)
        entry = sums.setdefault(key, [0, 0, 0.0])
        entry[0] += 1
        if total is not None:
            entry[1] += 1
            entry[2] += total
    return [(*k, int(v[0]), int(v[1]), v[2]) for k, v in sorted(sums.items())]


def plan_progress_from_visits(data_dir: Path) -> list[tuple[Any, ...]]:
    """Each plan with a section: (id, scored visits, sum of scores) over the approved
    visits started since it was made, counted here from the visits."""
    visits = visit_scores(data_dir, "WHERE state = 'approved'")
    out = []
    for plan_id, branch, key, made in db_rows(
        data_dir,
        "SELECT id, branch_id, section_key, created_at FROM action_plans"
        " WHERE section_key IS NOT NULL ORDER BY id",
    ):
        scores = [
            v["sections"][key]
            for v in visits
            if v["branch_id"] == branch
            and v["started_utc"] >= made
            and v["sections"].get(key) is not None
        ]
        out.append((plan_id, len(scores), sum(scores)))
    return out


PLAN_PROGRESS_KEPT = """
SELECT id, since_scored, round(CAST(since_score_sum AS NUMERIC), 6) FROM action_plans
WHERE section_key IS NOT NULL ORDER BY id"""


def recount_plans(data_dir: Path) -> None:
    """Every plan's "since" counted again from the visits, by the server's upgrade code."""

    async def recount() -> None:
        async with open_db(data_dir) as db, db.transaction() as tx:
            await rollups.recount_plan_progress(tx)

    asyncio.run(recount())


def early_plans(data_dir: Path, branch: int) -> None:
    """A plan on every section at ``branch`` made before any visit, counted from the
    visits as an upgrade counts them (tests of later approvals and corrections then
    watch the plans' "since" move)."""
    keys = sorted(
        {k for v in visit_scores(data_dir, "WHERE state = 'approved'") for k in v["sections"]}
    )
    (admin,) = db_rows(data_dir, "SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")[0]
    made = "2020-01-01T00:00:00+00:00"
    db_write(
        data_dir,
        [
            (
                "INSERT INTO action_plans (branch_id, section_key, text, created_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(branch, key, f"Early plan for {key}", admin, made, made) for key in keys],
            )
        ],
    )
    recount_plans(data_dir)
    assert sum(n for _id, n, _sum in db_rows(data_dir, PLAN_PROGRESS_KEPT)) > 0


APPEALS_FROM_APPEALS = """
SELECT v.branch_id, substr(v.local_date, 1, 7), count(DISTINCT a.visit_id),
  count(DISTINCT CASE WHEN a.decision IN ('upheld', 'partly_upheld') THEN a.visit_id END),
  count(DISTINCT CASE WHEN a.voided = 1 THEN a.visit_id END)
FROM appeals a JOIN visits v ON v.id = a.visit_id GROUP BY 1, 2 ORDER BY 1, 2"""
APPEALS_KEPT = """
SELECT branch_id, month, appealed, upheld, voided FROM branch_month_appeals ORDER BY 1, 2"""


def assert_consistent(data_dir: Path) -> None:
    assert db_rows(data_dir, APPEALS_KEPT) == db_rows(data_dir, APPEALS_FROM_APPEALS)
    assert same_rows(db_rows(data_dir, PLAN_PROGRESS_KEPT), plan_progress_from_visits(data_dir))
    assert db_rows(data_dir, BANDS_KEPT) == db_rows(data_dir, BANDS_FROM_VISITS)
    # each kept row's visits are its bands' sum, and no emptied row is left
    assert db_rows(data_dir, BANDS_TOTALS)[0][0] == 0
    assert same_rows(slots_kept(data_dir), slots_from_visits(data_dir))
    assert db_rows(data_dir, FROM_SUMMARY) == db_rows(data_dir, FROM_VISITS)
    assert same_rows(db_rows(data_dir, SECTIONS_FROM_SUMMARY), sections_from_visits(data_dir))
    assert same_rows(db_rows(data_dir, QUESTIONS_FROM_SUMMARY), questions_from_visits(data_dir))
    assert db_rows(data_dir, COUNTS_KEPT) == db_rows(data_dir, COUNTS_FROM_VISITS)


def test_the_demo_summary_matches_its_visits(demo_template: Path) -> None:
    assert len(db_rows(demo_template, FROM_SUMMARY)) >= 12 * 5
    assert_consistent(demo_template)


def test_an_approval_updates_the_summary_in_the_same_transaction(demo_dir: Path) -> None:
    before = db_rows(
        demo_dir, "SELECT sum(visits) FROM branch_month_scores WHERE section_key = ''"
    )[0][0]
    with TestClient(create_app(Settings(data_dir=demo_dir, review_required=False))) as client:
        login(client, "shopper@demo.test")
        response = client.put(
            f"/api/v1/visits/{new_id()}", json=visit_body(open_assignments(client)[0])
        )
        assert response.json()["state"] == "approved"
    after = db_rows(demo_dir, "SELECT sum(visits) FROM branch_month_scores WHERE section_key = ''")[
        0
    ][0]
    assert after == before + 1
    assert_consistent(demo_dir)


def test_a_submitted_visit_is_not_counted(demo_dir: Path) -> None:
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "shopper@demo.test")
        before = db_rows(demo_dir, "SELECT * FROM branch_month_scores ORDER BY 1, 2, 3")
        response = client.put(
            f"/api/v1/visits/{new_id()}", json=visit_body(open_assignments(client)[0])
        )
        # Stored and complete, but waiting for review: the summary does not change.
        assert response.status_code == 201 and response.json()["state"] == "submitted"
    assert db_rows(demo_dir, "SELECT * FROM branch_month_scores ORDER BY 1, 2, 3") == before
    assert_consistent(demo_dir)


def scores_as_before_0014(data_dir: Path) -> dict[int, str]:
    """Store every visit's scores as the full breakdown of before migration 0014 (what the
    older migrations read); answers the compact records they replaced, by row id."""
    versions = {
        (qid, v): json.loads(text)
        for qid, v, text in db_rows(
            data_dir, "SELECT questionnaire_id, version, definition FROM questionnaire_versions"
        )
    }
    rows = db_rows(
        data_dir,
        "SELECT id, questionnaire_id, questionnaire_version, answers, stamps, scores, started_at"
        " FROM visits WHERE scores IS NOT NULL",
    )
    compact = {r[0]: r[5] for r in rows}
    db_write(
        data_dir,
        [
            (
                "UPDATE visits SET scores = ? WHERE id = ?",
                [
                    (
                        json.dumps(
                            score_visit(
                                versions[(qid, v)],
                                visit_record.unpack_answers(answers),
                                visit_record.unpack_stamps(stamps, started),
                            ).to_json()
                        ),
                        row_id,
                    )
                    for row_id, qid, v, answers, stamps, _, started in rows
                ],
            )
        ],
    )
    return compact


def test_an_upgrade_makes_scores_compact_with_the_same_numbers(demo_dir: Path) -> None:
    """A database from before migration 0014 (the request body kept, scores as the full
    breakdown, answers and stamps whole): the server's start-up drops the body and stores
    the compact forms, with the very numbers the breakdown held; reports and summaries
    do not move."""
    kept = db_rows(demo_dir, "SELECT answers, stamps FROM visits ORDER BY id")
    expected = scores_as_before_0014(demo_dir)
    db_write(
        demo_dir,
        [
            (
                "UPDATE visits SET answers = ?, stamps = ? WHERE id = ?",
                [
                    (
                        json.dumps(visit_record.unpack_answers(answers)),
                        json.dumps(visit_record.unpack_stamps(stamps, started)),
                        row_id,
                    )
                    for row_id, answers, stamps, started in db_rows(
                        demo_dir, "SELECT id, answers, stamps, started_at FROM visits"
                    )
                ],
            )
        ],
    )
    summary = db_rows(demo_dir, "SELECT * FROM branch_month_scores ORDER BY 1, 2, 3")
    db_write(
        demo_dir,
        [
            ("ALTER TABLE visits ADD COLUMN payload TEXT NOT NULL DEFAULT '{}'", ()),
            ("DROP INDEX audit_log_by_entity", ()),
            ("CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id, at)", ()),
            ("CREATE INDEX visits_by_state ON visits (state, submitted_at)", ()),
            ("DELETE FROM schema_migrations WHERE version = 14", ()),
        ],
    )
    assert len(db_rows(demo_dir, "SELECT scores FROM visits WHERE scores LIKE '%explanation%'"))
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "manager@demo.test")
        assert client.get("/chains/1/compare").status_code == 200
    got = dict(db_rows(demo_dir, "SELECT id, scores FROM visits WHERE scores IS NOT NULL"))
    assert got == expected
    assert db_rows(demo_dir, "SELECT answers, stamps FROM visits ORDER BY id") == kept
    assert db_rows(demo_dir, "SELECT * FROM branch_month_scores ORDER BY 1, 2, 3") == summary
    assert_consistent(demo_dir)


@pytest.mark.skipif(
    ENGINE != "sqlite", reason="SQLite's migration 0004 (PostgreSQL starts at 0012)"
)
def test_the_migration_backfills_data_from_before_it(demo_dir: Path) -> None:
    """Databases with approved visits before migration 0004 get the same summary."""
    from server.db import MIGRATIONS_DIR, split_statements

    scores_as_before_0014(demo_dir)  # what the migration read

    sql = (MIGRATIONS_DIR / "0004_report_summaries.sql").read_text()
    backfill = [s for s in split_statements(sql) if "INSERT INTO branch_month_scores" in s]
    assert len(backfill) == 2
    expected = db_rows(demo_dir, "SELECT * FROM branch_month_scores ORDER BY 1, 2, 3")
    db = sqlite3.connect(demo_dir / "visitscore.db")
    try:
        db.execute("DELETE FROM branch_month_scores")
        for statement in backfill:
            db.execute(statement)
        db.commit()
    finally:
        db.close()
    got = db_rows(demo_dir, "SELECT * FROM branch_month_scores ORDER BY 1, 2, 3")
    assert [(*r[:5], round(r[5], 6)) for r in got] == [(*r[:5], round(r[5], 6)) for r in expected]


def test_review_decisions_keep_every_rollup_true(demo_dir: Path) -> None:
    """Approve one submitted visit and return another through the reviewer's pages: the
    counts by state move and the summaries gain exactly the approved one."""
    waiting = db_rows(
        demo_dir, "SELECT visit_uuid FROM visits WHERE state = 'submitted' ORDER BY id LIMIT 2"
    )
    assert len(waiting) == 2
    ((branch,),) = db_rows(
        demo_dir, "SELECT branch_id FROM visits WHERE visit_uuid = ?", (waiting[0][0],)
    )
    early_plans(demo_dir, branch)  # the approval adds to their "since"
    kept = dict((r[0], r[1]) for r in db_rows(demo_dir, PLAN_PROGRESS_KEPT))
    before = dict(db_rows(demo_dir, "SELECT state, sum(visits) FROM visit_counts GROUP BY 1"))
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "reviewer@demo.test")
        token = csrf_token(client, "/review")
        for (visit_id,), decision in zip(waiting, ("approve", "return"), strict=True):
            answer = client.post(
                f"/review/{visit_id}/{decision}",
                data={"csrf_token": token, "note": "Please add the queue photo."},
                follow_redirects=False,
            )
            assert answer.status_code == 303, answer.text
    after = dict(db_rows(demo_dir, "SELECT state, sum(visits) FROM visit_counts GROUP BY 1"))
    assert after["submitted"] == before["submitted"] - 2
    assert after["approved"] == before["approved"] + 1
    assert after["returned"] == before.get("returned", 0) + 1
    assert_consistent(demo_dir)
    moved = [r for r in db_rows(demo_dir, PLAN_PROGRESS_KEPT) if r[1] != kept.get(r[0])]
    assert moved and all(r[1] == kept[r[0]] + 1 for r in moved)


@pytest.mark.skipif(
    ENGINE != "sqlite", reason="SQLite's migration 0010 (PostgreSQL starts at 0012)"
)
def test_migration_0010_backfills_the_new_rollups(demo_dir: Path) -> None:
    from server.db import MIGRATIONS_DIR, split_statements

    scores_as_before_0014(demo_dir)  # what the migration read
    sql = (MIGRATIONS_DIR / "0010_rollups.sql").read_text()
    backfill = [s for s in split_statements(sql) if s.startswith("INSERT")]
    assert len(backfill) == 2
    db = sqlite3.connect(demo_dir / "visitscore.db")
    try:
        db.execute("DELETE FROM visit_counts")
        db.execute("DELETE FROM branch_month_questions")
        for statement in backfill:
            db.execute(statement)
        db.commit()
    finally:
        db.close()
    assert db_rows(demo_dir, COUNTS_KEPT)
    assert db_rows(demo_dir, QUESTIONS_FROM_SUMMARY)
    assert_consistent(demo_dir)


def test_an_upgrade_counts_every_plans_mean_since_it_was_made(demo_dir: Path) -> None:
    """A database from before migration 0032 (plans kept no "since" sums): the server's
    start-up adds them, counted from the visits."""
    (branch,) = db_rows(demo_dir, "SELECT branch_id FROM visits WHERE state = 'approved'")[0]
    early_plans(demo_dir, branch)
    expected = db_rows(demo_dir, PLAN_PROGRESS_KEPT)
    db_write(
        demo_dir,
        [
            ("ALTER TABLE action_plans DROP COLUMN since_scored", ()),
            ("ALTER TABLE action_plans DROP COLUMN since_score_sum", ()),
            ("DELETE FROM schema_migrations WHERE version = 32", ()),
        ],
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "owner@demo.test")
    assert db_rows(demo_dir, PLAN_PROGRESS_KEPT) == expected
    assert any(n > 0 for _id, n, _sum in expected)
    assert_consistent(demo_dir)


def as_before(
    demo_dir: Path,
    version: int,
    table: str,
    create: str,
    rows: list[Any],
    after: tuple[str, ...] = (),
) -> None:
    """The rollup ``table`` made again as it was before migration ``version`` (by
    ``create``, then the statements ``after``), holding ``rows``, and that migration
    marked not applied: the next start runs it on them."""
    marks = ", ".join("?" * len(rows[0]))
    db_write(
        demo_dir,
        [
            (f"DROP TABLE {table}", ()),
            (create, ()),
            *((sql, ()) for sql in after),
            (f"INSERT INTO {table} VALUES ({marks})", rows),
            (f"DELETE FROM schema_migrations WHERE version = {version}", ()),
        ],
    )


def test_the_slot_grid_migration_keeps_every_slot(demo_dir: Path) -> None:
    """A database from before migration 0034 (one row per branch, month, weekday and part
    of the day): the upgrade turns it into one row per branch and month, same numbers."""
    expected = slots_kept(demo_dir)
    assert len(expected) > 50
    as_before(
        demo_dir,
        34,
        "branch_month_slots",
        "CREATE TABLE branch_month_slots (branch_id INTEGER NOT NULL, month TEXT NOT NULL,"
        " weekday INTEGER NOT NULL, daypart INTEGER NOT NULL, visits INTEGER NOT NULL,"
        " scored INTEGER NOT NULL, score_sum DOUBLE PRECISION NOT NULL,"
        " PRIMARY KEY (branch_id, month, weekday, daypart))",
        expected,
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "manager@demo.test")
        assert client.get("/chains/1/compare").status_code == 200
    assert same_rows(slots_kept(demo_dir), expected)
    assert_consistent(demo_dir)


def test_the_band_columns_migration_keeps_every_band(demo_dir: Path) -> None:
    """A database from before migration 0038 (one row per branch, month and band): the
    upgrade turns it into one row per branch and month, same numbers."""
    expected = db_rows(demo_dir, BANDS_KEPT)
    assert len(expected) > 50
    as_before(
        demo_dir,
        38,
        "branch_month_bands",
        "CREATE TABLE branch_month_bands (branch_id INTEGER NOT NULL, month TEXT NOT NULL,"
        " band INTEGER NOT NULL, visits INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (branch_id, month, band))",
        expected,
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "manager@demo.test")
        bands = client.get("/chains/1/compare.json?from=2000-01&to=2099-12").json()["bands"]
    assert db_rows(demo_dir, BANDS_KEPT) == expected
    assert bands == [sum(n for _b, _m, band, n in expected if band == k) for k in range(4)]
    assert sum(bands) > 50
    assert_consistent(demo_dir)


def test_the_scores_rollup_rekeyed_by_section_keeps_every_row(demo_dir: Path) -> None:
    """A database from before migration 0037 (the score rollup keyed by branch, month,
    section): the upgrade keys it by branch, section, month with the same rows."""
    everything = "SELECT * FROM branch_month_scores ORDER BY branch_id, month, section_key"
    expected = db_rows(demo_dir, everything)
    assert len(expected) > 100
    as_before(
        demo_dir,
        37,
        "branch_month_scores",
        "CREATE TABLE branch_month_scores (branch_id INTEGER NOT NULL REFERENCES"
        " branches(id), month TEXT NOT NULL, section_key TEXT NOT NULL,"
        " visits INTEGER NOT NULL DEFAULT 0, scored INTEGER NOT NULL DEFAULT 0,"
        " score_sum DOUBLE PRECISION NOT NULL DEFAULT 0,"
        " PRIMARY KEY (branch_id, month, section_key))",
        expected,
        after=(
            "CREATE INDEX branch_month_scores_by_month ON branch_month_scores (month, branch_id)",
        ),
    )
    with TestClient(create_app(Settings(data_dir=demo_dir))) as client:
        login(client, "manager@demo.test")
        assert client.get("/chains/1/compare").status_code == 200
    assert same_rows(db_rows(demo_dir, everything), expected)
    assert_consistent(demo_dir)
