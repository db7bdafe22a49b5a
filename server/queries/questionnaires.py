"""Questionnaires and their versions. Published versions never change (a trigger holds it)."""

from __future__ import annotations

import json
from typing import Any

from ..db import Reader, Transaction, utcnow
from ..questionnaire import Definition, iter_questions, load_default, validate_definition
from . import audit


async def get_published(db: Reader, questionnaire_id: str, version: int) -> Definition | None:
    """A published version, parsed once per process: it never changes after publishing.
    Callers only read it."""
    key = ("published", questionnaire_id, version)
    if key in db.memo:
        return db.memo[key]
    row = await db.fetchone(
        "SELECT definition FROM questionnaire_versions WHERE questionnaire_id = ? AND version = ?"
        " AND published_at IS NOT NULL",
        (questionnaire_id, version),
    )
    if row is None:
        return None
    definition: Definition = json.loads(row[0])
    if len(db.memo) < 256:
        db.memo[key] = definition
    return definition


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


async def version_row(db: Reader, questionnaire_id: str, version: int) -> dict[str, Any] | None:
    """One version, draft or published: {definition, version, published_at}."""
    row = await db.fetchone(
        "SELECT definition, version, published_at FROM questionnaire_versions"
        " WHERE questionnaire_id = ? AND version = ?",
        (questionnaire_id, version),
    )
    if row is None:
        return None
    return {
        "definition": json.loads(row["definition"]),
        "version": row["version"],
        "published_at": row["published_at"],
    }


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
        "INSERT INTO questionnaires (id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (qid, utcnow()),
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


async def list_all(db: Reader) -> list[dict[str, Any]]:
    """Every questionnaire with its newest title, newest published version, any draft and
    how many visits were made with it."""
    rows = await db.fetchall(
        "SELECT q.id,"
        " (SELECT definition FROM questionnaire_versions v WHERE v.questionnaire_id = q.id"
        "  ORDER BY version DESC LIMIT 1) AS definition,"
        " (SELECT max(version) FROM questionnaire_versions v WHERE v.questionnaire_id = q.id"
        "  AND published_at IS NOT NULL) AS published,"
        " (SELECT max(version) FROM questionnaire_versions v WHERE v.questionnaire_id = q.id"
        "  AND published_at IS NULL) AS draft,"
        " (SELECT coalesce(sum(visits), 0) FROM visit_counts c WHERE c.questionnaire_id = q.id)"
        " AS visits"
        " FROM questionnaires q ORDER BY q.id"
    )
    return [
        {
            "id": r["id"],
            "title": json.loads(r["definition"]).get("title", {}) if r["definition"] else {},
            "published": r["published"],
            "draft": r["draft"],
            "visits": r["visits"],
        }
        for r in rows
    ]


async def published_choices(db: Reader) -> list[dict[str, Any]]:
    """The newest published version of each questionnaire: what new assignments use."""
    rows = await db.fetchall(
        "SELECT v.questionnaire_id, v.version, v.definition FROM questionnaire_versions v"
        " WHERE v.published_at IS NOT NULL AND v.version = (SELECT max(version)"
        "  FROM questionnaire_versions w WHERE w.questionnaire_id = v.questionnaire_id"
        "  AND w.published_at IS NOT NULL) ORDER BY v.questionnaire_id"
    )
    out = []
    for r in rows:
        definition = json.loads(r["definition"])
        out.append(
            {
                "id": r["questionnaire_id"],
                "version": r["version"],
                "title": definition.get("title", {}),
                "scenarios": definition.get("scenarios", []),
                "money_questions": money_questions(definition),
            }
        )
    return out


def money_questions(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions answered with an amount of money (a purchase an assignment may
    reimburse), each as {key, text, currency}."""
    return [
        {"key": q["key"], "text": q.get("text", {}), "currency": q.get("currency")}
        for section in definition.get("sections", [])
        for q in section.get("questions", [])
        if q.get("type") == "money"
    ]


async def versions(db: Reader, questionnaire_id: str) -> list[dict[str, Any]]:
    """Every version, newest first, with the number of visits made with it."""
    rows = await db.fetchall(
        "SELECT v.version, v.created_at, v.published_at,"
        " (SELECT coalesce(sum(visits), 0) FROM visit_counts c"
        "  WHERE c.questionnaire_id = v.questionnaire_id"
        "  AND c.questionnaire_version = v.version) AS visits"
        " FROM questionnaire_versions v WHERE v.questionnaire_id = ? ORDER BY v.version DESC",
        (questionnaire_id,),
    )
    return [dict(r) for r in rows]


async def get_draft(db: Reader, questionnaire_id: str) -> dict[str, Any] | None:
    """The unpublished draft, if there is one: {definition, version}."""
    row = await db.fetchone(
        "SELECT definition, version FROM questionnaire_versions WHERE questionnaire_id = ?"
        " AND published_at IS NULL ORDER BY version DESC LIMIT 1",
        (questionnaire_id,),
    )
    return {"definition": json.loads(row[0]), "version": row[1]} if row else None


async def exists(db: Reader, questionnaire_id: str) -> bool:
    row = await db.fetchone("SELECT 1 FROM questionnaires WHERE id = ?", (questionnaire_id,))
    return row is not None


async def publish_draft(
    tx: Transaction, questionnaire_id: str, version: int, actor_id: int
) -> None:
    """Make a draft a published version: from now on it never changes."""
    await tx.execute(
        "UPDATE questionnaire_versions SET published_at = ?"
        " WHERE questionnaire_id = ? AND version = ? AND published_at IS NULL",
        (utcnow(), questionnaire_id, version),
    )
    await audit.record(
        tx, actor_id, "questionnaire.published", "questionnaire", f"{questionnaire_id}@{version}"
    )


async def discard_draft(tx: Transaction, questionnaire_id: str, actor_id: int) -> bool:
    """Throw a draft away. A questionnaire that never had a published version goes with it.
    Answers whether anything of it is left."""
    draft = await get_draft(tx, questionnaire_id)
    if draft is None:
        return True
    await tx.execute(
        "DELETE FROM questionnaire_versions WHERE questionnaire_id = ? AND version = ?",
        (questionnaire_id, draft["version"]),
    )
    await audit.record(
        tx,
        actor_id,
        "questionnaire.draft_discarded",
        "questionnaire",
        f"{questionnaire_id}@{draft['version']}",
    )
    left = await tx.fetchone(
        "SELECT 1 FROM questionnaire_versions WHERE questionnaire_id = ?", (questionnaire_id,)
    )
    if left is None:
        await tx.execute("DELETE FROM questionnaires WHERE id = ?", (questionnaire_id,))
        return False
    return True


async def report_definition(db: Reader) -> tuple[Definition, frozenset[str]]:
    """The sections and questions reports line up by key: the default questionnaire's,
    then those only other published questionnaires have (a programme may run several).
    Also answers the default's section keys: reports always show those, the others only
    where they have numbers."""
    rows = await db.fetchall(
        "SELECT v.questionnaire_id, v.definition FROM questionnaire_versions v"
        " WHERE v.published_at IS NOT NULL AND v.version = (SELECT max(version)"
        "  FROM questionnaire_versions w WHERE w.questionnaire_id = v.questionnaire_id"
        "  AND w.published_at IS NOT NULL)"
        " ORDER BY v.questionnaire_id <> 'default', v.questionnaire_id"
    )
    definitions = [json.loads(r["definition"]) for r in rows]
    assert definitions and rows[0]["questionnaire_id"] == "default"
    merged = {**definitions[0], "sections": [dict(s) for s in definitions[0]["sections"]]}
    default_keys = frozenset(s["key"] for s in merged["sections"])
    seen_sections = set(default_keys)
    seen_questions = {q["key"] for _s, q in iter_questions(merged)}
    for other in definitions[1:]:
        for section in other.get("sections", []):
            fresh = [q for q in section["questions"] if q["key"] not in seen_questions]
            seen_questions.update(q["key"] for q in fresh)
            if section["key"] not in seen_sections:
                seen_sections.add(section["key"])
                merged["sections"].append({**section, "questions": fresh})
            elif fresh:
                home = next(s for s in merged["sections"] if s["key"] == section["key"])
                home["questions"] = [*home["questions"], *fresh]
    return merged, default_keys


async def for_branch(db: Reader, branch_id: int) -> Definition:
    """The questionnaire a branch is visited with now: the newest published version of the
    one its latest assignment uses (the default one if it has none)."""
    row = await db.fetchone(
        "SELECT questionnaire_id FROM assignments WHERE branch_id = ? AND state <> 'cancelled'"
        " ORDER BY window_start DESC, id DESC LIMIT 1",
        (branch_id,),
    )
    definition = await latest_published(db, row[0]) if row else None
    if definition is None:
        definition = await latest_published(db, "default")
    assert definition is not None
    return definition
