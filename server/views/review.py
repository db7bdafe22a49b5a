"""Quality review: ``/review`` (the queue) and ``POST /review/{visit_id}/{decision}``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, visit_record
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import appeals, corrections, events, questionnaires, review, visits
from ..question_types import TYPES
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
    open_appeals = await appeals.open_queue(db)
    return await render(request, "review.html", {"items": items, "appeals": open_appeals})


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
            await events.visit_decided(tx, visit_uuid, decision)
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


MAX_COMMENT = 2000


async def correct(request: Request) -> Response:
    """``POST /review/{visit_id}/correct/{question}``: a reviewer changes one answer (its
    value, N/A, "never happened", its comment) with a reason; the visit is rescored and,
    once approved, recounted in the summaries, all in one transaction."""
    await auth.checked_form(request)  # forms check their token before anything else
    form = await request.form()
    fields = {key: [str(v) for v in form.getlist(key)] for key in form}
    user = auth.require(await auth.current_user(request), "visit.review")
    visit_uuid: str = request.path_params["visit_id"]
    key: str = request.path_params["question"]
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid) if is_uuid(visit_uuid) else None
    if row is None:
        raise ApiError(404, "not_found", _("There is no such visit."))
    definition = await questionnaires.get_published(
        db, row["questionnaire_id"], row["questionnaire_version"]
    )
    assert definition is not None, "a visit's questionnaire version is always published"
    question = next(
        (q for s in definition["sections"] for q in s["questions"] if q["key"] == key), None
    )
    if question is None:
        raise ApiError(404, "not_found", _("This visit's questionnaire has no such question."))
    if not corrections.correctable(row["state"], await appeals.latest(db, row["id"])):
        raise ApiError(
            409,
            "conflict",
            _("Only a visit waiting for review, or approved and under appeal, can be corrected."),
        )
    answer = corrected_answer(question, fields, visit_record.unpack_answers(row["answers"]))
    reason = _first(fields, "reason").strip()[:MAX_NOTE]
    if not reason:
        raise ApiError(422, "invalid", _("Give the reason for the correction."))
    async with db.transaction() as tx:
        await corrections.correct(tx, row["id"], definition, key, answer, reason, user.id)
    return RedirectResponse(f"/visits/{visit_uuid}#q-{key}", status_code=303)


def _first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0]


def corrected_answer(
    question: dict[str, Any], fields: dict[str, list[str]], answers: dict[str, Any]
) -> dict[str, Any] | None:
    """The answer the correction form describes: ``how`` is ``value`` (read by the
    question's type), ``na``, ``never`` (a timed moment that never came), ``keep`` (only
    the comment changes) or ``none``; with ``comment``. 422 when it is not an answer to
    the question."""
    kind = TYPES[question["type"]]
    how = _first(fields, "how") or "keep"
    before = answers.get(question["key"]) or {}
    answer: dict[str, Any]
    if how == "keep":
        answer = {k: v for k, v in before.items() if k != "comment"}
    elif how == "none":
        answer = {}
    elif how == "na" and question.get("na"):
        answer = {"na": True}
    elif how == "never" and question["type"] == "timed":
        answer = {"never": True}
    elif how == "value" and kind.takes_value:
        try:
            value = kind.from_form(question, fields)
        except (KeyError, ValueError, TypeError) as exc:
            raise ApiError(422, "invalid", _("This answer cannot be read.")) from exc
        problem = kind.value_problem(question, value)
        if problem:
            raise ApiError(422, "invalid", _("The answer %(why)s.") % {"why": problem})
        answer = {"value": value}
    else:
        raise ApiError(422, "invalid", _("This question cannot take that answer."))
    comment = _first(fields, "comment").strip()[:MAX_COMMENT]
    if comment:
        answer["comment"] = comment
    return answer or None


async def decide_appeal(request: Request) -> Response:
    """``POST /review/{visit_id}/appeal``: a reviewer decides a visit's open appeal
    (``decision``: upheld, partly_upheld or rejected) with a ``reason``; an upheld appeal
    may ``void`` the visit (it leaves the reports). Corrections come first, one answer
    at a time, while the appeal is open."""
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "visit.review")
    visit_uuid: str = request.path_params["visit_id"]
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid) if is_uuid(visit_uuid) else None
    if row is None:
        raise ApiError(404, "not_found", _("There is no such visit."))
    appeal = await appeals.latest(db, row["id"])
    if not appeals.is_open(appeal) or row["state"] != "approved":
        raise ApiError(409, "conflict", _("This visit has no open appeal."))
    assert appeal is not None
    decision = form.get("decision", "")
    if decision not in appeals.DECISIONS:
        raise ApiError(422, "invalid", _("Choose a decision: upheld, partly upheld or rejected."))
    reason = form.get("reason", "").strip()[:MAX_NOTE]
    if not reason:
        raise ApiError(422, "invalid", _("Give the reason for the decision."))
    async with db.transaction() as tx:
        await appeals.decide(tx, appeal, row, decision, reason, form.get("void") == "on", user.id)
        await events.appeal_decided(tx, visit_uuid, decision, reason)
    return RedirectResponse(f"/visits/{visit_uuid}#appeal", status_code=303)
