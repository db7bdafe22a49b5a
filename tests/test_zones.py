"""One local day per visit: computed once in the branch's time zone when the visit is
stored, and used by the monthly summaries, the window check, the exports and the JSON."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from starlette.testclient import TestClient

from server import zones
from server.app import create_app
from server.migrate import migrate_all
from server.settings import Settings
from tests.api.conftest import visit_body
from tests.conftest import db_rows, db_write, login, open_db
from tests.test_summaries import assert_consistent

KUTA = 10  # Toko Contoh Kuta, Bali: Asia/Makassar (UTC+8)
LATE = "2026-11-30T23:30:00+07:00"  # a phone still on Jakarta time, in Bali: Dec 1, 00:30


def test_local_date_is_the_day_at_the_branch() -> None:
    assert zones.local_date(LATE, "Asia/Makassar") == "2026-12-01"
    assert zones.local_date(LATE, "Asia/Jakarta") == "2026-11-30"
    assert zones.local_date("2026-12-01T00:30:00+01:00", "America/New_York") == "2026-11-30"
    assert zones.local_date(LATE, "Not/AZone") == "2026-11-30"  # unknown zone: UTC
    assert zones.today_in("Pacific/Kiritimati") >= zones.today_in("Pacific/Pago_Pago")


def _assignment_at_kuta(data: Path) -> int:
    db_write(
        data,
        [
            (
                "INSERT INTO assignments (branch_id, shopper_id, questionnaire_id,"
                " questionnaire_version, window_start, window_end, state, created_at,"
                " updated_at) SELECT ?, id, 'default', 1, '2026-11-20', '2026-11-30', 'open',"
                " '2026-11-19T00:00:00+00:00', '2026-11-19T00:00:00+00:00'"
                " FROM users WHERE email = 'shopper@demo.test'",
                (KUTA,),
            )
        ],
    )
    return int(db_rows(data, "SELECT max(id) FROM assignments")[0][0])


def test_a_late_visit_in_bali_belongs_to_december_everywhere(demo_dir: Path) -> None:
    assignment = _assignment_at_kuta(demo_dir)
    settings = Settings(data_dir=demo_dir, review_required=False)  # approved at once
    with TestClient(create_app(settings)) as client:
        login(client, "shopper@demo.test")
        body = visit_body(
            {"id": assignment, "questionnaire": {"id": "default", "version": 1}},
            started_at=LATE,
            ended_at="2026-11-30T23:50:00+07:00",
            stamps={
                "entered": "2026-11-30T23:30:03+07:00",
                "greeted": "2026-11-30T23:30:41+07:00",
                "joined_queue": "2026-11-30T23:40:00+07:00",
                "served": "2026-11-30T23:42:00+07:00",
            },
        )
        visit_id = "0a1b2c3d-0000-4000-8000-000000000001"
        assert client.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
        assert db_rows(
            demo_dir, "SELECT local_date, state FROM visits WHERE visit_uuid = ?", (visit_id,)
        ) == [("2026-12-01", "approved")]
        # Counted in December at the branch, not in November by the phone's offset.
        assert db_rows(
            demo_dir,
            "SELECT month, visits FROM branch_month_scores WHERE branch_id = ? AND section_key = ''"
            " AND month >= '2026-11' ORDER BY month",
            (KUTA,),
        )[-1] == ("2026-12", 1)
        assert_consistent(demo_dir)
        client.cookies.clear()
        login(client, "admin@demo.test")
        report = client.get(f"/visits/{visit_id}.json").json()
        assert report["local_date"] == "2026-12-01"
        # Checked against its window (to Nov 30) as the day it was at the branch.
        page = client.get(f"/visits/{visit_id}").text
        assert "outside its window" in page
        rows = list(csv.DictReader(io.StringIO(client.get("/chains/1/visits.csv").text[1:])))
        assert next(r for r in rows if r["Visit"] == visit_id)["Date"] == "2026-12-01"
        listed = client.get("/chains/1/visits.json").json()["visits"]
        assert next(v for v in listed if v["visit_id"] == visit_id)["local_date"] == "2026-12-01"


def test_visits_stored_before_local_dates_are_backfilled_and_recounted(demo_dir: Path) -> None:
    before = db_rows(demo_dir, "SELECT count(*) FROM visits WHERE local_date IS NOT NULL")
    assert before[0][0] > 100
    db_write(
        demo_dir,
        [("UPDATE visits SET local_date = NULL", ()), ("DELETE FROM branch_month_scores", ())],
    )

    async def again() -> list[str]:
        async with open_db(demo_dir) as database:
            return await migrate_all(database)

    assert asyncio.run(again()) == ["visit local dates"]
    assert db_rows(demo_dir, "SELECT count(*) FROM visits WHERE local_date IS NOT NULL") == before
    wrong = db_rows(
        demo_dir,
        "SELECT v.started_at, v.local_date, b.timezone FROM visits v"
        " JOIN branches b ON b.id = v.branch_id",
    )
    assert all(zones.local_date(s, tz) == day for s, day, tz in wrong)
    assert_consistent(demo_dir)
