"""Bring a database up to date: the numbered SQL migrations, then built-in data."""

from __future__ import annotations

from .db import Database
from .queries import questionnaires, rollups, visits


async def migrate_all(db: Database) -> list[str]:
    """Apply what is missing; answers what was done (empty when already up to date)."""
    done = await db.migrate()
    async with db.transaction() as tx:
        if await questionnaires.install_default(tx):
            done.append("default questionnaire")
    async with db.transaction() as tx:
        # Visits stored before 0008 get their branch-local day, and the monthly summaries
        # are recounted by it (they used the phone's offset).
        if await visits.backfill_local_dates(tx):
            await rollups.rebuild(tx)
            done.append("visit local dates")
    if any(name.startswith("0014_") for name in done):
        # Rows stored before 0014 take the compact forms (scores, answers, stamps).
        # (Rows left as they were, had this stopped half-way, still read the same.)
        async with db.transaction() as tx:
            if await visits.compact_rows(tx):
                done.append("compact visit rows")
    if any(name.startswith(("0016_", "0021_")) for name in done):
        # The answer counts (0016), score bands and weekday slots (0021) start from every
        # visit approved before them.
        async with db.transaction() as tx:
            await rollups.rebuild(tx)
            done.append("answer counts")
    elif any(name.startswith("0032_") for name in done):
        # Plans keep their mean since they were made from 0032 on: count it once.
        async with db.transaction() as tx:
            await rollups.recount_plan_progress(tx)
            done.append("plan progress")
    return done
