"""Notifications: what each person is to be told (``notifications``, migration 0024),
queued in the transaction of the event that causes it, each with the job that mails it.

A person's choice per kind (``mail_preferences``) is read when the event happens: at
once (one "mail" job), in a daily or weekly digest (one "digest" job per person and
digest time, at that time), or not at all (nothing is queued). What the kinds are and
what their mail says is :mod:`server.mail`'s; this module only keeps the rows.
"""

from __future__ import annotations

import json
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
