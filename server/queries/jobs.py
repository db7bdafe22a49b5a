"""The background job queue (``jobs``, migration 0013): enqueue, claim under a lease,
report progress, finish, fail or retry, expire; and the data stamp exports are reused by.

Times are server timestamps (:func:`server.db.utcnow`, ISO text in UTC, second
precision), so they compare as text on both engines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ..db import Reader, Transaction, plain, utcnow
from . import audit

STATES = ("queued", "running", "done", "failed", "expired")

COLUMNS = (
    "id, kind, params, fingerprint, state, attempts, max_attempts, run_after, worker,"
    " lease_until, done_count, total_count, stamp, result, error, created_by, created_at,"
    " started_at, finished_at"
)


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def _job(row: Any) -> dict[str, Any] | None:
    job = plain(row)
    if job is not None:
        job["params"] = json.loads(job["params"])
        job["result"] = json.loads(job["result"]) if job["result"] else None
    return job


async def enqueue(
    tx: Transaction,
    kind: str,
    params: dict[str, Any],
    *,
    actor_id: int | None,
    fingerprint: str = "",
    max_attempts: int = 3,
    run_after: str | None = None,
) -> int:
    """Queue a job, due now or at ``run_after`` (a UTC timestamp as :func:`later` gives)."""
    now = utcnow()
    job_id = await tx.insert(
        "INSERT INTO jobs (kind, params, fingerprint, max_attempts, run_after, created_by,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            kind,
            json.dumps(params, sort_keys=True),
            fingerprint,
            max_attempts,
            run_after or now,
            actor_id,
            now,
        ),
    )
    await audit.record(tx, actor_id, "job.queued", "job", job_id, {"kind": kind})
    return job_id


async def get(db: Reader, job_id: int) -> dict[str, Any] | None:
    return _job(await db.fetchone(f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)))


async def latest_by_fingerprint(db: Reader, fingerprint: str) -> dict[str, Any] | None:
    """The newest job that makes the same thing and has not failed or expired."""
    return _job(
        await db.fetchone(
            f"SELECT {COLUMNS} FROM jobs WHERE fingerprint = ?"
            " AND state IN ('queued', 'running', 'done') ORDER BY id DESC LIMIT 1",
            (fingerprint,),
        )
    )


async def recent(
    db: Reader, limit: int = 100, created_by: int | None = None
) -> list[dict[str, Any]]:
    """The newest jobs first (of one user, when given), with who asked for them."""
    where, params = (
        ("WHERE j.created_by = ?", (created_by,)) if created_by is not None else ("", ())
    )
    rows = await db.fetchall(
        f"SELECT {', '.join('j.' + c.strip() for c in COLUMNS.split(','))}, u.name AS who"
        f" FROM jobs j LEFT JOIN users u ON u.id = j.created_by {where}"
        " ORDER BY j.id DESC LIMIT ?",
        (*params, limit),
    )
    return [job for job in (_job(r) for r in rows) if job is not None]


async def counts(db: Reader) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, count(*) FROM jobs GROUP BY state")
    return {state: 0 for state in STATES} | {r[0]: int(r[1]) for r in rows}


async def any_due(db: Reader) -> bool:
    """Whether :func:`claim` would find a job (a read, so an idle worker's look costs no
    write lock)."""
    now = utcnow()
    row = await db.fetchone(
        "SELECT 1 FROM jobs WHERE (state = 'queued' AND run_after <= ?)"
        " OR (state = 'running' AND lease_until < ?) LIMIT 1",
        (now, now),
    )
    return row is not None


async def claim(tx: Transaction, worker: str, lease_seconds: float) -> dict[str, Any] | None:
    """Take the oldest job that is due: queued and past its ``run_after``, or running
    under a lease that ran out (its worker died). Jobs whose last attempt ran out are
    marked failed instead. On PostgreSQL the row is locked and other workers skip it."""
    now = utcnow()
    while True:
        row = await tx.fetchone(
            f"SELECT {COLUMNS} FROM jobs WHERE (state = 'queued' AND run_after <= ?)"
            " OR (state = 'running' AND lease_until < ?) ORDER BY id LIMIT 1" + tx.row_lock,
            (now, now),
        )
        job = _job(row)
        if job is None:
            return None
        if job["attempts"] >= job["max_attempts"]:
            await _end(
                tx,
                job["id"],
                "failed",
                error=f"its worker stopped during attempt {job['attempts']}",
            )
            continue
        await tx.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?,"
            " lease_until = ?, started_at = ?, error = NULL WHERE id = ?",
            (worker, later(lease_seconds), now, job["id"]),
        )
        job.update(state="running", attempts=job["attempts"] + 1, worker=worker)
        return job


async def progress(
    tx: Transaction,
    job_id: int,
    worker: str,
    done: int,
    total: int | None,
    lease_seconds: float,
    stamp: str | None = None,
) -> bool:
    """Record progress and renew the lease; False when this worker no longer holds the
    job (its lease ran out and another worker took it), so it must stop."""
    changed = await tx.execute(
        "UPDATE jobs SET done_count = ?, total_count = ?, lease_until = ?,"
        " stamp = COALESCE(?, stamp) WHERE id = ? AND worker = ? AND state = 'running'",
        (done, total, later(lease_seconds), stamp, job_id, worker),
    )
    return changed == 1


async def finish(tx: Transaction, job_id: int, worker: str, result: dict[str, Any]) -> bool:
    changed = await tx.execute(
        "UPDATE jobs SET state = 'done', result = ?, finished_at = ?, lease_until = NULL,"
        " error = NULL WHERE id = ? AND worker = ? AND state = 'running'",
        (json.dumps(result, sort_keys=True), utcnow(), job_id, worker),
    )
    if changed:
        await audit.record(tx, None, "job.done", "job", job_id, {"worker": worker})
    return changed == 1


async def fail(
    tx: Transaction, job_id: int, worker: str, error: str, retry_in: float | None
) -> bool:
    """An attempt failed: queue the job again after ``retry_in`` seconds, or (None) mark it
    failed for good with the error shown to whoever asked."""
    if retry_in is not None:
        changed = await tx.execute(
            "UPDATE jobs SET state = 'queued', run_after = ?, error = ?, worker = NULL,"
            " lease_until = NULL WHERE id = ? AND worker = ? AND state = 'running'",
            (later(retry_in), error, job_id, worker),
        )
        return changed == 1
    changed = await tx.execute(
        "UPDATE jobs SET worker = worker WHERE id = ? AND worker = ? AND state = 'running'",
        (job_id, worker),
    )
    if changed:
        await _end(tx, job_id, "failed", error=error)
    return changed == 1


async def release(tx: Transaction, job_id: int, worker: str) -> None:
    """Give a job back to the queue as if this attempt had not started (the server is
    stopping): another worker may take it at once."""
    await tx.execute(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, worker = NULL,"
        " lease_until = NULL, run_after = ? WHERE id = ? AND worker = ? AND state = 'running'",
        (utcnow(), job_id, worker),
    )


async def _end(tx: Transaction, job_id: int, state: str, error: str | None = None) -> None:
    await tx.execute(
        "UPDATE jobs SET state = ?, error = COALESCE(?, error), finished_at = ?,"
        " lease_until = NULL WHERE id = ?",
        (state, error, utcnow(), job_id),
    )
    await audit.record(tx, None, f"job.{state}", "job", job_id, {"error": error} if error else {})


async def due_to_expire(db: Reader, kinds: tuple[str, ...], before: str) -> list[dict[str, Any]]:
    """Finished jobs of these kinds (their files kept) that finished before ``before``."""
    marks = ",".join("?" * len(kinds))
    rows = await db.fetchall(
        f"SELECT {COLUMNS} FROM jobs WHERE state IN ('done', 'failed') AND kind IN ({marks})"
        " AND finished_at < ? ORDER BY id LIMIT 100",
        (*kinds, before),
    )
    return [job for job in (_job(r) for r in rows) if job is not None]


async def expire(tx: Transaction, job_id: int) -> None:
    await tx.execute(
        "UPDATE jobs SET state = 'expired' WHERE id = ? AND state IN ('done', 'failed')",
        (job_id,),
    )


async def data_stamp(db: Reader) -> str:
    """What an export's contents depend on, as one value: how many visits are approved
    (approved visits never change and are never removed), and the latest change to a
    branch (its name, code or region are columns) and to a questionnaire (its sections
    and questions are columns). An export made at a stamp is still true while the stamp
    stays the same. Three index lookups, whatever the number of visits."""
    row = await db.fetchone(
        "SELECT (SELECT coalesce(sum(visits), 0) FROM visit_counts WHERE state = 'approved'),"
        " (SELECT coalesce(max(id), 0) FROM audit_log WHERE entity = 'branch'),"
        " (SELECT coalesce(max(id), 0) FROM audit_log WHERE entity = 'questionnaire')"
    )
    return ":".join(str(int(v)) for v in row) if row else "0:0:0"
