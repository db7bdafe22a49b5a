"""Quality review: the queue of submitted visits, their warnings, and the decisions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..db import Reader, Row, Transaction, plain_rows
from ..reports import location_check
from ..scoring import parse_stamp
from . import action_plans, audit, pay, summaries, visits

SHORT_VISIT = timedelta(minutes=3)
CLOCK_SKEW = timedelta(minutes=10)


async def queue(db: Reader) -> list[dict[str, Any]]:
    """Submitted visits (their newest revision), oldest first."""
    return plain_rows(
        await db.fetchall(
            "SELECT v.*, b.name AS branch_name, b.region, b.timezone FROM visits v"
            " JOIN branches b ON b.id = v.branch_id WHERE v.state = 'submitted'"
            " AND v.revision = (SELECT max(revision) FROM visits w"
            " WHERE w.visit_uuid = v.visit_uuid)"
            " ORDER BY v.submitted_at, v.id"
        )
    )


def _moment(text: str | None) -> datetime | None:
    return parse_stamp(text)


async def warnings(db: Reader, row: Row) -> list[dict[str, Any]]:
    """What a reviewer should look at twice, each as {code, detail}."""
    found: list[dict[str, Any]] = []
    assignment = await db.fetchone(
        "SELECT window_start, window_end FROM assignments WHERE id = ?", (row["assignment_id"],)
    )
    day = row["local_date"] or ""  # the visit's day at the branch, as windows are
    if assignment and day and not assignment["window_start"] <= day <= assignment["window_end"]:
        found.append(
            {
                "code": "outside_window",
                "detail": {
                    "day": day,
                    "start": assignment["window_start"],
                    "end": assignment["window_end"],
                },
            }
        )
    started, ended = _moment(row["started_at"]), _moment(row["ended_at"])
    received = _moment(row["received_at"])
    if ended and received and ended - received > CLOCK_SKEW:
        found.append(
            {
                "code": "device_clock",
                "detail": {"minutes": round((ended - received).total_seconds() / 60)},
            }
        )
    if started and ended and ended - started < SHORT_VISIT:
        found.append(
            {
                "code": "short_visit",
                "detail": {"minutes": round((ended - started).total_seconds() / 60, 1)},
            }
        )
    branch = await db.fetchone(
        "SELECT latitude, longitude FROM branches WHERE id = ?", (row["branch_id"],)
    )
    if branch and row["geo_lat"] is not None:
        check = location_check(
            {"lat": row["geo_lat"], "lon": row["geo_lon"], "accuracy_m": row["geo_accuracy_m"]},
            branch["latitude"],
            branch["longitude"],
        )
        if check and not check["near"]:
            found.append({"code": "far_from_branch", "detail": check})
    reused = await db.fetchall(
        "SELECT DISTINCT other.visit_uuid FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
        " JOIN photos other ON other.sha256 = p.sha256 AND other.visit_uuid <> p.visit_uuid"
        " WHERE vp.visit_id = ?",
        (row["id"],),
    )
    if reused:
        found.append(
            {"code": "photo_reused", "detail": {"visits": [r["visit_uuid"] for r in reused]}}
        )
    return found


async def decide(
    tx: Transaction,
    visit_id: int,
    decision: str,
    actor_id: int,
    note: str | None,
    questions: list[str] | None = None,
) -> None:
    """Approve, return (with a note for the shopper) or reject (with a reason) a submitted
    visit, with its audit row and, for approval, the comparison summary, all at once. A
    returned visit may point at answers (question keys) for the shopper to change."""
    row = await tx.fetchone(
        "SELECT visit_uuid, revision, state FROM visits WHERE id = ?", (visit_id,)
    )
    if row is None or row["state"] != "submitted":
        raise ValueError("only a submitted visit can be reviewed")
    if decision == "return":
        await visits.return_to_shopper(tx, visit_id, note or "", actor_id, questions)
        return
    state = {"approve": "approved", "reject": "rejected"}[decision]
    await visits.set_state(tx, visit_id, state, note)
    details: dict[str, Any] = {"revision": row["revision"]}
    if note:
        details["note"] = note
    await audit.record(tx, actor_id, f"visit.{state}", "visit", row["visit_uuid"], details)
    if state == "approved":
        await summaries.count_approval(tx, visit_id)
        await action_plans.open_for_approval(tx, row["visit_uuid"])
        await pay.earn(tx, row["visit_uuid"])
