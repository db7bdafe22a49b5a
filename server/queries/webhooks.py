"""Webhooks (``webhooks``, ``webhook_deliveries``, migration 0025): the addresses an admin
registers, and every delivery to them, queued in the transaction of its event with the
job that sends it (server/webhooks.py signs and posts it)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ..db import Reader, Transaction, plain, plain_rows, utcnow
from ..i18n import WEBHOOK_EVENT_NAMES
from . import audit, jobs

EVENTS = tuple(WEBHOOK_EVENT_NAMES)
"""What a webhook may ask for (each named for people in server/i18n.py)."""
JOB = "webhook"
ATTEMPTS = 12
"""Attempts of a delivery (with server.webhooks' backoff, about 8 hours), then failed."""


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def create(tx: Transaction, url: str, events: list[str], secret: str, actor_id: int) -> int:
    assert set(events) <= set(EVENTS), events
    hook_id = await tx.insert(
        "INSERT INTO webhooks (url, secret, events, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
        (url, secret, json.dumps(sorted(events)), actor_id, utcnow()),
    )
    await audit.record(
        tx, actor_id, "webhook.created", "webhook", hook_id, {"url": url, "events": events}
    )
    return hook_id


async def set_active(tx: Transaction, hook_id: int, active: bool, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE webhooks SET active = ? WHERE id = ?", (int(active), hook_id)
    )
    if changed:
        action = "webhook.resumed" if active else "webhook.paused"
        await audit.record(tx, actor_id, action, "webhook", hook_id)
    return changed > 0


def _hook(row: Any) -> dict[str, Any] | None:
    hook = plain(row)
    if hook is not None:
        hook["events"] = json.loads(hook["events"])
    return hook


async def get(db: Reader, hook_id: int) -> dict[str, Any] | None:
    return _hook(await db.fetchone("SELECT * FROM webhooks WHERE id = ?", (hook_id,)))


async def list_all(db: Reader) -> list[dict[str, Any]]:
    """Every webhook with its deliveries' counts by state."""
    rows = await db.fetchall(
        "SELECT w.*,"
        " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
        "  AND d.state = 'delivered') AS delivered,"
        " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
        "  AND d.state = 'queued') AS waiting,"
        " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
        "  AND d.state = 'failed') AS failed"
        " FROM webhooks w ORDER BY w.id"
    )
    return [h for h in (_hook(r) for r in rows) if h is not None]


async def queue(tx: Transaction, event: str, data: dict[str, Any]) -> list[int]:
    """One delivery of ``event`` to every active webhook that asked for it, each with its
    job, in the event's transaction. The body is made here, once: a retry or a resend
    sends the same bytes (with a new signature)."""
    assert event in EVENTS, event
    hooks = await tx.fetchall("SELECT id, events FROM webhooks WHERE active = 1")
    now = utcnow()
    made = []
    for hook in hooks:
        if event not in json.loads(hook["events"]):
            continue
        delivery = await tx.insert(
            "INSERT INTO webhook_deliveries (webhook_id, event, body, created_at)"
            " VALUES (?, ?, '{}', ?)",
            (hook["id"], event, now),
        )
        body = {"id": delivery, "event": event, "timestamp": now, "data": data}
        await tx.execute(
            "UPDATE webhook_deliveries SET body = ? WHERE id = ?",
            (json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")), delivery),
        )
        await jobs.enqueue(tx, JOB, {"delivery": delivery}, actor_id=None, max_attempts=ATTEMPTS)
        made.append(delivery)
    return made


async def delivery(db: Reader, delivery_id: int) -> dict[str, Any] | None:
    return plain(
        await db.fetchone(
            "SELECT d.*, w.url, w.secret, w.active FROM webhook_deliveries d"
            " JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?",
            (delivery_id,),
        )
    )


async def deliveries(db: Reader, hook_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """A webhook's newest deliveries (its log)."""
    return plain_rows(
        await db.fetchall(
            "SELECT id, event, state, attempts, last_status, last_error, created_at,"
            " delivered_at FROM webhook_deliveries WHERE webhook_id = ?"
            " ORDER BY id DESC LIMIT ?",
            (hook_id, limit),
        )
    )


async def attempted(
    tx: Transaction,
    delivery_id: int,
    *,
    status: int | None,
    error: str | None,
    state: str,
) -> None:
    """Record one attempt: its HTTP status (None: no answer) and error; ``state`` is
    ``delivered``, ``queued`` (tried again later) or ``failed``."""
    await tx.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?,"
        " last_error = ?, state = ?, delivered_at = ? WHERE id = ?",
        (status, error, state, utcnow() if state == "delivered" else None, delivery_id),
    )


async def resend(tx: Transaction, delivery_id: int, actor_id: int) -> bool:
    """Send a delivery again (the same body), whatever became of it."""
    changed = await tx.execute(
        "UPDATE webhook_deliveries SET state = 'queued' WHERE id = ?", (delivery_id,)
    )
    if changed:
        await jobs.enqueue(
            tx, JOB, {"delivery": delivery_id}, actor_id=actor_id, max_attempts=ATTEMPTS
        )
        await audit.record(tx, actor_id, "webhook.resent", "webhook_delivery", delivery_id)
    return changed > 0
