"""Quality review: ``/review`` (the queue) and ``POST /review/{visit_id}/{decision}``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import questionnaires, review, visits
from ..templating import render
from ..visit_payload import is_uuid

DECISIONS = {"approve", "return", "reject"}
MAX_NOTE = 2000


async def queue_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "visit.review")
    db: Database = request.app.state.db
    items = []
    for row in await review.queue(db):
        items.append({"row": row, "warnings": await review.warnings(db, row)})
    return await render(request, "review.html", {"items": items})


async def decide(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    pointed = [str(k) for k in (await request.form()).getlist("questions")]  # multi-valued
    user = auth.require(await auth.current_user(request), "visit.review")
    visit_uuid: str = request.path_params["visit_id"]
    decision: str = request.path_params["decision"]
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid) if is_uuid(visit_uuid) else None
    if row is None or decision not in DECISIONS:
        raise ApiError(404, "not_found", _("There is no such visit."))
    note = form.get("note", "").strip()[:MAX_NOTE] or None
    if decision == "return" and not note:
        raise ApiError(422, "invalid", _("Write a note for the shopper: what should change?"))
    if decision == "reject" and not note:
        raise ApiError(422, "invalid", _("Give the reason for rejecting the visit."))
    questions = await pointed_questions(db, row, pointed)
    if questions and decision != "return":
        raise ApiError(422, "invalid", _("Only a returned visit points at answers to change."))
    try:
        async with db.transaction() as tx:
            await review.decide(tx, row["id"], decision, user.id, note, questions)
    except ValueError as exc:
        raise ApiError(
            409, "conflict", _("This visit is not waiting for review any more.")
        ) from exc
    return RedirectResponse("/review", status_code=303)


async def pointed_questions(db: Database, row: dict[str, Any], keys: list[str]) -> list[str]:
    """The answers a reviewer points at, in the questionnaire's order: each must be a
    question of the visit's questionnaire."""
    if not keys:
        return []
    definition = await questionnaires.get_published(
        db, row["questionnaire_id"], row["questionnaire_version"]
    )
    assert definition is not None, "a visit's questionnaire version is always published"
    known = [q["key"] for section in definition["sections"] for q in section["questions"]]
    if not set(keys) <= set(known):
        raise ApiError(422, "invalid", _("Point only at questions of this visit."))
    return [key for key in known if key in keys]
