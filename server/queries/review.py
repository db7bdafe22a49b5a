"""Quality review: the queue of submitted visits, their warnings, and the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..db import Reader, Row, Transaction, plain_rows
from ..reports import location_check
from ..scoring import parse_stamp
from . import action_plans, audit, pay, rollups, visits

SHORT_VISIT = timedelta(minutes=3)
CLOCK_SKEW = timedelta(minutes=10)


WARNING_CODES = (
    "outside_window",
    "device_clock",
    "short_visit",
    "far_from_branch",
    "photo_reused",
)
SORTS = {
    "oldest": "v.submitted_at, v.id",
    "newest": "v.submitted_at DESC, v.id DESC",
    "branch": "b.name, v.submitted_at, v.id",
    "score": "v.score_total, v.submitted_at, v.id",
}
PER_PAGE = 50
MAX_BULK = 500


@dataclass(frozen=True)
class QueueFilter:
    """What the review queue shows: every field narrows it (None: no narrowing).
    ``warning`` is a code of WARNING_CODES, ``"none"`` or ``"any"``; ``waited_before`` an
    ISO moment: only visits submitted before it."""

    branch_id: int | None = None
    region: str | None = None
    shopper_id: int | None = None
    warning: str | None = None
    waited_before: str | None = None
    text: str | None = None
    """A branch's name or code, or a shopper's name, containing it."""

    def where(self) -> tuple[str, dict[str, Any]]:
        # A submitted row is always its visit's newest revision: a new revision is
        # taken only after the newest was returned (intake.py), so no revision check.
        clauses = ["v.state = 'submitted'"]
        params: dict[str, Any] = {}
        if self.branch_id is not None:
            clauses.append("v.branch_id = :branch")
            params["branch"] = self.branch_id
        if self.region is not None:
            clauses.append("b.region = :region")
            params["region"] = self.region
        if self.shopper_id is not None:
            clauses.append("v.shopper_id = :shopper")
            params["shopper"] = self.shopper_id
        if self.warning == "none":
            clauses.append("v.warning_codes = ','")
        elif self.warning == "any":
            clauses.append("v.warning_codes <> ','")
        elif self.warning is not None:
            clauses.append("v.warning_codes LIKE :code")
            params["code"] = f"%,{self.warning},%"
        if self.text:
            clauses.append(
                "(lower(b.name) LIKE :text OR lower(b.code) LIKE :text OR v.shopper_id IN"
                " (SELECT id FROM users WHERE role = 'shopper' AND lower(name) LIKE :text))"
            )
            params["text"] = f"%{self.text.lower()}%"
        if self.waited_before is not None:
            clauses.append("v.submitted_at < :before")
            params["before"] = self.waited_before
        return " AND ".join(clauses), params


_QUEUE_FROM = " FROM visits v JOIN branches b ON b.id = v.branch_id"


async def queue(
    db: Reader,
    chosen: QueueFilter | None = None,
    sort: str = "oldest",
    offset: int = 0,
    limit: int = PER_PAGE,
) -> list[dict[str, Any]]:
    """Submitted visits (their newest revision) the filter lets through, in ``sort``
    order, a page at a time; each with its branch and shopper."""
    where, params = (chosen or QueueFilter()).where()
    return plain_rows(
        await db.fetchall(
            "SELECT v.*, b.name AS branch_name, b.region, b.timezone, u.name AS shopper_name"
            f"{_QUEUE_FROM} LEFT JOIN users u ON u.id = v.shopper_id WHERE {where}"
            f" ORDER BY {SORTS[sort]} LIMIT :limit OFFSET :offset",
            {**params, "limit": limit, "offset": offset},
        )
    )


async def queue_count(db: Reader, chosen: QueueFilter | None = None) -> int:
    where, params = (chosen or QueueFilter()).where()
    row = await db.fetchone(f"SELECT count(*){_QUEUE_FROM} WHERE {where}", params)
    return int(row[0]) if row else 0


async def queue_ids(db: Reader, chosen: QueueFilter, limit: int = MAX_BULK) -> list[str]:
    """The visits (ids) the filter lets through, oldest first, at most ``limit``."""
    where, params = chosen.where()
    rows = await db.fetchall(
        f"SELECT v.visit_uuid{_QUEUE_FROM} WHERE {where} ORDER BY v.submitted_at, v.id"
        " LIMIT :limit",
        {**params, "limit": limit},
    )
    return [r[0] for r in rows]


async def queue_regions(db: Reader) -> list[str]:
    """The regions that have visits waiting (for the filter), counted from the waiting
    visits' index alone, then named."""
    rows = await db.fetchall(
        "SELECT DISTINCT b.region FROM (SELECT DISTINCT branch_id FROM visits"
        " WHERE state = 'submitted') g JOIN branches b ON b.id = g.branch_id ORDER BY 1"
    )
    return [r[0] for r in rows]


async def named(db: Reader, branch_id: int | None, shopper_id: int | None) -> dict[str, str]:
    """The names of the branch and the shopper a queue is narrowed to (for its filters)."""
    out: dict[str, str] = {}
    if branch_id is not None:
        row = await db.fetchone("SELECT name FROM branches WHERE id = ?", (branch_id,))
        out["branch"] = row[0] if row else ""
    if shopper_id is not None:
        row = await db.fetchone("SELECT name FROM users WHERE id = ?", (shopper_id,))
        out["shopper"] = row[0] if row else ""
    return out


def codes_text(found: list[dict[str, Any]]) -> str:
    """Warning codes as kept in ``visits.warning_codes``: ",a,b," (``","``: none)."""
    return "," + "".join(f"{w['code']}," for w in found)


async def warning_codes_missing(db: Reader) -> bool:
    """Whether some waiting visit has no warning codes kept yet (a read, so the queue
    takes the write lock only when there is something to keep)."""
    row = await db.fetchone(
        "SELECT 1 FROM visits WHERE state = 'submitted' AND warning_codes IS NULL LIMIT 1"
    )
    return row is not None


async def fill_warning_codes(tx: Transaction, limit: int = 1000) -> int:
    """Work out and keep the warning codes of waiting visits that have none kept yet
    (new ones since the last look), so the queue filters by them. Answers how many."""
    rows = await tx.fetchall(
        "SELECT * FROM visits WHERE state = 'submitted' AND warning_codes IS NULL LIMIT ?",
        (limit,),
    )
    for row in rows:
        await tx.execute(
            "UPDATE visits SET warning_codes = ? WHERE id = ?",
            (codes_text(await warnings(tx, row)), row["id"]),
        )
    return len(rows)


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
    answer_notes: dict[str, str] | None = None,
    rating: tuple[int, str] | None = None,
) -> None:
    """Approve, return (with a note for the shopper) or reject (with a reason) a submitted
    visit, with its audit row and, for approval, the comparison summary, all at once. A
    returned visit may point at answers (question keys) for the shopper to change, with a
    note on each (``answer_notes``). ``rating`` is the reviewer's (1–10, reason) for the
    visit's quality."""
    row = await tx.fetchone(
        "SELECT visit_uuid, revision, state FROM visits WHERE id = ?", (visit_id,)
    )
    if row is None or row["state"] != "submitted":
        raise ValueError("only a submitted visit can be reviewed")
    if rating is not None:
        await tx.execute(
            "UPDATE visits SET quality_rating = ?, quality_reason = ? WHERE id = ?",
            (rating[0], rating[1], visit_id),
        )
    if decision == "return":
        await visits.return_to_shopper(
            tx, visit_id, note or "", actor_id, questions, answer_notes, rating
        )
        return
    state = {"approve": "approved", "reject": "rejected"}[decision]
    await visits.set_state(tx, visit_id, state, note)
    details: dict[str, Any] = {"revision": row["revision"]}
    if note:
        details["note"] = note
    if rating is not None:
        details["rating"], details["rating_reason"] = rating
    await audit.record(tx, actor_id, f"visit.{state}", "visit", row["visit_uuid"], details)
    if state == "approved":
        await rollups.count_approval(tx, visit_id)
        await action_plans.open_for_approval(tx, row["visit_uuid"])
        await pay.earn(tx, row["visit_uuid"])
