"""Programme settings (review on or off; visits before their window; the appeal period;
targets; whether low scores open action plans), each a JSON value in
``programme_settings`` with the server's default while an admin has not chosen."""

from __future__ import annotations

import json
from typing import Any

from .. import money
from ..db import Reader, Transaction, utcnow
from . import audit

EARLY_VISITS = ("allow", "warn", "refuse")
"""What the app does with a visit started before its assignment's window opens: start it
silently, start it after saying when the window opens, or refuse (the server too)."""
EARLY_VISITS_DEFAULT = "warn"


async def _stored(db: Reader, key: str) -> str | None:
    """A setting as stored (JSON), or None while an admin has not chosen it."""
    row = await db.fetchone("SELECT value FROM programme_settings WHERE key = ?", (key,))
    return str(row[0]) if row else None


async def review_required(db: Reader, default: bool) -> bool:
    """Whether complete visits wait for a reviewer (else they are approved at once)."""
    return review_setting(await _stored(db, "review_required"), default)


def review_setting(stored: str | None, default: bool) -> bool:
    """The stored ``review_required`` setting (JSON), or the server's default when unset."""
    return bool(json.loads(stored)) if stored is not None else default


async def early_visits(db: Reader) -> str:
    """``allow``, ``warn`` or ``refuse``: see EARLY_VISITS."""
    return early_setting(await _stored(db, "early_visits"))


def early_setting(stored: str | None) -> str:
    value = json.loads(stored) if stored is not None else EARLY_VISITS_DEFAULT
    return value if value in EARLY_VISITS else EARLY_VISITS_DEFAULT


APPEAL_DAYS_DEFAULT = 7
APPEAL_DAYS_MAX = 365
"""How many days after its approval an owner or manager may appeal a visit (0: never)."""


async def appeal_days(db: Reader) -> int:
    return appeal_setting(await _stored(db, "appeal_days"))


def appeal_setting(stored: str | None) -> int:
    value = json.loads(stored) if stored is not None else APPEAL_DAYS_DEFAULT
    if isinstance(value, int) and 0 <= value <= APPEAL_DAYS_MAX:
        return value
    return APPEAL_DAYS_DEFAULT


async def set_appeal_days(tx: Transaction, value: int, actor_id: int) -> None:
    assert 0 <= value <= APPEAL_DAYS_MAX, value
    await _store(tx, "appeal_days", value, actor_id)


async def targets(db: Reader) -> dict[str, Any]:
    """The programme's pass marks (0–100): ``total`` for the visit score (None: none) and
    ``sections`` by section key (a section without one has none)."""
    return targets_setting(await _stored(db, "targets"))


def targets_setting(stored: str | None) -> dict[str, Any]:
    kept = json.loads(stored) if stored is not None else {}
    total = kept.get("total") if isinstance(kept, dict) else None
    sections = kept.get("sections", {}) if isinstance(kept, dict) else {}
    return {
        "total": total if _is_mark(total) else None,
        "sections": {k: v for k, v in sections.items() if _is_mark(v)},
    }


def _is_mark(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 100


async def set_targets(
    tx: Transaction, total: float | None, sections: dict[str, float], actor_id: int
) -> None:
    assert (total is None or _is_mark(total)) and all(_is_mark(v) for v in sections.values())
    await _store(tx, "targets", {"total": total, "sections": sections}, actor_id)


PLANS = ("propose", "open")
"""What an approved visit scoring a section below its target does: propose a plan to the
branch's owner (shown on the dashboard), or open one at once (the owner says what will
change when starting it)."""
PLANS_DEFAULT = "propose"


async def plans(db: Reader) -> str:
    return plans_setting(await _stored(db, "plans"))


def plans_setting(stored: str | None) -> str:
    value = json.loads(stored) if stored is not None else PLANS_DEFAULT
    return value if value in PLANS else PLANS_DEFAULT


async def set_plans(tx: Transaction, value: str, actor_id: int) -> None:
    assert value in PLANS, value
    await _store(tx, "plans", value, actor_id)


REVIEW_HOURS_DEFAULT = 48
REVIEW_HOURS_MAX = 24 * 30
"""How long a complete visit may wait for review before the queue shows it as late."""


async def review_hours(db: Reader) -> int:
    return review_hours_setting(await _stored(db, "review_hours"))


def review_hours_setting(stored: str | None) -> int:
    value = json.loads(stored) if stored is not None else REVIEW_HOURS_DEFAULT
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= REVIEW_HOURS_MAX:
        return value
    return REVIEW_HOURS_DEFAULT


async def set_review_hours(tx: Transaction, value: int, actor_id: int) -> None:
    assert 1 <= value <= REVIEW_HOURS_MAX, value
    await _store(tx, "review_hours", value, actor_id)


CURRENCY_DEFAULT = "IDR"
"""The currency shoppers are paid in while an admin has not chosen one (assignments keep
the currency they were made with, so a change applies to new ones)."""


async def currency(db: Reader) -> str:
    return currency_setting(await _stored(db, "currency"))


def currency_setting(stored: str | None) -> str:
    value = json.loads(stored) if stored is not None else CURRENCY_DEFAULT
    return value if money.is_currency(value) else CURRENCY_DEFAULT


async def set_currency(tx: Transaction, value: str, actor_id: int) -> None:
    assert money.is_currency(value), value
    await _store(tx, "currency", value, actor_id)


NAME_MAX = 120


async def name(db: Reader) -> str:
    """The programme's name, printed on reports ('' until an admin gives one)."""
    stored = await _stored(db, "name")
    value = json.loads(stored) if stored is not None else ""
    return value if isinstance(value, str) else ""


async def set_name(tx: Transaction, value: str, actor_id: int) -> None:
    assert len(value) <= NAME_MAX
    await _store(tx, "name", value, actor_id)


async def _store(tx: Transaction, key: str, value: Any, actor_id: int) -> None:
    """One setting and its audit row, in the caller's transaction."""
    await tx.execute(
        "INSERT INTO programme_settings (key, value, updated_at, updated_by)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
        " value = excluded.value, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        (key, json.dumps(value), utcnow(), actor_id),
    )
    await audit.record(tx, actor_id, f"programme.{key}", "programme", "settings", {key: value})


async def set_review_required(tx: Transaction, value: bool, actor_id: int) -> None:
    await _store(tx, "review_required", value, actor_id)


async def set_early_visits(tx: Transaction, value: str, actor_id: int) -> None:
    assert value in EARLY_VISITS, value
    await _store(tx, "early_visits", value, actor_id)


async def has_data(db: Reader) -> bool:
    """Whether anyone or any chain is already set up (the demo only fills an empty one)."""
    row = await db.fetchone("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM chains)")
    return bool(row and row[0])


async def alive(db: Reader) -> bool:
    """The database answers a query (for /healthz)."""
    return await db.fetchone("SELECT 1") is not None
