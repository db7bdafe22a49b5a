"""Assignments: which shopper visits which branch, when, with which scenario."""

from __future__ import annotations

from typing import Any

from ..db import Reader, Transaction, utcnow
from ..db.sql import placeholders
from ..models import Assignment, Branch
from . import audit, questionnaires, roster


async def create(
    tx: Transaction,
    *,
    branch_id: int,
    shopper_id: int | None,
    questionnaire_id: str,
    questionnaire_version: int,
    window_start: str,
    window_end: str,
    scenario: str = "",
    scenario_key: str | None = None,
    qualification_id: int | None = None,
    state: str = "open",
    created_by: int | None = None,
    fee_minor: int = 0,
    reimburse_max_minor: int = 0,
    reimburse_question: str | None = None,
    currency: str | None = None,
) -> int:
    now = utcnow()
    assignment_id = await tx.insert(
        "INSERT INTO assignments (branch_id, shopper_id, questionnaire_id, questionnaire_version,"
        " window_start, window_end, scenario, scenario_key, state, created_by, created_at,"
        " updated_at, fee_minor, reimburse_max_minor, reimburse_question, currency,"
        " qualification_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            branch_id,
            shopper_id,
            questionnaire_id,
            questionnaire_version,
            window_start,
            window_end,
            scenario,
            scenario_key,
            state,
            created_by,
            now,
            now,
            fee_minor,
            reimburse_max_minor,
            reimburse_question,
            currency,
            qualification_id,
        ),
    )
    await audit.record(
        tx,
        created_by,
        "assignment.created",
        "assignment",
        assignment_id,
        {"branch_id": branch_id, "shopper_id": shopper_id},
    )
    return assignment_id


async def get(db: Reader, assignment_id: int) -> Assignment | None:
    row = await db.fetchone("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
    return Assignment.from_row(row) if row else None


async def open_for_shopper(db: Reader, shopper_id: int) -> list[dict[str, Any]]:
    """The shopper's open assignments, soonest window first, each with its branch."""
    rows = await db.fetchall(
        "SELECT * FROM assignments WHERE shopper_id = ? AND state = 'open'"
        " ORDER BY window_start, id",
        (shopper_id,),
    )
    return await _with_branches(db, rows)


def done_statement(assignment_id: int) -> tuple[str, tuple[Any, ...]]:
    """Mark an open assignment done (a visit was received for it)."""
    return (
        "UPDATE assignments SET state = 'done', updated_at = ? WHERE id = ? AND state = 'open'",
        (utcnow(), assignment_id),
    )


async def mark_done(tx: Transaction, assignment_id: int) -> None:
    await tx.execute(*done_statement(assignment_id))


def _too_soon(start: str, end: str) -> str:
    """The repeat rule, the one place it is written: assignment ``o`` (the shopper's, at
    the same branch, not cancelled) has a window less than ``:days`` days before or after
    the window from ``start`` to ``end`` (SQL expressions)."""
    return (
        "o.shopper_id = :shopper AND o.state <> 'cancelled'"
        f" AND o.window_end >= date({start}, '-' || :days || ' days')"
        f" AND o.window_start <= date({end}, '+' || :days || ' days')"
    )


async def too_soon_for(
    db: Reader, shopper_id: int, branch_id: int, start: str, end: str, repeat_days: int
) -> list[Assignment]:
    """The shopper's assignments at this branch too close to a new window (start, end)."""
    rows = await db.fetchall(
        "SELECT o.* FROM assignments o WHERE o.branch_id = :branch AND "
        + _too_soon(":start", ":end"),
        {
            "shopper": shopper_id,
            "branch": branch_id,
            "start": start,
            "end": end,
            "days": repeat_days,
        },
    )
    return [Assignment.from_row(r) for r in rows]


STATES = ("open", "done", "cancelled")
PER_PAGE = 50
_LISTING_FROM = (
    " FROM assignments a JOIN branches b ON b.id = a.branch_id"
    " LEFT JOIN users u ON u.id = a.shopper_id"
    " LEFT JOIN qualifications q ON q.id = a.qualification_id"
)


def _listing_where(
    state: str, text: str, region: str | None, claim: str | None
) -> tuple[str, str, dict[str, Any]]:
    """(FROM, WHERE, parameters) of the assignments a list shows."""
    source, clauses, params = "assignments a", ["a.state = :state"], {"state": state}
    if text:
        # The branches and shoppers found first, then their assignments by index, and only
        # those read (in this order whatever the planner knows: CROSS JOIN keeps it).
        source = (
            "(SELECT id FROM assignments WHERE branch_id IN (SELECT id FROM branches"
            " WHERE lower(name) LIKE :q OR lower(code) LIKE :q) UNION SELECT id FROM"
            " assignments WHERE shopper_id IN (SELECT id FROM users WHERE role = 'shopper'"
            " AND lower(name) LIKE :q)) m CROSS JOIN assignments a"
        )
        clauses.append("a.id = m.id")
        params["q"] = f"%{text.lower()}%"
    if region:
        clauses.append("a.branch_id IN (SELECT id FROM branches WHERE region = :region)")
        params["region"] = region
    if claim == "unclaimed":
        clauses.append("a.shopper_id IS NULL")
    elif claim == "given":
        clauses.append("a.shopper_id IS NOT NULL")
    return source, " AND ".join(clauses), params


async def upcoming(
    db: Reader,
    state: str = "open",
    text: str = "",
    region: str | None = None,
    claim: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of assignments in a state (open: soonest first; done and cancelled: latest
    first), searched by branch or shopper, narrowed to a region and to those given or
    still open to claim; with branch and shopper names, and how many match."""
    # Filtered, counted and paged on assignments alone (their state and window index),
    # then only the page's rows joined to their names.
    source, where, params = _listing_where(state, text, region, claim)
    order = "a.window_start, a.id" if state == "open" else "a.window_start DESC, a.id DESC"
    total = await db.fetchone(f"SELECT count(*) FROM {source} WHERE {where}", params)
    rows = await db.fetchall(
        "SELECT a.*, b.name AS branch_name, b.timezone, u.name AS shopper_name,"
        f" q.name AS qualification{_LISTING_FROM} WHERE a.id IN (SELECT a.id FROM {source}"
        f" WHERE {where} ORDER BY {order} LIMIT :limit OFFSET :offset) ORDER BY {order}",
        {**params, "limit": limit or PER_PAGE, "offset": offset},
    )
    return [
        {
            **Assignment.from_row(r).to_api(),
            "branch_name": r["branch_name"],
            "timezone": r["timezone"],
            "shopper_name": r["shopper_name"],
            "qualification": r["qualification"],
        }
        for r in rows
    ], int(total[0]) if total else 0


async def cancel(tx: Transaction, assignment_id: int, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE assignments SET state = 'cancelled', updated_at = ? WHERE id = ?"
        " AND state = 'open'",
        (utcnow(), assignment_id),
    )
    if changed:
        await audit.record(tx, actor_id, "assignment.cancelled", "assignment", assignment_id)
    return changed > 0


async def move(tx: Transaction, assignment_id: int, start: str, end: str, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE assignments SET window_start = ?, window_end = ?, updated_at = ? WHERE id = ?"
        " AND state = 'open'",
        (start, end, utcnow(), assignment_id),
    )
    if changed:
        await audit.record(
            tx,
            actor_id,
            "assignment.moved",
            "assignment",
            assignment_id,
            {"start": start, "end": end},
        )
    return changed > 0


# A shopper's other assignment at the same branch, less than ``repeat_days`` before or after.
_CLASH = (
    "EXISTS (SELECT 1 FROM assignments o WHERE o.branch_id = a.branch_id AND o.id <> a.id"
    f" AND {_too_soon('a.window_start', 'a.window_end')})"
)


# The qualification rule, the one place it is written: assignment ``a`` requires none,
# or shopper ``:shopper`` holds it, not run out before today (``:today``) nor before the
# window opens.
QUALIFIED = (
    "(a.qualification_id IS NULL OR EXISTS (SELECT 1 FROM shopper_qualifications sq"
    " WHERE sq.user_id = :shopper AND sq.qualification_id = a.qualification_id"
    " AND (sq.expires_on IS NULL OR (sq.expires_on >= :today"
    " AND sq.expires_on >= a.window_start))))"
)


async def unqualified_for(
    db: Reader, shopper_id: int, qualification_id: int, window_start: str
) -> bool:
    """Whether a shopper lacks a qualification for a window opening on ``window_start``."""
    row = await db.fetchone(
        f"SELECT {QUALIFIED} AS qualified FROM"
        " (SELECT :q AS qualification_id, :start AS window_start) a",
        {
            "shopper": shopper_id,
            "q": qualification_id,
            "today": utcnow()[:10],
            "start": window_start,
        },
    )
    return not (row and row["qualified"])


async def claimable(
    db: Reader, shopper_id: int, today: str, repeat_days: int, limit: int = 100
) -> list[dict[str, Any]]:
    """Assignments left open for any shopper to claim, soonest first, each with its
    branch; not those whose branch this shopper visits too soon before or after, nor
    those requiring a qualification the shopper does not hold; none for a shopper who is
    not active (an applicant, paused, or left)."""
    rows = await db.fetchall(
        "SELECT a.* FROM assignments a WHERE a.shopper_id IS NULL AND a.state = 'open'"
        f" AND a.window_end >= :today AND NOT {_CLASH} AND {QUALIFIED} AND {roster.ACTIVE}"
        " ORDER BY a.window_start, a.id LIMIT :limit",
        {"shopper": shopper_id, "today": today, "days": repeat_days, "limit": limit},
    )
    return await _with_branches(db, rows)


async def with_branch(db: Reader, assignment_id: int) -> dict[str, Any] | None:
    """One assignment as the app sees it, with its branch."""
    row = await db.fetchone("SELECT * FROM assignments WHERE id = ?", (assignment_id,))
    return (await _with_branches(db, [row]))[0] if row else None


async def _with_branches(db: Reader, rows: list[Any]) -> list[dict[str, Any]]:
    ids = sorted({row["branch_id"] for row in rows})
    marks = placeholders(ids)
    branches = {
        r["id"]: Branch.from_row(r)
        for r in await db.fetchall(f"SELECT * FROM branches WHERE id IN ({marks})", ids)
    }
    out = []
    for row in rows:
        assignment = Assignment.from_row(row)
        texts: dict[str, str] = {}
        if assignment.scenario_key:
            # The declared scenario's texts, so the app shows it in the shopper's language.
            definition = await questionnaires.get_published(
                db, assignment.questionnaire_id, assignment.questionnaire_version
            )
            for scenario in (definition or {}).get("scenarios", []):
                if scenario.get("key") == assignment.scenario_key:
                    texts = scenario.get("text", {})
        out.append(
            {
                **assignment.to_api(),
                "scenario_texts": texts,
                "branch": branches[row["branch_id"]].to_api(),
            }
        )
    return out


async def claim(
    tx: Transaction,
    assignment_id: int,
    shopper_id: int,
    repeat_days: int,
    actor_id: int | None = None,
) -> str:
    """Give an open, unclaimed assignment to a shopper (who claims it, or an admin who
    gives it: ``actor_id``). Answers "claimed", or why not: "missing" (no such open
    assignment), "taken" (someone claimed it first), "too_soon" (the shopper has this
    branch within ``repeat_days``), "unqualified" (the assignment requires a
    qualification the shopper does not hold) or "inactive" (the shopper is an applicant,
    paused, or left)."""
    row = await tx.fetchone(
        f"SELECT a.shopper_id, a.state, {_CLASH} AS clash, {QUALIFIED} AS qualified,"
        f" {roster.ACTIVE} AS active FROM assignments a WHERE a.id = :id",
        {"id": assignment_id, "shopper": shopper_id, "days": repeat_days, "today": utcnow()[:10]},
    )
    if row is None or row["state"] != "open":
        return "missing"
    if row["shopper_id"] is not None:
        return "taken"
    if not row["active"]:
        return "inactive"
    if row["clash"]:
        return "too_soon"
    if not row["qualified"]:
        return "unqualified"
    await tx.execute(
        "UPDATE assignments SET shopper_id = ?, updated_at = ? WHERE id = ? AND shopper_id IS NULL",
        (shopper_id, utcnow(), assignment_id),
    )
    if actor_id is None:
        await audit.record(tx, shopper_id, "assignment.claimed", "assignment", assignment_id)
    else:
        await audit.record(
            tx,
            actor_id,
            "assignment.given",
            "assignment",
            assignment_id,
            {"shopper_id": shopper_id},
        )
    return "claimed"
