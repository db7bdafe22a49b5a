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
    """Validate a definition and publish it as its questionnaire's next version."""
    problems = validate_definition(definition)
    if problems:
        raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
    version, _published = await store_version(tx, definition, publish=True, actor_id=actor_id)
    return version


async def install_default(tx: Transaction) -> bool:
    """Publish the built-in default questionnaire as version 1 if it is not there yet."""
    exists = await tx.fetchone("SELECT 1 FROM questionnaires WHERE id = 'default'")
    if exists:
        return False
    await publish_new_version(tx, load_default())
    return True


async def latest_version(db: Reader, questionnaire_id: str) -> dict[str, Any] | None:
    """The newest version, draft or published: {definition, version, published_at}."""
    row = await db.fetchone(
        "SELECT definition, version, published_at FROM questionnaire_versions"
        " WHERE questionnaire_id = ? ORDER BY version DESC LIMIT 1",
        (questionnaire_id,),
    )
    if row is None:
        return None
    return {
        "definition": json.loads(row["definition"]),
        "version": row["version"],
        "published_at": row["published_at"],
    }


async def store_version(
    tx: Transaction, definition: Definition, *, publish: bool, actor_id: int | None = None
) -> tuple[int, bool]:
    """Store a definition as its questionnaire's next version: a draft, or published at
    once. An unpublished draft is replaced rather than piled up. Answers (version,
    published). The caller has validated the definition."""
    qid = definition["id"]
    await tx.execute(
        "INSERT OR IGNORE INTO questionnaires (id, created_at) VALUES (?, ?)", (qid, utcnow())
    )
    draft = await tx.fetchone(
        "SELECT version FROM questionnaire_versions WHERE questionnaire_id = ?"
        " AND published_at IS NULL ORDER BY version DESC LIMIT 1",
        (qid,),
    )
    if draft is not None:
        version = int(draft[0])
        await tx.execute(
            "DELETE FROM questionnaire_versions WHERE questionnaire_id = ? AND version = ?",
            (qid, version),
        )
    else:
        row = await tx.fetchone(
            "SELECT coalesce(max(version), 0) FROM questionnaire_versions"
            " WHERE questionnaire_id = ?",
            (qid,),
        )
        version = int(row[0]) + 1 if row else 1
    now = utcnow()
    await tx.execute(
        "INSERT INTO questionnaire_versions"
        " (questionnaire_id, version, definition, created_at, published_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            qid,
            version,
            json.dumps({**definition, "version": version}, ensure_ascii=False),
            now,
            now if publish else None,
        ),
    )
    action = "questionnaire.published" if publish else "questionnaire.draft_saved"
    await audit.record(tx, actor_id, action, "questionnaire", f"{qid}@{version}")
    return version, publish
