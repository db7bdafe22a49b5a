"""A data folder at scale: the demo (its users, roles, questionnaire, photos) grown to
``branches`` branches in its chain and ``visits`` more approved visits.

Each added visit is a copy of one of the demo's approved visits (its answers, stamps
and scores, moved to another branch and day over the last 24 months),
with its assignment and the audit rows the server writes for it, so rows are the
size and shape the server really stores. The demo's own branches are busy ones (each
gets DEMO_BRANCH_SHARE of the visits, the scale branches share the rest), so the pages
their users read, a branch's visit list for one, are full at every size and grow only
with the data. The visits are shared among the demo's
shoppers and enough added ones for about VISITS_PER_SHOPPER each. Rows are written with plain
sqlite3 in transactions of ``BATCH`` visits, so the WAL stays small; the summaries are
then rebuilt by the server's own code, as an upgrade would.

    .venv/bin/python benchmarks/scale_data.py DATA_DIR --visits 100000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sqlite3
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.db import Database  # noqa: E402
from server.queries import rollups  # noqa: E402
from tests.conftest import DEMO_TODAY, build_demo  # noqa: E402

BATCH = 10_000
VISITS_PER_SHOPPER = 200
"""Shoppers added so each does about this many visits (a real roster: many shoppers, a
few hundred visits each), beside the demo's three."""
MONTHS = 24
DEMO_BRANCH_SHARE = 0.01
"""About 100 visits to each demo branch at 10k visits (two pages of its visit list)."""
PASSWORD = "visitscore-demo"


def grow(data: Path, visits: int, branches: int = 500, seed: int = 7) -> None:
    """Build the demo in ``data`` and add ``visits`` approved visits over ``branches``."""
    build_demo(data)
    rng = random.Random(seed)
    db = sqlite3.connect(data / "visitscore.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    chain_id, zone, now = db.execute(
        "SELECT chain_id, timezone, created_at FROM branches ORDER BY id LIMIT 1"
    ).fetchone()
    have = db.execute("SELECT count(*) FROM branches").fetchone()[0]
    regions = [r for (r,) in db.execute("SELECT DISTINCT region FROM branches")]
    db.executemany(
        "INSERT INTO branches (chain_id, code, name, region, city, timezone, created_at)"
        " VALUES (?, ?, ?, ?, 'City', ?, ?)",
        [
            (chain_id, f"S{n:04d}", f"Scale branch {n:04d}", regions[n % len(regions)], zone, now)
            for n in range(have + 1, branches + 1)
        ],
    )
    branch_ids = [b for (b,) in db.execute("SELECT id FROM branches ORDER BY id")]
    busy = min(have, len(branch_ids))
    rest = (1 - busy * DEMO_BRANCH_SHARE) / max(1, len(branch_ids) - busy)
    weights = [DEMO_BRANCH_SHARE] * busy + [rest] * (len(branch_ids) - busy)
    cumulative = list(itertools.accumulate(weights))
    password_hash, locale = db.execute(
        "SELECT password_hash, locale FROM users WHERE role = 'shopper' ORDER BY id LIMIT 1"
    ).fetchone()
    extra = max(0, visits // VISITS_PER_SHOPPER - 3)
    db.executemany(
        "INSERT INTO users (email, name, role, password_hash, locale, created_at)"
        " VALUES (?, ?, 'shopper', ?, ?, ?)",
        [
            (
                f"scale-shopper{n:05d}@demo.test",
                f"Scale Shopper {n:05d}",
                password_hash,
                locale,
                now,
            )
            for n in range(extra)
        ],
    )
    shopper_ids = [s for (s,) in db.execute("SELECT id FROM users WHERE role = 'shopper'")]
    templates = db.execute(
        "SELECT shopper_id, questionnaire_id, questionnaire_version, content_hash,"
        " started_at, ended_at, started_utc, received_at, submitted_at, stamps, answers,"
        " comment, score_total, scores FROM visits WHERE state = 'approved'"
    ).fetchall()
    db.execute("COMMIT")
    first_day = DEMO_TODAY - timedelta(days=MONTHS * 30)
    days = (DEMO_TODAY - first_day).days
    done = 0
    while done < visits:
        count = min(BATCH, visits - done)
        db.execute("BEGIN")
        next_assignment = db.execute("SELECT coalesce(max(id), 0) + 1 FROM assignments").fetchone()[
            0
        ]
        assignments, rows, audits = [], [], []
        for i in range(count):
            t = templates[rng.randrange(len(templates))]
            day = first_day + timedelta(days=rng.randrange(days))
            old = str(t[4])[:10]
            new = day.isoformat()
            (branch,) = rng.choices(branch_ids, cum_weights=cumulative)
            shopper = rng.choice(shopper_ids)
            assignment = next_assignment + i
            assignments.append((assignment, branch, shopper, t[1], t[2], new, new, now, now))
            started = str(t[4]).replace(old, new)
            visit_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            # What the server writes for a visit sent complete and approved by a reviewer:
            # received and submitted in one row, then approved.
            for action, details in (
                ("visit.submitted", '{"received":{"photos":0},"revision":1}'),
                ("visit.approved", '{"revision":1}'),
            ):
                audits.append((now, shopper, action, visit_uuid, details))
            utc = datetime.fromisoformat(started).astimezone().isoformat()
            rows.append(
                (
                    visit_uuid,
                    assignment,
                    branch,
                    shopper,
                    t[1],
                    t[2],
                    t[3],
                    started,
                    str(t[5]).replace(old, new),
                    utc,
                    t[7],
                    t[8],
                    t[9].replace(old, new),
                    t[10],
                    t[11],
                    t[12],
                    t[13],
                    now,
                    new,
                )
            )
        db.executemany(
            "INSERT INTO audit_log (at, actor_id, action, entity, entity_id, details)"
            " VALUES (?, ?, ?, 'visit', ?, ?)",
            audits,
        )
        db.executemany(
            "INSERT INTO assignments (id, branch_id, shopper_id, questionnaire_id,"
            " questionnaire_version, window_start, window_end, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'done', ?, ?)",
            assignments,
        )
        db.executemany(
            "INSERT INTO visits (visit_uuid, revision, assignment_id, branch_id, shopper_id,"
            " questionnaire_id, questionnaire_version, state, content_hash, started_at,"
            " ended_at, started_utc, received_at, submitted_at, stamps, answers, comment,"
            " score_total, scores, updated_at, local_date)"
            " VALUES (?, 1, ?, ?, ?, ?, ?, 'approved', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.execute("COMMIT")
        done += count
    _plans(db, rng, branch_ids, first_day, days, now)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()

    async def rebuild() -> None:
        async with Database(data / "visitscore.db") as database:
            async with database.transaction() as tx:
                await rollups.rebuild(tx)

    asyncio.run(rebuild())


PLANS_PER_BRANCH = 4
TARGET = 80


def _plans(
    db: sqlite3.Connection,
    rng: random.Random,
    branch_ids: list[int],
    first_day: date,
    days: int,
    now: str,
) -> None:
    """Every branch gets PLANS_PER_BRANCH action plans on the questionnaire's sections
    (most done, so the next visit judges them; some verified, some still open) and the
    programme a target for each section: the dashboard and the comparison read plans as
    a real programme's would. The same plans at any number of visits (their own rng)."""
    rng = random.Random(len(branch_ids))
    (definition,) = db.execute(
        "SELECT definition FROM questionnaire_versions WHERE published_at IS NOT NULL"
        " ORDER BY published_at LIMIT 1"
    ).fetchone()
    sections = [s["key"] for s in json.loads(definition)["sections"]]
    user = db.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]
    rows = []
    for branch in branch_ids:
        for n in range(PLANS_PER_BRANCH):
            day = first_day + timedelta(days=rng.randrange(days))
            at = f"{day.isoformat()}T09:00:00Z"
            state = ("done", "verified", "open", "in_progress")[n % 4]
            done = at if state in ("done", "verified") else None
            rows.append(
                (branch, sections[n % len(sections)], f"Plan {n}", state, user, at, at, done)
            )
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO action_plans (branch_id, section_key, text, state, created_by,"
        " created_at, updated_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute(
        "INSERT INTO programme_settings (key, value, updated_at) VALUES ('targets', ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (json.dumps({"total": TARGET, "sections": {k: TARGET for k in sections}}), now),
    )
    db.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--branches", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    grow(args.data, args.visits, args.branches)
    size = (args.data / "visitscore.db").stat().st_size
    print(
        f"{args.visits:,} visits over {args.branches} branches in"
        f" {time.perf_counter() - started:.0f} s ({size / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
