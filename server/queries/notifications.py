"""Notifications: what each person is to be told (``notifications``, migration 0024),
queued in the transaction of the event that causes it, each with the job that mails it.

A person's choice per kind (``mail_preferences``) is read when the event happens: at
once (one "mail" job), in a daily or weekly digest (one "digest" job per person and
digest time, at that time), or not at all (nothing is queued). What the kinds are and
what their mail says is :mod:`server.mail`'s; this module only keeps the rows.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from .. import zones
from ..db import Reader, Transaction, plain, plain_rows, utcnow
from ..db.sql import placeholders
from . import jobs

CHOICES = ("now", "daily", "weekly", "off")
MAIL_JOB = "mail"
DIGEST_JOB = "digest"
MAIL_ATTEMPTS = 20
"""Attempts of a mail job: with server.mail's backoff, about 14 hours of an SMTP server
that is down before a message is given up (and marked failed)."""


async def choices(db: Reader, user_id: int) -> dict[str, str]:
    """What the person chose, by kind (a kind not listed: its default)."""
    rows = await db.fetchall(
        "SELECT kind, choice FROM mail_preferences WHERE user_id = ?", (user_id,)
    )
    return {str(r[0]): str(r[1]) for r in rows}


async def set_choices(tx: Transaction, user_id: int, chosen: dict[str, str]) -> None:
    assert all(c in CHOICES for c in chosen.values()), chosen
    for kind, choice in chosen.items():
        await tx.execute(
            "INSERT INTO mail_preferences (user_id, kind, choice) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, kind) DO UPDATE SET choice = excluded.choice",
            (user_id, kind, choice),
        )


async def queue(
    tx: Transaction,
    kind: str,
    params: dict[str, Any],
    user_ids: list[int],
    *,
    zone: str | None = None,
    digestible: bool = False,
) -> list[int]:
    """Tell these people (active ones, once each) of one event, in the event's own
    transaction. ``zone`` is where the event happened (a digest goes at 07:00 there).
    Answers the notifications' ids."""
    people = sorted(set(user_ids))
    if not people:
        return []
    marks = placeholders(people)
    rows = await tx.fetchall(
        "SELECT u.id, (SELECT p.choice FROM mail_preferences p WHERE p.user_id = u.id"
        f" AND p.kind = ?) AS choice FROM users u WHERE u.id IN ({marks}) AND u.active = 1",
        (kind, *people),
    )
    now = utcnow()
    made = []
    for row in rows:
        choice = row["choice"] or "now"
        if choice == "off":
            continue
        digest = choice if digestible and choice in ("daily", "weekly") else None
        due = zones.digest_due(digest, zone) if digest else now
        notification = await tx.insert(
            "INSERT INTO notifications (user_id, kind, params, digest, due_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (row["id"], kind, json.dumps(params, sort_keys=True), digest, due, now),
        )
        made.append(notification)
        if digest is None:
            await jobs.enqueue(
                tx,
                MAIL_JOB,
                {"notification": notification},
                actor_id=None,
                max_attempts=MAIL_ATTEMPTS,
            )
            continue
        fingerprint = f"digest:{row['id']}:{due}"
        if await jobs.latest_by_fingerprint(tx, fingerprint) is None:
            await jobs.enqueue(
                tx,
                DIGEST_JOB,
                {"user": row["id"], "due": due},
                actor_id=None,
                fingerprint=fingerprint,
                max_attempts=MAIL_ATTEMPTS,
                run_after=due,
            )
    return made


async def get(db: Reader, notification_id: int) -> dict[str, Any] | None:
    found = plain(await db.fetchone("SELECT * FROM notifications WHERE id = ?", (notification_id,)))
    if found is not None:
        found["params"] = json.loads(found["params"])
    return found


async def digest_items(db: Reader, user_id: int, due: str) -> list[dict[str, Any]]:
    """A person's queued notifications that go in the digest due at ``due`` (or an
    earlier one that has not gone), oldest first."""
    rows = plain_rows(
        await db.fetchall(
            "SELECT * FROM notifications WHERE user_id = ? AND state = 'queued'"
            " AND digest IS NOT NULL AND due_at <= ? ORDER BY created_at, id",
            (user_id, due),
        )
    )
    for row in rows:
        row["params"] = json.loads(row["params"])
    return rows


async def mark(
    tx: Transaction,
    ids: list[int],
    state: str,
    *,
    message_id: str | None = None,
    error: str | None = None,
) -> int:
    """Mark queued notifications sent (with the Message-ID that carried them), skipped or
    failed; answers how many were still queued (a second worker finds none)."""
    assert state in ("sent", "skipped", "failed"), state
    if not ids:
        return 0
    return await tx.execute(
        "UPDATE notifications SET state = ?, sent_at = ?, message_id = ?, error = ?"
        f" WHERE id IN ({placeholders(ids)}) AND state = 'queued'",
        (state, utcnow() if state == "sent" else None, message_id, error, *ids),
    )


async def recent(db: Reader, limit: int = 100) -> list[dict[str, Any]]:
    """The newest notifications with their person, for the admin's mail log."""
    rows = plain_rows(
        await db.fetchall(
            "SELECT n.id, n.kind, n.state, n.digest, n.due_at, n.created_at, n.sent_at,"
            " n.error, u.email, u.name FROM notifications n JOIN users u ON u.id = n.user_id"
            " ORDER BY n.id DESC LIMIT ?",
            (limit,),
        )
    )
    return rows


# Who hears of what: the people an event concerns.


async def branch_readers(db: Reader, branch_id: int) -> list[int]:
    """The branch's owners and its chain's managers (who read its reports)."""
    rows = await db.fetchall(
        "SELECT user_id FROM branch_owners WHERE branch_id = ?"
        " UNION SELECT m.user_id FROM chain_managers m JOIN branches b"
        " ON b.chain_id = m.chain_id WHERE b.id = ?",
        (branch_id, branch_id),
    )
    return [int(r[0]) for r in rows]


async def branch_owners(db: Reader, branch_id: int) -> list[int]:
    rows = await db.fetchall("SELECT user_id FROM branch_owners WHERE branch_id = ?", (branch_id,))
    return [int(r[0]) for r in rows]


async def reviewers(db: Reader) -> list[int]:
    """Everyone who reviews visits (reviewers and admins)."""
    rows = await db.fetchall(
        "SELECT id FROM users WHERE role IN ('reviewer', 'admin') AND active = 1"
    )
    return [int(r[0]) for r in rows]


# The events: each reads what its message needs and queues it for the people concerned,
# in the event's transaction (callers are the handlers where the event happens).


async def assignment_event(tx: Transaction, assignment_id: int, event: str) -> None:
    """A shopper's assignment was made (``new``), ``moved`` or ``cancelled``."""
    row = await tx.fetchone(
        "SELECT a.shopper_id, a.window_start, a.window_end, b.name, b.timezone"
        " FROM assignments a JOIN branches b ON b.id = a.branch_id WHERE a.id = ?",
        (assignment_id,),
    )
    if row is None or row["shopper_id"] is None:
        return
    params = {
        "assignment_id": assignment_id,
        "branch": row["name"],
        "window_start": row["window_start"],
        "window_end": row["window_end"],
    }
    await queue(tx, f"assignment_{event}", params, [row["shopper_id"]], zone=row["timezone"])


async def _visit(tx: Transaction, visit_uuid: str) -> Any:
    return await tx.fetchone(
        "SELECT v.id, v.visit_uuid, v.shopper_id, v.branch_id, v.local_date, v.score_total,"
        " v.review_note, b.name AS branch_name, b.timezone FROM visits v"
        " JOIN branches b ON b.id = v.branch_id WHERE v.visit_uuid = ?"
        " ORDER BY v.revision DESC LIMIT 1",
        (visit_uuid,),
    )


def _visit_params(row: Any, **more: Any) -> dict[str, Any]:
    return {
        "visit_id": row["visit_uuid"],
        "branch": row["branch_name"],
        "branch_id": row["branch_id"],
        "day": row["local_date"],
        **more,
    }


async def visit_decided(tx: Transaction, visit_uuid: str, decision: str) -> None:
    """A reviewer decided: the shopper hears of a return or a rejection (with the note),
    the branch's readers of an approval (a new report)."""
    row = await _visit(tx, visit_uuid)
    if row is None:
        return
    if decision == "approve":
        await report_released(tx, visit_uuid)
        return
    kind = {"return": "visit_returned", "reject": "visit_rejected"}[decision]
    params = _visit_params(row, note=row["review_note"] or "")
    await queue(tx, kind, params, [row["shopper_id"]], zone=row["timezone"])


async def report_released(tx: Transaction, visit_uuid: str) -> None:
    """A visit was approved: its report is there for the branch's owners and managers
    (at once, or in their digest)."""
    row = await _visit(tx, visit_uuid)
    if row is None:
        return
    await queue(
        tx,
        "report_released",
        _visit_params(row, score=row["score_total"]),
        await branch_readers(tx, row["branch_id"]),
        zone=row["timezone"],
        digestible=True,
    )


async def appeal_opened(tx: Transaction, visit_uuid: str, category: str) -> None:
    row = await _visit(tx, visit_uuid)
    if row is not None:
        params = _visit_params(row, category=category)
        await queue(tx, "appeal_opened", params, await reviewers(tx), zone=row["timezone"])


async def appeal_decided(tx: Transaction, visit_uuid: str, decision: str, reason: str) -> None:
    row = await _visit(tx, visit_uuid)
    if row is not None:
        params = _visit_params(row, decision=decision, reason=reason)
        readers = await branch_readers(tx, row["branch_id"])
        await queue(tx, "appeal_decided", params, readers, zone=row["timezone"])


async def plan_event(tx: Transaction, plan_id: int, event: str, note: str = "") -> None:
    """An action plan was ``returned`` (with the manager's note) or ``verified``, or is
    ``due`` tomorrow or ``overdue``: its branch's owners hear of it (and, overdue, the
    chain's managers)."""
    row = await tx.fetchone(
        "SELECT p.id, p.branch_id, p.text, p.section_key, p.due_date, b.name, b.timezone"
        " FROM action_plans p JOIN branches b ON b.id = p.branch_id WHERE p.id = ?",
        (plan_id,),
    )
    if row is None:
        return
    params = {
        "plan_id": plan_id,
        "branch_id": row["branch_id"],
        "branch": row["name"],
        "text": row["text"],
        "section": row["section_key"] or "",
        "due_date": row["due_date"],
        "note": note,
    }
    people = (
        await branch_readers(tx, row["branch_id"])
        if event == "overdue"
        else await branch_owners(tx, row["branch_id"])
    )
    await queue(tx, f"plan_{event}", params, people, zone=row["timezone"])


async def plans_to_remind(db: Reader) -> list[tuple[int, str]]:
    """Open plans due tomorrow or overdue at their branch that have not been reminded
    of it: (plan id, ``due`` or ``overdue``)."""
    rows = await db.fetchall(
        "SELECT p.id, p.due_date, p.due_reminded_at, p.overdue_reminded_at, b.timezone"
        " FROM action_plans p JOIN branches b ON b.id = p.branch_id"
        " WHERE p.state IN ('open', 'in_progress') AND p.due_date IS NOT NULL"
        " AND (p.due_reminded_at IS NULL OR p.overdue_reminded_at IS NULL)"
    )
    out = []
    for row in rows:
        today = zones.today_in(row["timezone"])
        due = row["due_date"]
        if due < today.isoformat():
            if row["overdue_reminded_at"] is None:
                out.append((int(row["id"]), "overdue"))
        elif due == (today + timedelta(days=1)).isoformat() and row["due_reminded_at"] is None:
            out.append((int(row["id"]), "due"))
    return out


async def remind(tx: Transaction, plan_id: int, event: str) -> bool:
    """Mark the reminder sent and queue it, once (another worker's mark wins)."""
    column = {"due": "due_reminded_at", "overdue": "overdue_reminded_at"}[event]
    changed = await tx.execute(
        f"UPDATE action_plans SET {column} = ? WHERE id = ? AND {column} IS NULL",
        (utcnow(), plan_id),
    )
    if changed:
        await plan_event(tx, plan_id, event)
    return changed > 0
