"""Quality review: ``/review`` (the queue) and ``POST /review/{visit_id}/{decision}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, notices, visit_record
from ..db import Database
from ..errors import ApiError
from ..i18n import LANGUAGE_NAMES, _
from ..queries import (
    appeals,
    corrections,
    events,
    programme,
    questionnaires,
    review,
    review_notes,
    users,
    visits,
)
from ..question_types import TYPES
from ..questionnaire import localized
from ..scoring import parse_stamp
from ..templating import render
from ..visit_payload import is_uuid
from . import filters

DECISIONS = {"approve", "return", "reject"}
MAX_NOTE = 2000


QUEUE_KEYS = ("q", "branch", "region", "shopper", "warning", "waited", "sort")
"""The query parameters that choose what the queue shows (kept from page to page, and
from the queue to a visit and back)."""


@dataclass
class QueueView:
    """The queue as the query string asks for it; a value that cannot be read is left
    out, with a note."""

    chosen: review.QueueFilter
    sort: str
    page: int
    kept: dict[str, str]
    notes: list[str]

    def query(self, **changes: Any) -> str:
        """The query string of this view (with ``changes``; None drops a key)."""
        values = {**self.kept, **changes}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def queue_view(params: Mapping[str, str], deadline_hours: int) -> QueueView:
    kept: dict[str, str] = {}
    notes: list[str] = []
    fields: dict[str, Any] = {}

    def ignored(name: str) -> None:
        notes.append(_("Ignored the filter %(name)s: it cannot be read.") % {"name": name})

    for name, key in (("branch", "branch_id"), ("shopper", "shopper_id")):
        value = params.get(name, "")
        if value.isdigit() and len(value) < 12:
            fields[key], kept[name] = int(value), value
        elif value:
            ignored(name)
    text = " ".join(params.get("q", "").split())[:100]
    if text:
        fields["text"], kept["q"] = text, text
    region = params.get("region", "").strip()
    if region:
        fields["region"], kept["region"] = region[:200], region[:200]
    warning = params.get("warning", "")
    if warning in (*review.WARNING_CODES, "none", "any"):
        fields["warning"], kept["warning"] = warning, warning
    elif warning:
        ignored("warning")
    waited = params.get("waited", "")
    hours = deadline_hours if waited == "late" else int(waited) if waited.isdigit() else None
    if hours is not None and hours <= 24 * 365:
        before = datetime.now(UTC) - timedelta(hours=hours)
        fields["waited_before"] = before.replace(microsecond=0).isoformat()
        kept["waited"] = waited
    elif waited:
        ignored("waited")
    sort = params.get("sort", "oldest")
    if sort not in review.SORTS:
        ignored("sort")
        sort = "oldest"
    elif sort != "oldest":
        kept["sort"] = sort
    page = filters.page_number(params)
    return QueueView(review.QueueFilter(**fields), sort, page, kept, notes)


async def keep_warnings(db: Database) -> None:
    """New waiting visits' warnings, worked out once and kept for the queue's filters."""
    if await review.warning_codes_missing(db):
        async with db.transaction() as tx:
            await review.fill_warning_codes(tx)


def _waited(submitted_at: str | None, now: datetime) -> float:
    moment = parse_stamp(submitted_at)
    return (now - moment).total_seconds() if moment else 0.0


async def queue_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "visit.review")
    db: Database = request.app.state.db
    deadline = await programme.review_hours(db)
    view = queue_view(request.query_params, deadline)
    await keep_warnings(db)
    total = await review.queue_count(db, view.chosen)
    pages = max(1, -(-total // review.PER_PAGE))
    page = min(view.page, pages)
    rows = await review.queue(
        db, view.chosen, view.sort, (page - 1) * review.PER_PAGE, review.PER_PAGE
    )
    now = datetime.now(UTC)
    items = [
        {
            "row": row,
            "codes": [c for c in (row["warning_codes"] or ",").split(",") if c],
            "waited": _waited(row["submitted_at"], now),
            "late": _waited(row["submitted_at"], now) > deadline * 3600,
        }
        for row in rows
    ]
    clean = (
        await review.queue_ids(db, replace(view.chosen, warning="none"))
        if view.chosen.warning in (None, "none")
        else []
    )
    return await render(
        request,
        "review.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "first": (page - 1) * review.PER_PAGE + 1,
            "last": (page - 1) * review.PER_PAGE + len(items),
            "view": view,
            "regions": await review.queue_regions(db),
            "named": await review.named(db, view.chosen.branch_id, view.chosen.shopper_id),
            "warning_codes": review.WARNING_CODES,
            "sorts": review.SORTS,
            "deadline": deadline,
            "clean": clean,
            "appeals": await appeals.open_queue(db),
        },
    )


SAID = {"approve": "approved", "return": "returned", "reject": "rejected"}


async def _saved_note(db: Database, ref: str, shopper_id: int | None) -> str:
    """A note of the library, in the shopper's language ('' for none)."""
    if not ref:
        return ""
    found = await review_notes.get(db, int(ref)) if ref.isdigit() else None
    if found is None:
        raise ApiError(422, "invalid", _("Choose one of the saved notes, or none."))
    shopper = await users.get(db, shopper_id) if shopper_id is not None else None
    return localized(found["texts"], (shopper.locale if shopper else None) or "en")


def _rating(form: Mapping[str, str]) -> tuple[int, str] | None:
    """The reviewer's rating of the visit (1–10) with its reason; None when not given."""
    text = form.get("rating", "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise ApiError(422, "invalid", _("Rate the visit from 1 to 10, or leave it empty."))
    reason = " ".join(form.get("rating_reason", "").split())[:MAX_NOTE]
    if not reason:
        raise ApiError(422, "invalid", _("Give the reason for the rating."))
    return int(text), reason


async def decide(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    every = await request.form()
    pointed = [str(k) for k in every.getlist("questions")]  # multi-valued
    user = auth.require(await auth.current_user(request), "visit.review")
    visit_uuid: str = request.path_params["visit_id"]
    decision: str = request.path_params["decision"]
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid) if is_uuid(visit_uuid) else None
    if row is None or decision not in DECISIONS:
        raise ApiError(404, "not_found", _("There is no such visit."))
    saved = await _saved_note(db, form.get("saved_note", ""), row["shopper_id"])
    typed = form.get("note", "").strip()
    note = "\n\n".join(part for part in (saved, typed) if part)[:MAX_NOTE] or None
    if decision == "return" and not note:
        raise ApiError(422, "invalid", _("Write a note for the shopper: what should change?"))
    if decision == "reject" and not note:
        raise ApiError(422, "invalid", _("Give the reason for rejecting the visit."))
    # A note on an answer points at it too.
    answer_notes = {
        str(k)[len("answer_note_") :]: " ".join(str(v).split())[:MAX_NOTE]
        for k, v in every.items()
        if str(k).startswith("answer_note_") and str(v).strip()
    }
    questions = await pointed_questions(db, row, sorted({*pointed, *answer_notes}))
    if questions and decision != "return":
        raise ApiError(422, "invalid", _("Only a returned visit points at answers to change."))
    rating = _rating(form)
    try:
        async with db.transaction() as tx:
            await review.decide(
                tx, row["id"], decision, user.id, note, questions, answer_notes, rating
            )
            await events.visit_decided(tx, visit_uuid, decision)
    except ValueError as exc:
        raise ApiError(
            409, "conflict", _("This visit is not waiting for review any more.")
        ) from exc
    back = queue_view(dict(parse_qsl(form.get("queue", ""))), await programme.review_hours(db))
    if decision == "approve" and form.get("next"):
        following = await review.queue(db, back.chosen, back.sort, 0, 1)
        if following:
            target = f"/visits/{following[0]['visit_uuid']}"
            return notices.redirect(f"{target}?{back.query()}".rstrip("?"), "approved", 1)
    return notices.redirect(f"/review?{back.query()}".rstrip("?"), SAID[decision], 1)


async def approve_many(request: Request) -> Response:
    """``POST /review/approve-many``: approve the visits named (``visit``, several) that
    still wait and carry no warning, each in its own transaction; a visit someone else
    decided meanwhile, or that has a warning now, is left as it is and counted apart."""
    every = await request.form()
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "visit.review")
    named = list(dict.fromkeys(str(v) for v in every.getlist("visit")))
    if not named or len(named) > review.MAX_BULK or not all(is_uuid(v) for v in named):
        raise ApiError(
            422,
            "invalid",
            _("Name between 1 and %(n)s visits to approve.") % {"n": review.MAX_BULK},
        )
    db: Database = request.app.state.db
    await keep_warnings(db)
    approved = skipped = 0
    for visit_uuid in named:
        row = await visits.latest(db, visit_uuid)
        if row is None or row["state"] != "submitted" or row["warning_codes"] != ",":
            skipped += 1
            continue
        try:
            async with db.transaction() as tx:
                await review.decide(tx, row["id"], "approve", user.id, None)
                await events.visit_decided(tx, visit_uuid, "approve")
            approved += 1
        except ValueError:  # decided by someone else between the read and the write
            skipped += 1
    back = queue_view(dict(parse_qsl(form.get("queue", ""))), await programme.review_hours(db))
    return notices.redirect(
        f"/review?{back.query()}".rstrip("?"), "approved", approved, skipped=skipped
    )


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


async def notes_page(request: Request) -> Response:
    """``/review/notes``: the library of reusable notes for shoppers."""
    auth.require(await auth.current_user(request), "visit.review")
    db: Database = request.app.state.db
    return await render(
        request,
        "review_notes.html",
        {"notes": await review_notes.list_active(db), "languages": LANGUAGE_NAMES},
    )


async def create_note(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "visit.review")
    title = " ".join(form.get("title", "").split())
    texts = {
        code: form.get(f"text_{code}", "").strip()
        for code in LANGUAGE_NAMES
        if form.get(f"text_{code}", "").strip()
    }
    problems = []
    if not title or len(title) > review_notes.TITLE_MAX:
        problems.append(
            _("Give the note a title of at most %(n)s characters.") % {"n": review_notes.TITLE_MAX}
        )
    if set(texts) != set(LANGUAGE_NAMES):
        problems.append(_("Write the note in each language: English, Indonesian and French."))
    if any(len(text) > review_notes.TEXT_MAX for text in texts.values()):
        problems.append(_("Keep each text under %(n)s characters.") % {"n": review_notes.TEXT_MAX})
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    async with request.app.state.db.transaction() as tx:
        await review_notes.create(tx, title, texts, user.id)
    return RedirectResponse("/review/notes", status_code=303)


async def archive_note(request: Request) -> Response:
    await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "visit.review")
    async with request.app.state.db.transaction() as tx:
        done = await review_notes.archive(tx, int(request.path_params["note_id"]), user.id)
    if not done:
        raise ApiError(404, "not_found", _("There is no such note."))
    return RedirectResponse("/review/notes", status_code=303)
