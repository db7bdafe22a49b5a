"""A branch's dashboard, ``/branches/{id}`` and ``/branches/{id}.json``: latest visits,
the monthly trend, section scores over a period, the weakest questions, and the
perception gap between the owner's self-assessment and what shoppers found."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import auth, charts, reports
from ..db import Database
from ..i18n import _, current_locale, format_score
from ..queries import action_plans, appeals, programme, questionnaires, summaries
from ..questionnaire import iter_questions, localized
from ..templating import render
from . import filters
from .lookups import visible_branch

WEAKEST = 5


async def dashboard(request: Request) -> dict[str, Any]:
    user, branch = await visible_branch(request, "report.read")
    db: Database = request.app.state.db
    month_from, month_to, notes = filters.period(
        request.query_params, await summaries.months(db), branch.timezone
    )
    definition, default_keys = await questionnaires.report_definition(db)
    locale = current_locale()
    numbers = (await summaries.by_branch(db, month_from, month_to, [branch.id])).get(branch.id, {})
    own = await summaries.self_assessment(db, branch.id)
    sections = []
    for section in definition["sections"]:
        shoppers = numbers.get(section["key"], {}).get("mean")
        owner = own["sections"].get(section["key"]) if own else None
        if section["key"] not in default_keys and shoppers is None and owner is None:
            continue  # another questionnaire's section with nothing for this branch
        sections.append(
            {
                "key": section["key"],
                "title": localized(section.get("title"), locale),
                "shoppers": shoppers,
                "owner": owner,
                "gap": owner - shoppers if owner is not None and shoppers is not None else None,
            }
        )
    texts = {q["key"]: localized(q.get("text"), locale) for _s, q in iter_questions(definition)}
    per_question = await summaries.question_means(db, branch.id, month_from, month_to)
    weakest = sorted(
        ({"key": k, "text": texts.get(k, k), **v} for k, v in per_question.items()),
        key=lambda q: (q["score"], q["key"]),
    )[:WEAKEST]
    trend_to = month_to
    trend_months = filters.month_range(filters.months_back(trend_to, 11), trend_to)
    trend = {
        p["month"]: p for p in await summaries.monthly(db, [branch.id], trend_months[0], trend_to)
    }
    total = numbers.get("", {"visits": 0, "scored": 0, "mean": None})
    goals = await programme.targets(db)
    for section in sections:
        section["target"] = goals["sections"].get(section["key"])
        section["met"] = reports.met(section["shoppers"], section["target"])
    plans = await action_plans.for_branches(db, [branch.id], targets=goals["sections"])
    for plan in plans:  # the evidence photo's address (its thumb: .../thumb)
        plan["evidence"] = (
            f"/branches/{branch.id}/action-plans/{plan['id']}/evidence/display"
            if plan["evidence"]
            else None
        )
    history = await summaries.gap_history(db, branch.id)
    proposed = await action_plans.proposals(db, branch.id, goals["sections"], plans)
    target = {
        "total": goals["total"],
        "met": reports.met(total["mean"], goals["total"]),
        # the period's scored visits, and how many reached the target
        "visits": await summaries.on_target(db, branch.id, month_from, month_to, goals["total"])
        if goals["total"] is not None
        else None,
    }
    counts = await summaries.answer_counts(db, month_from, month_to, [branch.id])
    return {
        "answers": reports.answer_report(definition, counts.get(branch.id, {}), locale),
        "user": user,
        "branch": branch,
        "period": {"from": month_from, "to": month_to},
        "notes": notes,
        "visits": total["visits"],
        "small_sample": reports.small_sample(total.get("scored")),
        "total": total["mean"],
        "self_assessment": own,
        "gap_history": history,
        # closing: the newest gap is smaller (in size) than the first one kept
        "gap_trend": _gap_trend(history),
        "target": target,
        "sections": sections,
        "weakest": weakest,
        # The trend starts where the branch's data starts (at most 12 months back).
        "trend": [
            {
                "month": m,
                "mean": trend[m]["mean"] if m in trend else None,
                "visits": trend[m]["visits"] if m in trend else 0,
            }
            for m in trend_months[_first_with_data(trend_months, trend) :]
        ],
        "latest": await summaries.recent_visits(db, branch.id),
        # How often the branch contests its reports, and how often it is right.
        "appeals": await appeals.branch_rates(db, branch.id),
        "can_self_assess": auth.has(user, "selfassessment.write"),
        "can_plan": auth.has(user, "actionplan.write"),
        "section_titles": {s["key"]: s["title"] for s in sections},
        "plan_sections": [
            (key, localized(titles, locale))
            for key, titles in (await action_plans.sections_to_plan_for(db)).items()
        ],
        "plans": plans,
        # sections a recent visit scored below their target, with no plan under way
        "proposals": proposed,
        # of the done plans the next visit judged, the share it found at the target
        "fix_rate": action_plans.fix_rate(plans),
        "can_verify": auth.has(user, "actionplan.verify"),
        "visit_ref": request.query_params.get("visit", ""),
        "section_ref": request.query_params.get("section", ""),
    }


def to_json(data: dict[str, Any]) -> dict[str, Any]:
    own = data["self_assessment"]
    return {
        "branch": data["branch"].to_api(),
        "period": data["period"],
        "notes": data["notes"],
        "visits": data["visits"],
        "total": data["total"],
        "self_assessment": {"total": own["total"], "created_at": own["created_at"]}
        if own
        else None,
        "sections": [
            {k: s[k] for k in ("key", "shoppers", "owner", "gap", "target", "met")}
            for s in data["sections"]
        ],
        # the programme's pass mark for the visit score, whether the period's average
        # meets it, and the visits on target: {"visits": n, "on_target": k}
        "target": data["target"],
        "weakest_questions": [
            {k: q[k] for k in ("key", "score", "visits")} for q in data["weakest"]
        ],
        "trend": data["trend"],
        # nps: score (promoters minus detractors, -100..100) with its n; choices:
        # each option's share of the visits that answered; not_asked: visits per question
        "answers": data["answers"],
        "latest_visits": data["latest"],
        # visits: approved visits (all time); appealed: of them, appealed; upheld: of the
        # appealed, upheld fully or partly
        "appeals": data["appeals"],
        "action_plans": data["plans"],
        # each self-assessment, dated, beside the shoppers' average of the 3 months up to
        # it: {created_at, owner, shoppers, visits, gap}; gap_trend: closing, widening,
        # steady or null (fewer than two gaps)
        "gap_history": data["gap_history"],
        "gap_trend": data["gap_trend"],
        "fix_rate": data["fix_rate"],
        "proposed_plans": data["proposals"],
    }


async def branch_json(request: Request) -> Response:
    return JSONResponse(
        to_json(await dashboard(request)), headers={"cache-control": "private, no-cache"}
    )


async def branch_page(request: Request) -> Response:
    data = await dashboard(request)
    chart = charts.line_chart(
        _("Average score by month"),
        _("The branch's average visit score (0 to 100) in each of the last 12 months."),
        [p["month"] for p in data["trend"]],
        [charts.Series(data["branch"].name, [p["mean"] for p in data["trend"]])],
        target=data["target"]["total"],
        target_label=_("target %(score)s") % {"score": format_score(data["target"]["total"])}
        if data["target"]["total"] is not None
        else "",
    )
    return await render(request, "branch.html", {"d": data, "chart": chart, "band": charts.band})


def _first_with_data(months: list[str], trend: dict[str, Any]) -> int:
    """The index of the first month with a visit (the last month when none has one)."""
    return next(
        (i for i, m in enumerate(months) if trend.get(m, {}).get("visits")), len(months) - 1
    )


PAGE = 50


async def visits_data(request: Request) -> dict[str, Any]:
    """Every approved visit to a branch in a period, newest first, 50 to a page."""
    user, branch = await visible_branch(request, "report.read")
    db: Database = request.app.state.db
    month_from, month_to, notes = filters.period(
        request.query_params, await summaries.months(db), branch.timezone
    )
    raw = request.query_params.get("page", "1")
    page = int(raw) if raw.isdigit() and int(raw) >= 1 else 1
    if raw != "1" and str(page) != raw:
        notes.append(_("Ignored the page %(value)r.") % {"value": raw})
    rows, total = await summaries.branch_visits(
        db, branch.id, month_from, month_to, (page - 1) * PAGE, PAGE
    )
    goal = (await programme.targets(db))["total"]
    for row in rows:
        row["met"] = reports.met(row["total"], goal)
    return {
        "user": user,
        "branch": branch,
        "period": {"from": month_from, "to": month_to},
        "notes": notes,
        "visits": rows,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PAGE)),
        "target": goal,
    }


async def visits_json(request: Request) -> Response:
    data = await visits_data(request)
    return JSONResponse(
        {
            "branch": data["branch"].to_api(),
            "period": data["period"],
            "notes": data["notes"],
            "total": data["total"],
            "page": data["page"],
            "pages": data["pages"],
            "visits": data["visits"],
        },
        headers={"cache-control": "private, no-cache"},
    )


async def visits_page(request: Request) -> Response:
    data = await visits_data(request)
    return await render(request, "branch_visits.html", {"d": data, "band": charts.band})


def _gap_trend(history: list[dict[str, Any]]) -> str | None:
    """closing, widening or steady (within 2 points), from the first gap kept to the last;
    None with fewer than two."""
    gaps = [abs(h["gap"]) for h in history if h["gap"] is not None]
    if len(gaps) < 2:
        return None
    change = gaps[-1] - gaps[0]
    return "steady" if abs(change) < 2 else "closing" if change < 0 else "widening"
