"""Questionnaires and their versions. Published versions never change (a trigger holds it)."""

from __future__ import annotations

import json
from typing import Any

from ..db import Reader, Transaction, utcnow
from ..questionnaire import Definition, load_default, validate_definition
from . import audit


async def get_version(db: Reader, questionnaire_id: str, version: int) -> Definition | None:
    row = await db.fetchone(
        "SELECT definition FROM questionnaire_versions WHERE questionnaire_id = ? AND version = ?",
        (questionnaire_id, version),
    )
    return json.loads(row[0]) if row else None


async def get_published(db: Reader, questionnaire_id: str, version: int) -> Definition | None:
    row = await db.fetchone(
        "SELECT definition FROM questionnaire_versions WHERE questionnaire_id = ? AND version = ?"
        " AND published_at IS NOT NULL",
        (questionnaire_id, version),
    )
    return json.loads(row[0]) if row else None


async def latest_published(db: Reader, questionnaire_id: str) -> Definition | None:
    row = await db.fetchone(
        "SELECT definition FROM questionnaire_versions WHERE questionnaire_id = ?"
        " AND published_at IS NOT NULL ORDER BY version DESC LIMIT 1",
        (questionnaire_id,),
    )
    return json.loads(row[0]) if row else None


async def publish_new_version(
    tx: Transaction, definition: Definition, actor_id: int | None = None
) -> int:
    """Store a definition as the next published version of its questionnaire."""
    problems = validate_definition(definition)
    if problems:
        raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
    qid = definition["id"]
    await tx.execute(
        "INSERT OR IGNORE INTO questionnaires (id, created_at) VALUES (?, ?)", (qid, utcnow())
    )
    row = await tx.fetchone(
        "SELECT coalesce(max(version), 0) FROM questionnaire_versions WHERE questionnaire_id = ?",
        (qid,),
    )
    version = int(row[0]) + 1 if row else 1
    stored: dict[str, Any] = {**definition, "version": version}
    now = utcnow()
    await tx.execute(
        "INSERT INTO questionnaire_versions"
        " (questionnaire_id, version, definition, created_at, published_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (qid, version, json.dumps(stored, ensure_ascii=False), now, now),
    )
    await audit.record(tx, actor_id, "questionnaire.published", "questionnaire", f"{qid}@{version}")
    return version


async def install_default(tx: Transaction) -> bool:
    """Publish the built-in default questionnaire as version 1 if it is not there yet."""
    exists = await tx.fetchone("SELECT 1 FROM questionnaires WHERE id = 'default'")
    if exists:
        return False
    await publish_new_version(tx, load_default())
    return True
