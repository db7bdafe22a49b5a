"""The rollups (per-branch-per-month scores and questions, visit counts by questionnaire
version and state) always agree with the visits they sum."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import ENGINE, csrf_token, db_rows, login

FROM_VISITS = """
SELECT branch_id, substr(local_date, 1, 7) AS month, count(*), count(score_total),
       round(CAST(coalesce(sum(score_total), 0) AS NUMERIC), 6)
FROM visits WHERE state = 'approved' GROUP BY 1, 2 ORDER BY 1, 2"""
FROM_SUMMARY = """
SELECT branch_id, month, visits, scored, round(CAST(score_sum AS NUMERIC), 6)
FROM branch_month_scores
WHERE section_key = '' ORDER BY 1, 2"""
SECTIONS_FROM_VISITS = """
SELECT v.branch_id, substr(v.local_date, 1, 7), json_extract(s.value, '$.key'),
       count(json_extract(s.value, '$.score')),
       round(CAST(coalesce(sum(CAST(json_extract(s.value, '$.score') AS DOUBLE PRECISION)), 0)
       AS NUMERIC), 6)
FROM visits v, json_each(v.scores, '$.sections') s WHERE v.state = 'approved'
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
SECTIONS_FROM_SUMMARY = """
SELECT branch_id, month, section_key, scored, round(CAST(score_sum AS NUMERIC), 6)
FROM branch_month_scores
WHERE section_key <> '' ORDER BY 1, 2, 3"""

QUESTIONS_FROM_VISITS = """
SELECT v.branch_id, substr(v.local_date, 1, 7), json_extract(q.value, '$.key'), count(*),
       round(CAST(sum(CAST(json_extract(q.value, '$.earned') AS DOUBLE PRECISION)) AS NUMERIC), 6),
       round(CAST(sum(CAST(json_extract(q.value, '$.possible') AS DOUBLE PRECISION)) AS NUMERIC), 6)
FROM visits v, json_each(v.scores, '$.questions') q WHERE v.state = 'approved'
  AND json_extract(q.value, '$.status') = 'scored'
  AND CAST(json_extract(q.value, '$.possible') AS DOUBLE PRECISION) > 0
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""
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


def assert_consistent(data_dir: Path) -> None:
    assert db_rows(data_dir, FROM_SUMMARY) == db_rows(data_dir, FROM_VISITS)
    assert db_rows(data_dir, SECTIONS_FROM_SUMMARY) == db_rows(data_dir, SECTIONS_FROM_VISITS)
    assert db_rows(data_dir, QUESTIONS_FROM_SUMMARY) == db_rows(data_dir, QUESTIONS_FROM_VISITS)
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


def test_the_migration_backfills_data_from_before_it(demo_dir: Path) -> None:
    """Databases with approved visits before migration 0004 get the same summary."""
    from server.db import MIGRATIONS_DIR, split_statements

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


@pytest.mark.skipif(
    ENGINE != "sqlite", reason="SQLite's migration 0010 (PostgreSQL starts at 0012)"
)
def test_migration_0010_backfills_the_new_rollups(demo_dir: Path) -> None:
    from server.db import MIGRATIONS_DIR, split_statements

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
