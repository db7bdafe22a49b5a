"""Visits and photos arriving: the one path that checks and stores them, whether they
come from a phone (``PUT /api/v1/visits/...``) or from an exported outbox file that the
agency imports (``server/outbox_import.py``). Idempotent: the same content again is "already
there", different content a conflict, and a refused visit or photo leaves nothing behind."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import conditions, zones
from .db import Database
from .errors import ApiError
from .i18n import _, gettext
from .models import Assignment, User
from .photo_store import PhotoStore
from .photos import PhotoError, prepare, save, save_original
from .queries import (
    action_plans,
    assignments,
    audit,
    events,
    pay,
    programme,
    questionnaires,
    visits,
)
from .queries import photos as photo_queries
from .questionnaire import Problem
from .settings import Settings
from .visit_payload import VisitPayload, check_against, check_times


def invalid(problems: list[Problem]) -> ApiError:
    first = problems[0]
    return ApiError(
        422,
        "invalid",
        _("%(path)s: %(message)s") % {"path": first.path or "body", "message": first.message},
        details=[p.to_api() for p in problems],
    )


def not_found() -> ApiError:
    return ApiError(404, "not_found", _("There is no such visit."))


async def store_visit(
    tx: Any,
    user: User,
    visit_uuid: str,
    payload: VisitPayload,
    settings: Settings,
    extra: Sequence[tuple[str, tuple[Any, ...]]] = (),
) -> bool:
    """Record one revision of ``user``'s visit. Answers True when created, False for an
    identical retry; refuses with an ApiError. ``extra`` statements (an import's audit
    row) go in the same batch."""
    # Everything checked below is read in one hop, the writes go in one batch: the write
    # lock is held for two hops and the commit.
    context = await visits.put_context(
        tx,
        visit_uuid,
        payload.revision,
        payload.assignment_id,
        [p.photo_id for p in payload.photos],
    )
    newest, same = context["newest"], context["same"]
    if newest is not None and newest["shopper_id"] != user.id:
        raise not_found()  # someone else's visit: do not say it exists
    if same is not None:
        if same["content_hash"] == payload.content_hash:
            return False
        raise ApiError(
            409,
            "conflict",
            _(
                "This visit was already sent with different content for revision %(n)d. "
                "A change after sending needs the reviewer to return the visit."
            )
            % {"n": payload.revision},
        )
    found = context["assignment"]
    assignment = Assignment.from_row(found) if found else None
    if assignment is None or assignment.shopper_id != user.id:
        raise invalid([Problem("assignment_id", _("is not one of your assignments"))])
    if payload.revision == 1:
        if newest is not None:
            raise ApiError(409, "conflict", _("This visit already has a later revision."))
        if assignment.state != "open":
            raise invalid([Problem("assignment_id", _("this assignment is no longer open"))])
    else:
        if newest is None:
            raise invalid([Problem("revision", _("a new visit starts at revision 1"))])
        if newest["revision"] != payload.revision - 1 or newest["state"] != "returned":
            raise ApiError(
                409,
                "revision_not_expected",
                _("The server expects revision %(n)d only after a reviewer returns the visit.")
                % {"n": newest["revision"] + 1},
            )
        if newest["assignment_id"] != payload.assignment_id:
            raise invalid([Problem("assignment_id", _("a revision keeps its visit's assignment"))])
    if (payload.questionnaire_id, payload.questionnaire_version) != (
        assignment.questionnaire_id,
        assignment.questionnaire_version,
    ):
        raise invalid(
            [
                Problem(
                    "questionnaire",
                    _("must be the assignment's version (%(v)s)")
                    % {"v": f"{assignment.questionnaire_id}@{assignment.questionnaire_version}"},
                )
            ]
        )
    time_problems = check_times(
        payload, assignment.window_start, assignment.created_at, datetime.now(UTC)
    )
    if time_problems:
        raise invalid(time_problems)
    if payload.revision == 1 and context["early_visits"] == "refuse":
        started = zones.local_date(payload.started_at, found["branch_timezone"])
        if started < assignment.window_start:
            raise invalid(
                [
                    Problem(
                        "started_at",
                        _("is before this assignment's window opens (%(start)s)")
                        % {"start": assignment.window_start},
                    )
                ]
            )
    definition = await questionnaires.get_published(
        tx, payload.questionnaire_id, payload.questionnaire_version
    )
    assert definition is not None, "assignments only use published versions"
    scenario = assignment.scenario_key  # what the visit asks may depend on it (show_if)
    problems = check_against(payload, definition, scenario)
    known = context["photos"]
    clashes = photo_queries.conflicting(visit_uuid, payload.photos, known)
    problems += [
        Problem(f"photos[{i}].photo_id", _("this photo id is already used for another photo"))
        for i in clashes
    ]
    if problems:
        raise invalid(problems)
    # Answers to questions this visit does not ask are not kept (docs/questionnaire-format.md).
    answers = conditions.asked_only(definition, payload.answers, scenario)
    details = {"revision": payload.revision, "photos": len(payload.photos)}
    timezone = found["branch_timezone"]
    statements = [
        visits.insert_statement(
            visit_uuid=visit_uuid,
            revision=payload.revision,
            assignment_id=payload.assignment_id,
            branch_id=assignment.branch_id,
            shopper_id=user.id,
            questionnaire_id=payload.questionnaire_id,
            questionnaire_version=payload.questionnaire_version,
            state="incomplete",
            content_hash=payload.content_hash,
            started_at=payload.started_at,
            ended_at=payload.ended_at,
            started_utc=payload.started_utc,
            stamps=payload.stamps,
            answers=answers,
            comment=payload.comment,
            geo=payload.geo,
            timezone=timezone,
        ),
        *photo_queries.manifest_statements(visit_uuid, payload.revision, payload.photos),
        assignments.done_statement(payload.assignment_id),
    ]
    review = programme.review_setting(context["review_setting"], settings.review_required)
    complete = all(known.get(p.photo_id, {}).get("present") for p in payload.photos)
    if not complete:
        statements.append(audit.entry(user.id, "visit.received", "visit", visit_uuid, details))
    else:
        # Every photo is already here (or there are none): complete in the same batch,
        # the receipt recorded in the completion's audit row.
        statements += visits.completion_statements(
            visit_uuid=visit_uuid,
            revision=payload.revision,
            branch_id=assignment.branch_id,
            local_date=zones.local_date(payload.started_at, timezone),
            definition=definition,
            answers=answers,
            stamps=payload.stamps,
            scenario=scenario,
            review=review,
            actor_id=user.id,
            received={"photos": len(payload.photos)},
            started_at=payload.started_at,
            started_utc=payload.started_utc,
        )
    await tx.batch([*statements, *extra])
    if complete and not review:  # approved at once: a low section may open a plan
        await action_plans.open_for_approval(tx, visit_uuid, context["plans_setting"], known=True)
        await pay.earn(tx, visit_uuid)
        await events.report_released(tx, visit_uuid)
    return True


async def store_photo(
    db: Database,
    store: PhotoStore,
    pool: Executor,
    settings: Settings,
    received: tuple[Path, str, int],
    photo_id: str,
    visit_uuid: str,
    user_id: int,
) -> bool:
    """Store a photo listed in a visit's manifest from a file (its path, SHA-256 and
    size), then complete the visit if it was the last one missing. Answers True when
    stored now, False when the same bytes were already here; refuses with an ApiError."""
    path, sha, size = received
    photo = await photo_queries.get(db, photo_id)
    assert photo is not None, "the caller found it in the visit's manifest"
    if photo["received_at"] is not None:
        if sha == photo["sha256"]:
            return False
        raise ApiError(409, "conflict", _("This photo was already received with other bytes."))
    if sha != photo["sha256"] or size != photo["bytes"]:
        raise ApiError(
            422,
            "hash_mismatch",
            _("The photo's bytes do not match its SHA-256 and size in the visit's photo list."),
        )
    loop = asyncio.get_running_loop()
    try:  # every check and derivation first: a refused photo leaves no file behind
        processed, original = await loop.run_in_executor(
            pool, prepare, path, settings.keep_originals
        )
    except PhotoError as exc:
        raise ApiError(422, exc.code, gettext(exc.message)) from exc
    await save(store, sha, processed)
    if original is not None:
        await save_original(store, sha, original, processed.content_type)
    async with db.transaction() as tx:
        stored_now = await photo_queries.mark_received(
            tx, photo_id, processed, original is not None
        )
        if stored_now:
            await audit.record(
                tx, user_id, "photo.received", "photo", photo_id, {"visit_id": visit_uuid}
            )
            newest = await visits.latest(tx, visit_uuid)
            if newest is not None:
                await visits.complete_if_ready(
                    tx, newest["id"], review_default=settings.review_required, actor_id=user_id
                )
    return bool(stored_now)
