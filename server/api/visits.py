"""``/api/v1/visits/{visit_id}``: the phone's visit upload (PUT) and what the server holds (GET).

Idempotent by design: the app's UUID and revision identify a visit; a retry of the same
content answers 200, different content 409. Everything a PUT writes (visit row, photo
manifest, assignment state, audit rows, and the scores when no photo is outstanding)
is one transaction, so a refused or failed request leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import auth, intake
from ..db import Conflict, Database
from ..errors import ApiError
from ..i18n import _
from ..intake import not_found
from ..queries import chains, roster, visits
from ..settings import Settings
from ..visit_payload import is_uuid, parse
from .common import json_body, ok


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
        raise intake.invalid(problems)
    db: Database = request.app.state.db
    try:
        async with db.transaction() as tx:
            created = await intake.store_visit(tx, user, visit_uuid, payload, settings)
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
    return ok(
        {
            "visits": [history_entry(row) for row in rows],
            "limit": visits.HISTORY_LIMIT,
            # The shopper's own visit quality (server/quality.py), as the agency sees it.
            "quality": (await roster.quality_of(db, [user.id]))[user.id],
        }
    )
