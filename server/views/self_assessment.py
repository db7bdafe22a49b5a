"""The owner's self-assessment: the same questionnaire, about their own branch.

``GET /branches/{id}/self-assessment`` shows the form (filled with the latest answers);
``POST`` stores a new self-assessment, scored by ``server.scoring`` like a visit. Timed
questions are answered as "within N seconds" and become stamps, so the one scoring
implementation applies unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _, current_locale
from ..models import Branch, User
from ..queries import questionnaires, summaries
from ..questionnaire import Definition, Question, is_scored, localized
from ..scoring import score_visit
from ..templating import render
from .lookups import visible_branch

LONGER = "longer"


async def _branch(request: Request) -> tuple[User, Branch]:
    return await visible_branch(request, "selfassessment.write")


def _choices(q: Question, locale: str) -> list[tuple[str, str]]:
    """(form value, label) pairs for one scored question."""
    kind = q["type"]
    if kind == "yes_no":
        out = [("true", _("Yes")), ("false", _("No"))]
    elif kind == "scale":
        out = [(str(v), str(v)) for v in range(int(q["min"]), int(q["max"]) + 1)]
    elif kind == "choice":
        out = [(o["key"], localized(o.get("text"), locale)) for o in q["options"]]
    elif kind == "timed":
        out = [
            (str(int(t["max_seconds"])), _("within %(n)s seconds") % {"n": int(t["max_seconds"])})
            for t in q["thresholds"]
        ] + [(LONGER, _("longer"))]
    elif kind == "count_pair":
        out = [(str(n), _("%(n)s%% of them") % {"n": n}) for n in (100, 75, 50, 25, 0)]
    else:
        out = []
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
            elif q["type"] == "yes_no":
                answers[q["key"]] = {"value": value == "true"}
            elif q["type"] == "scale":
                answers[q["key"]] = {"value": int(value)}
            elif q["type"] == "choice":
                answers[q["key"]] = {"value": value}
            elif q["type"] == "count_pair":
                answers[q["key"]] = {"value": {"open": int(value), "total": 100}}
            elif q["type"] == "timed":
                limit = max(int(t["max_seconds"]) for t in q["thresholds"])
                seconds = limit + 60 if value == LONGER else int(value)
                stamps[q["from"]] = start.isoformat()
                stamps[q["to"]] = (start + timedelta(seconds=seconds)).isoformat()
    return answers, stamps


def _form_value(q: Question, answers: dict[str, Any], stamps: dict[str, str]) -> str | None:
    answer = answers.get(q["key"])
    if answer and answer.get("na"):
        return "na"
    if q["type"] == "timed":
        if q["from"] in stamps and q["to"] in stamps:
            seconds = (
                datetime.fromisoformat(stamps[q["to"]]) - datetime.fromisoformat(stamps[q["from"]])
            ).total_seconds()
            for value, _label in _choices(q, "en"):
                if value not in (LONGER, "na") and seconds <= int(value):
                    return value
            return LONGER
        return None
    if not answer or "value" not in answer:
        return None
    value = answer["value"]
    if q["type"] == "yes_no":
        return "true" if value else "false"
    if q["type"] == "count_pair":
        return str(round(value["open"] / value["total"] * 4) * 25)
    return str(value)


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
