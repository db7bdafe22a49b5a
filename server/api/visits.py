"""``/api/v1/visits/{visit_id}``: the phone's visit upload (PUT) and what the server holds (GET).

Idempotent by design: the app's UUID and revision identify a visit; a retry of the same
content answers 200, different content 409. Everything a PUT writes (visit row, photo
manifest, assignment state, audit rows, and the scores when no photo is outstanding)
is one transaction, so a refused or failed request leaves nothing behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import auth, conditions, zones
from ..db import Conflict, Database
from ..errors import ApiError
from ..i18n import _
from ..models import Assignment, User
from ..queries import assignments, audit, chains, programme, questionnaires, visits
from ..queries import photos as photo_queries
from ..questionnaire import Problem
from ..settings import Settings
from ..visit_payload import VisitPayload, check_against, check_times, is_uuid, parse
from .common import json_body, ok


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


def visit_id_from(request: Request) -> str:
    visit_uuid: str = request.path_params["visit_id"]
    if not is_uuid(visit_uuid):
        raise not_found()
    return visit_uuid


async def put_visit(request: Request) -> Response:
    user = await auth.require_user(request, "visit.create")
    visit_uuid = visit_id_from(request)
    settings: Settings = request.app.state.settings
    payload, problems = parse(await json_body(request), settings.max_photo_bytes)
    if payload is None:
        raise invalid(problems)
    db: Database = request.app.state.db
    try:
        async with db.transaction() as tx:
            created = await _store(tx, user, visit_uuid, payload, settings)
    except Conflict as exc:
        # A unique key caught what the checks above could not see (another process won
        # the race for this assignment or id): nothing was written.
        raise ApiError(
            409, "conflict", _("This visit or its assignment was already recorded differently.")
        ) from exc
    # Read after the commit, outside the write lock: a revision is never deleted.
    row = await visits.revision(db, visit_uuid, payload.revision)
    assert row is not None
    return ok(await visits.status(db, row), status_code=201 if created else 200)


async def _store(
    tx: Any, user: User, visit_uuid: str, payload: VisitPayload, settings: Settings
) -> bool:
    """Record one revision. Answers True when created, False for an identical retry."""
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
    if not all(known.get(p.photo_id, {}).get("present") for p in payload.photos):
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
            review=programme.review_setting(context["review_setting"], settings.review_required),
            actor_id=user.id,
            received={"photos": len(payload.photos)},
        )
    await tx.batch(statements)
    return True


async def get_visit(request: Request) -> Response:
    user = auth.require_login(await auth.current_user(request))
    visit_uuid = visit_id_from(request)
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid)
    if row is None:
        raise not_found()
    branch = await chains.get_branch(db, row["branch_id"])
    assert branch is not None
    if not auth.can_see_visit(
        user, shopper_id=row["shopper_id"], branch=branch, state=row["state"]
    ):
        raise not_found()
    return ok(await visits.status(db, row))


def history_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One visit in the shopper's history: the reviewer's words are a ``note`` on a
    returned visit and a ``reason`` on a rejected one."""
    entry: dict[str, Any] = {
        "visit_id": row["visit_uuid"],
        "revision": row["revision"],
        "branch": {"id": row["branch_id"], "name": row["branch_name"], "city": row["branch_city"]},
        "local_date": row["local_date"],
        "started_at": row["started_at"],
        "state": row["state"],
    }
    words = row["review_note"]
    if words and row["state"] == "returned":
        entry["note"] = words
    elif words and row["state"] == "rejected":
        entry["reason"] = words
    return entry


async def my_visits(request: Request) -> Response:
    """``GET /api/v1/me/visits``: the shopper's own visits, newest first, with what became
    of each (the app keeps the answer to read offline)."""
    user = await auth.require_user(request, "assignment.read_own")
    db: Database = request.app.state.db
    rows = await visits.history_for_shopper(db, user.id)
    return ok({"visits": [history_entry(row) for row in rows], "limit": visits.HISTORY_LIMIT})
