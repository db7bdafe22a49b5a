"""The review desk's library of reusable notes for shoppers, each in English, Indonesian
and French: a reviewer picks one when returning a visit, and the shopper reads it in
their own language."""

from __future__ import annotations

import json
from typing import Any

from ..db import Reader, Transaction, plain_rows, utcnow
from . import audit

TITLE_MAX = 120
TEXT_MAX = 2000


def _note(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "texts": json.loads(row["texts"])}


async def list_active(db: Reader) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT id, title, texts FROM review_notes WHERE archived_at IS NULL"
        " ORDER BY lower(title), id"
    )
    return [_note(r) for r in plain_rows(rows)]


async def get(db: Reader, note_id: int) -> dict[str, Any] | None:
    rows = plain_rows(
        await db.fetchall(
            "SELECT id, title, texts FROM review_notes WHERE id = ? AND archived_at IS NULL",
            (note_id,),
        )
    )
    return _note(rows[0]) if rows else None


async def create(tx: Transaction, title: str, texts: dict[str, str], actor_id: int) -> int:
    note_id = await tx.insert(
        "INSERT INTO review_notes (title, texts, created_by, created_at) VALUES (?, ?, ?, ?)",
        (title, json.dumps(texts, ensure_ascii=False), actor_id, utcnow()),
    )
    await audit.record(tx, actor_id, "review_note.created", "review_note", note_id)
    return note_id


async def archive(tx: Transaction, note_id: int, actor_id: int) -> bool:
    changed = await tx.execute(
        "UPDATE review_notes SET archived_at = ? WHERE id = ? AND archived_at IS NULL",
        (utcnow(), note_id),
    )
    if changed:
        await audit.record(tx, actor_id, "review_note.archived", "review_note", note_id)
    return changed > 0
