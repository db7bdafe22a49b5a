"""The owner's self-assessment: the same questionnaire, about their own branch.

``GET /branches/{id}/self-assessment`` shows the form (filled with the latest answers);
``POST`` stores a new self-assessment, scored by ``server.scoring`` like a visit. Timed
questions are answered as "within N seconds" and become stamps, so the one scoring
implementation applies unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _, current_locale
from ..models import Branch, User
from ..queries import questionnaires, summaries
from ..question_types import TYPES
from ..questionnaire import Definition, Question, is_scored, localized
from ..scoring import score_visit
from ..templating import render
from .lookups import visible_branch


async def _branch(request: Request) -> tuple[User, Branch]:
    return await visible_branch(request, "selfassessment.write")


def _choices(q: Question, locale: str) -> list[tuple[str, str]]:
    """(form value, label) pairs for one scored question."""
    out = TYPES[q["type"]].self_choices(q, locale)
    if q.get("na"):
        out.append(("na", _("N/A")))
    return out


def _to_answers(
    definition: Definition, form: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Answers and synthetic stamps from the form; unknown values are left unanswered."""
    answers: dict[str, Any] = {}
    start = datetime(2000, 1, 1, tzinfo=UTC)
    stamps: dict[str, str] = {}
    for section in definition["sections"]:
        for q in section["questions"]:
            value = form.get(f"q-{q['key']}", "")
            if value not in {v for v, _label in _choices(q, "en")}:
                continue
            if value == "na":
                answers[q["key"]] = {"na": True}
                continue
            answer, made = TYPES[q["type"]].from_self(q, value, start)
            stamps.update(made)
            if TYPES[q["type"]].takes_value:
                answers[q["key"]] = {"value": answer}
    return answers, stamps


def _form_value(q: Question, answers: dict[str, Any], stamps: dict[str, str]) -> str | None:
    answer = answers.get(q["key"])
    if answer and answer.get("na"):
        return "na"
    return TYPES[q["type"]].to_self(q, answer, stamps) or None


async def form_page(request: Request) -> Response:
    _user, branch = await _branch(request)
    db: Database = request.app.state.db
    definition = await questionnaires.for_branch(db, branch.id)
    answers, stamps = await summaries.latest_self_assessment_answers(db, branch.id)
    locale = current_locale()
    sections = [
        {
            "title": localized(s.get("title"), locale),
            "questions": [
                {
                    "key": q["key"],
                    "text": localized(q.get("text"), locale),
                    "choices": _choices(q, locale),
                    "current": _form_value(q, answers, stamps),
                }
                for q in s["questions"]
                if is_scored(q)
            ],
        }
        for s in definition["sections"]
    ]
    return await render(request, "self_assessment.html", {"branch": branch, "sections": sections})


async def form_submit(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user, branch = await _branch(request)
    db: Database = request.app.state.db
    definition = await questionnaires.for_branch(db, branch.id)
    answers, stamps = _to_answers(definition, form)
    if not answers:
        raise ApiError(422, "invalid", _("Answer at least one question."))
    score = score_visit(definition, answers, stamps)
    async with db.transaction() as tx:
        await summaries.add_self_assessment(
            tx,
            branch_id=branch.id,
            author_id=user.id,
            definition=definition,
            answers=answers,
            stamps=stamps,
            total=score.total,
            scores=score.to_json(),
        )
    return RedirectResponse(f"/branches/{branch.id}#gap-h", status_code=303)
