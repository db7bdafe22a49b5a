"""Visits: one row per revision, with the scores computed when it is complete."""

from __future__ import annotations

import json
from typing import Any

from .. import reports, visit_record, zones
from ..db import Reader, Row, Transaction, plain, plain_rows, utcnow
from ..db.sql import placeholders
from ..scoring import VisitScore, record_from_breakdown, score_visit, stored, to_record
from ..visit_record import compact_json
from . import (
    action_plans,
    audit,
    events,
    pay,
    photos,
    programme,
    questionnaires,
    rollups,
)


async def insert(tx: Transaction, **fields: Any) -> int:
    """Store one revision; answers its row id. (The fields of :func:`insert_statement`; the
    branch's time zone is looked up when not given.)"""
    if "timezone" not in fields:
        branch = await tx.fetchone(
            "SELECT timezone FROM branches WHERE id = ?", (fields["branch_id"],)
        )
        fields["timezone"] = branch["timezone"] if branch else None
    return await tx.insert(*insert_statement(**fields))


def insert_statement(
    *,
    visit_uuid: str,
    revision: int,
    assignment_id: int,
    branch_id: int,
    shopper_id: int,
    questionnaire_id: str,
    questionnaire_version: int,
    state: str,
    content_hash: str,
    started_at: str | None,
    ended_at: str | None,
    started_utc: str | None,
    stamps: dict[str, Any],
    answers: dict[str, Any],
    comment: str,
    geo: dict[str, Any] | None,
    received_at: str | None = None,
    submitted_at: str | None = None,
    score: VisitScore | None = None,
    timezone: str | None,
) -> tuple[str, tuple[Any, ...]]:
    """The statement that stores one revision; ``timezone`` is its branch's."""
    received = received_at or utcnow()
    geo = geo or {}
    # The visit's day, in its branch's zone, once and for all (server/zones.py).
    day = zones.local_date(started_at, timezone) if started_at else None
    return (
        "INSERT INTO visits (visit_uuid, revision, assignment_id, branch_id, shopper_id,"
        " questionnaire_id, questionnaire_version, state, content_hash, started_at,"
        " ended_at, started_utc, received_at, submitted_at, stamps, answers, comment, geo_lat,"
        " geo_lon, geo_accuracy_m, score_total, scores, updated_at, local_date)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            visit_uuid,
            revision,
            assignment_id,
            branch_id,
            shopper_id,
            questionnaire_id,
            questionnaire_version,
            state,
            content_hash,
            started_at,
            ended_at,
            started_utc,
            received,
            submitted_at,
            visit_record.pack_stamps(stamps, started_at),
            visit_record.pack_answers(answers),
            comment,
            geo.get("lat"),
            geo.get("lon"),
            geo.get("accuracy_m"),
            score.total if score else None,
            compact_json(to_record(score)) if score else None,
            received,
            day,
        ),
    )


async def backfill_local_dates(tx: Transaction) -> int:
    """Visits stored before local_date existed get theirs; answers how many."""
    rows = await tx.fetchall(
        "SELECT v.id, v.started_at, b.timezone FROM visits v JOIN branches b ON b.id = v.branch_id"
        " WHERE v.local_date IS NULL AND v.started_at IS NOT NULL"
    )
    for row in rows:
        await tx.execute(
            "UPDATE visits SET local_date = ? WHERE id = ?",
            (zones.local_date(row["started_at"], row["timezone"]), row["id"]),
        )
    return len(rows)


async def set_state(tx: Transaction, visit_id: int, state: str, note: str | None = None) -> None:
    await tx.execute(
        "UPDATE visits SET state = ?, review_note = coalesce(?, review_note), updated_at = ?"
        " WHERE id = ?",
        (state, note, utcnow(), visit_id),
    )


async def count_by_state(db: Reader) -> dict[str, int]:
    """Visit rows by state, from the counts the database keeps (migration 0010)."""
    rows = await db.fetchall(
        "SELECT state, sum(visits) FROM visit_counts GROUP BY state HAVING sum(visits) > 0"
    )
    return {r[0]: r[1] for r in rows}


async def branch_summaries(db: Reader, branch_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Approved visits per branch: how many, the average score, the latest visit date.
    The counts come from the monthly summary and the latest visit from one index seek per
    branch, so this costs the same however many visits a branch has."""
    if not branch_ids:
        return {}
    marks = placeholders(branch_ids)
    rows = await db.fetchall(
        "SELECT branch_id, sum(visits) AS n, sum(scored) AS scored, sum(score_sum) AS total,"
        " (SELECT max(v.started_utc) FROM visits v WHERE v.branch_id = s.branch_id"
        "  AND v.state = 'approved') AS latest"
        f" FROM branch_month_scores s WHERE section_key = '' AND branch_id IN ({marks})"
        " GROUP BY branch_id",
        branch_ids,
    )
    return {
        r["branch_id"]: {
            "n": r["n"],
            "scored": r["scored"],
            "mean": r["total"] / r["scored"] if r["scored"] else None,
            "latest": r["latest"],
        }
        for r in rows
    }


async def latest(db: Reader, visit_uuid: str) -> dict[str, Any] | None:
    """The newest revision of a visit."""
    return plain(
        await db.fetchone(
            "SELECT * FROM visits WHERE visit_uuid = ? ORDER BY revision DESC LIMIT 1",
            (visit_uuid,),
        )
    )


async def put_context(
    tx: Transaction, visit_uuid: str, number: int, assignment_id: int, photo_ids: list[str]
) -> dict[str, Any]:
    """Everything storing a revision checks, read in one hop: the visit's newest revision
    and revision ``number`` (if stored), the assignment with its branch's time zone, the
    programme's review and early-visit settings and the photos already known by id."""
    marks = placeholders(photo_ids)
    revisions, assignment, setting, photo_rows = await tx.fetch_each(
        [
            (
                "SELECT * FROM visits WHERE visit_uuid = ? AND (revision = ? OR revision ="
                " (SELECT max(revision) FROM visits WHERE visit_uuid = ?))"
                " ORDER BY revision DESC",
                (visit_uuid, number, visit_uuid),
            ),
            (
                "SELECT a.*, b.timezone AS branch_timezone FROM assignments a"
                " JOIN branches b ON b.id = a.branch_id WHERE a.id = ?",
                (assignment_id,),
            ),
            (
                "SELECT key, value FROM programme_settings"
                " WHERE key IN ('review_required', 'early_visits', 'plans')",
                (),
            ),
            (
                "SELECT id, visit_uuid, sha256, bytes, received_at IS NOT NULL AS present"
                f" FROM photos WHERE id IN ({marks})",
                photo_ids,
            ),
        ]
    )
    found = [dict(r) for r in revisions]
    chosen = {row[0]: row[1] for row in setting}
    return {
        "newest": found[0] if found else None,
        "same": next((r for r in found if r["revision"] == number), None),
        "assignment": dict(assignment[0]) if assignment else None,
        "review_setting": chosen.get("review_required"),
        "early_visits": programme.early_setting(chosen.get("early_visits")),
        "plans_setting": chosen.get("plans"),
        "photos": {r["id"]: dict(r) for r in photo_rows},
    }


async def with_scenario(db: Reader, visit_id: int) -> Row | None:
    """A visit row with its assignment's ``scenario_key`` (what rescoring and the
    summaries' counts need)."""
    return await db.fetchone(
        "SELECT v.*, (SELECT scenario_key FROM assignments a WHERE a.id = v.assignment_id)"
        " AS scenario_key FROM visits v WHERE v.id = ?",
        (visit_id,),
    )


async def revision(db: Reader, visit_uuid: str, number: int) -> dict[str, Any] | None:
    return plain(
        await db.fetchone(
            "SELECT * FROM visits WHERE visit_uuid = ? AND revision = ?", (visit_uuid, number)
        )
    )


def completion_statements(
    *,
    visit_uuid: str,
    revision: int,
    branch_id: int,
    local_date: str | None,
    definition: dict[str, Any],
    answers: dict[str, Any],
    stamps: dict[str, Any],
    review: bool,
    actor_id: int | None,
    received: dict[str, Any] | None = None,
    scenario: str | None = None,
    started_at: str | None = None,
    started_utc: str | None = None,
) -> list[tuple[str, tuple[Any, ...]]]:
    """What completing a revision writes (all its photos are in): its scores and its new
    state (submitted, or approved when review is off, counted in the summaries then),
    with the audit rows. The revision is found by its key, so this can follow its insert
    in one batch."""
    score = score_visit(definition, answers, stamps, scenario)
    state = "submitted" if review else "approved"
    now = utcnow()
    record = to_record(score)
    # Received and complete in one request: one audit row holds both facts (the history
    # shows them as two steps, see audit.visit_history).
    details: dict[str, Any] = {"revision": revision, **({"received": received} if received else {})}
    statements = [
        (
            "UPDATE visits SET state = ?, submitted_at = ?, score_total = ?, scores = ?,"
            " updated_at = ? WHERE visit_uuid = ? AND revision = ?",
            (state, now, score.total, compact_json(record), now, visit_uuid, revision),
        ),
        audit.entry(actor_id, "visit.submitted", "visit", visit_uuid, details),
    ]
    if state == "approved":
        statements.append(
            audit.entry(
                None, "visit.approved", "visit", visit_uuid, {"revision": revision, "review": "off"}
            )
        )
        statements += rollups.approval_statements(
            branch_id, local_date, score.total, stored(definition, record), started_at, started_utc
        ) + rollups.answer_statements(
            branch_id, local_date, reports.counted_answers(definition, answers, scenario)
        )
    return statements


async def complete_if_ready(
    tx: Transaction, visit_id: int, *, review_default: bool, actor_id: int | None
) -> bool:
    """When a revision has all its photos, score it and move it on: submitted, or
    approved when the programme has review turned off (the admin's programme setting,
    else the server's default). Answers whether it moved. One read and one batch of
    writes: the write lock is held for two hops."""
    row = await tx.fetchone(
        "SELECT v.*, (SELECT count(*) FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
        "  WHERE vp.visit_id = v.id AND p.received_at IS NULL) AS photos_missing,"
        " (SELECT value FROM programme_settings WHERE key = 'review_required') AS review,"
        " (SELECT value FROM programme_settings WHERE key = 'plans') AS plans,"
        " (SELECT scenario_key FROM assignments a WHERE a.id = v.assignment_id) AS scenario_key"
        " FROM visits v WHERE v.id = ?",
        (visit_id,),
    )
    if row is None or row["state"] != "incomplete" or row["photos_missing"]:
        return False
    definition = await questionnaires.get_published(
        tx, row["questionnaire_id"], row["questionnaire_version"]
    )
    assert definition is not None, "a visit's questionnaire version is always published"
    review = programme.review_setting(row["review"], review_default)
    await tx.batch(
        completion_statements(
            visit_uuid=row["visit_uuid"],
            revision=row["revision"],
            branch_id=row["branch_id"],
            local_date=row["local_date"],
            definition=definition,
            answers=visit_record.unpack_answers(row["answers"]),
            stamps=visit_record.unpack_stamps(row["stamps"], row["started_at"]),
            review=review,
            actor_id=actor_id,
            scenario=row["scenario_key"],
            started_at=row["started_at"],
            started_utc=row["started_utc"],
        )
    )
    if not review:
        await action_plans.open_for_approval(tx, row["visit_uuid"], row["plans"], known=True)
        await pay.earn(tx, row["visit_uuid"])
        await events.report_released(tx, row["visit_uuid"])
    return True


async def return_to_shopper(
    tx: Transaction,
    visit_id: int,
    note: str,
    actor_id: int,
    questions: list[str] | None = None,
    answer_notes: dict[str, str] | None = None,
    rating: tuple[int, str] | None = None,
) -> None:
    """A reviewer sends a submitted visit back, with a note and the answers it points at
    (question keys, checked by the caller); the shopper's edit comes as a new revision."""
    row = await tx.fetchone(
        "SELECT visit_uuid, revision, state FROM visits WHERE id = ?", (visit_id,)
    )
    if row is None or row["state"] != "submitted":
        raise ValueError("only a submitted visit can be returned")
    await set_state(tx, visit_id, "returned", note)
    if questions:
        await tx.execute(
            "UPDATE visits SET review_questions = ?, review_answer_notes = ? WHERE id = ?",
            (
                compact_json(questions),
                compact_json(answer_notes) if answer_notes else None,
                visit_id,
            ),
        )
    details: dict[str, Any] = {"revision": row["revision"], "note": note}
    if questions:
        details["questions"] = questions
    if answer_notes:
        details["answer_notes"] = answer_notes
    if rating is not None:
        details["rating"], details["rating_reason"] = rating
    await audit.record(tx, actor_id, "visit.returned", "visit", row["visit_uuid"], details)


async def status(db: Reader, row: Row) -> dict[str, Any]:
    """What the server holds of a visit: the phone marks it synced only when complete."""
    manifest = await photos.manifest_status(db, row["id"])
    present = [m["photo_id"] for m in manifest if m["present"]]
    result: dict[str, Any] = {
        "visit_id": row["visit_uuid"],
        "revision": row["revision"],
        "state": row["state"],
        "photos_expected": len(manifest),
        "photos_present": len(present),
        "photos_missing": [m["photo_id"] for m in manifest if not m["present"]],
        "complete": row["state"] != "incomplete",
        "received_at": row["received_at"],
    }
    if row["state"] == "returned":
        result["review_note"] = row["review_note"]
    return result


async def returned_for_shopper(db: Reader, shopper_id: int) -> list[dict[str, Any]]:
    """The shopper's visits whose newest revision was returned for another edit."""
    return plain_rows(
        await db.fetchall(
            "SELECT v.*, b.name AS branch_name FROM visits v"
            " JOIN branches b ON b.id = v.branch_id"
            " WHERE v.shopper_id = ? AND v.state = 'returned'"
            " AND v.revision = (SELECT max(revision) FROM visits w"
            " WHERE w.visit_uuid = v.visit_uuid)"
            " ORDER BY v.updated_at",
            (shopper_id,),
        )
    )


HISTORY_LIMIT = 200
"""The newest visits a shopper's history lists (months of work for a busy shopper)."""


async def history_for_shopper(db: Reader, shopper_id: int) -> list[dict[str, Any]]:
    """The shopper's own visits, newest first, each as its newest revision with its
    branch: what the app's history shows (docs/api.md, GET /api/v1/me/visits)."""
    return plain_rows(
        await db.fetchall(
            "SELECT v.visit_uuid, v.revision, v.state, v.local_date, v.started_at,"
            " v.review_note, b.id AS branch_id, b.name AS branch_name, b.city AS branch_city"
            " FROM visits v JOIN branches b ON b.id = v.branch_id"
            " WHERE v.shopper_id = ? AND v.revision = (SELECT max(revision) FROM visits w"
            " WHERE w.visit_uuid = v.visit_uuid)"
            " ORDER BY v.started_utc DESC, v.id DESC LIMIT ?",
            (shopper_id, HISTORY_LIMIT),
        )
    )


async def revisions(db: Reader, visit_uuid: str) -> list[dict[str, Any]]:
    """Every revision of a visit, newest first."""
    return plain_rows(
        await db.fetchall(
            "SELECT * FROM visits WHERE visit_uuid = ? ORDER BY revision DESC", (visit_uuid,)
        )
    )


async def shopper_name(db: Reader, visit_id: int) -> str | None:
    row = await db.fetchone(
        "SELECT u.name FROM visits v JOIN users u ON u.id = v.shopper_id WHERE v.id = ?",
        (visit_id,),
    )
    return str(row[0]) if row else None


async def approved_page(
    db: Reader,
    branch_ids: list[int],
    *,
    after: tuple[str, int],
    before_day: str | None = None,
    limit: int,
) -> list[dict[str, Any]]:
    """Approved visits of some branches after ``after`` = (local day, row id), in that
    order (exports stream them page by page), up to the day ``before_day`` (excluded):
    id, visit_uuid, branch_id, local_date, score_total, scores (raw JSON) and the
    questionnaire version they are read against."""
    if not branch_ids:
        return []
    marks = placeholders(branch_ids)
    return plain_rows(
        await db.fetchall(
            APPROVED_PAGE.format(marks=marks),
            (*branch_ids, *after, before_day or "9999-12-31", limit),
        )
    )


# "+branch_id" keeps SQLite from choosing the branch index, whose rows would then need
# sorting on every page: it walks visits_approved_by_day (0011) in (day, id) order and
# reads only the rows from ``after`` to ``before_day``.
APPROVED_PAGE = (
    "SELECT id, visit_uuid, branch_id, local_date, started_at, score_total, scores,"
    " questionnaire_id, questionnaire_version, answers, comment FROM visits"
    " WHERE state = 'approved' AND +branch_id IN ({marks})"
    " AND (local_date, id) > (?, ?)"
    " AND local_date < ? ORDER BY local_date, id LIMIT ?"
)


async def count_approved(
    db: Reader,
    branch_ids: list[int],
    first_day: str,
    before_day: str | None,
    at_most: int | None = None,
) -> int:
    """How many rows :func:`approved_page` will give for these branches and days (an
    export's progress), read from the same index; counting stops at ``at_most`` when
    given (whether an export is big reads no more than that many)."""
    if not branch_ids:
        return 0
    found = (
        "SELECT 1 FROM visits WHERE state = 'approved'"
        f" AND +branch_id IN ({placeholders(branch_ids)}) AND local_date >= ? AND local_date < ?"
    )
    params: tuple[Any, ...] = (*branch_ids, first_day, before_day or "9999-12-31")
    if at_most is not None:
        found, params = found + " LIMIT ?", (*params, at_most)
    row = await db.fetchone(f"SELECT count(*) FROM ({found}) AS found", params)
    return int(row[0]) if row else 0


COMPACT_PAGE = 2000


async def compact_rows(tx: Transaction) -> int:
    """Rows stored before migration 0014 take the compact forms: scores as the record of
    server/scoring.py (from the full breakdown, the same numbers), answers and stamps as
    server/visit_record.py keeps them (read back identical). Answers how many rows
    changed."""
    changed = 0
    after = 0
    while True:
        rows = await tx.fetchall(
            "SELECT id, scores, answers, stamps, started_at, questionnaire_id,"
            " questionnaire_version FROM visits WHERE id > ? ORDER BY id LIMIT ?",
            (after, COMPACT_PAGE),
        )
        if not rows:
            return changed
        after = rows[-1]["id"]
        updates = []
        for row in rows:
            scores = row["scores"]
            if scores and not scores.startswith('{"v":2,'):
                definition = await questionnaires.get_published(
                    tx, row["questionnaire_id"], row["questionnaire_version"]
                )
                scores = compact_json(record_from_breakdown(definition or {}, json.loads(scores)))
            answers = visit_record.pack_answers(visit_record.unpack_answers(row["answers"]))
            stamps = visit_record.pack_stamps(
                visit_record.unpack_stamps(row["stamps"], row["started_at"]), row["started_at"]
            )
            if (scores, answers, stamps) != (row["scores"], row["answers"], row["stamps"]):
                updates.append((scores, answers, stamps, row["id"]))
        await tx.executemany(
            "UPDATE visits SET scores = ?, answers = ?, stamps = ? WHERE id = ?", updates
        )
        changed += len(updates)
