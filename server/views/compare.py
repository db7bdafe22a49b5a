"""Comparing a chain's branches: ``/chains/{id}/compare`` (+ ``.json``, ``.csv``) and the
visits export ``/chains/{id}/visits.csv``.

The comparison reads the per-branch-per-month summary (``queries.summaries``), never the
visits themselves. Bad filter values are ignored with a visible note.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import auth, charts, csv_export, reports
from ..db import Database
from ..errors import ApiError
from ..i18n import _, current_locale, format_score
from ..models import Branch, Chain, User
from ..queries import action_plans, chains, questionnaires, summaries, visits
from ..questionnaire import Definition, Question, is_scored, iter_questions, localized
from ..templating import render
from . import filters

SORTS = {"name", "region", "visits", "total", "rank"}


async def _chain_and_branches(
    request: Request, permission: str
) -> tuple[User, Chain, list[Branch]]:
    user = auth.require_login(await auth.current_user(request))
    db: Database = request.app.state.db
    chain = await chains.get_chain(db, int(request.path_params["chain_id"]))
    everything = await chains.list_branches(db, chain_ids=frozenset({chain.id})) if chain else []
    if chain is None or not auth.can_see_chain(user, chain.id, everything):
        raise ApiError(404, "not_found", _("There is no such chain."))
    auth.require(user, permission)
    return user, chain, [b for b in everything if auth.can_see_branch(user, b)]


async def comparison(request: Request, permission: str = "chain.compare") -> dict[str, Any]:
    """The comparison's numbers, for the page, the JSON and the CSV alike."""
    user, chain, branches = await _chain_and_branches(request, permission)
    db: Database = request.app.state.db
    params = request.query_params
    zone = branches[0].timezone if branches else "UTC"  # a chain's months: its first branch's
    month_from, month_to, notes = filters.period(params, await summaries.months(db), zone)
    regions = sorted({b.region for b in branches})
    region = params.get("region") or ""
    if region and region not in regions:
        notes.append(
            _("Ignored the region filter %(value)r: no such region here.") % {"value": region}
        )
        region = ""
    shown = [b for b in branches if not region or b.region == region]
    definition, default_keys = await questionnaires.report_definition(db)
    locale = current_locale()
    sections = [
        {"key": s["key"], "title": localized(s.get("title"), locale)}
        for s in definition["sections"]
    ]
    numbers = await summaries.by_branch(db, month_from, month_to, [b.id for b in shown])
    rows: list[dict[str, Any]] = []
    for branch in shown:
        mine = numbers.get(branch.id, {})
        total = mine.get("", {"visits": 0, "scored": 0, "mean": None})
        rows.append(
            {
                "id": branch.id,
                "name": branch.name,
                "code": branch.code,
                "region": branch.region,
                "visits": total["visits"],
                "scored": total["scored"],
                "total": total["mean"],
                "sections": {s["key"]: mine.get(s["key"], {}).get("mean") for s in sections},
            }
        )
    # Sections of another questionnaire are shown only where its visits have scores.
    sections = [
        s
        for s in sections
        if s["key"] in default_keys or any(r["sections"][s["key"]] is not None for r in rows)
    ]
    reports.ranks(rows, key="total")
    percentiles = reports.percentile_ranks(
        {r["id"]: r["total"] for r in rows if r["rank"] is not None}
    )
    for row in rows:
        row["percentile"] = percentiles.get(row["id"])
    sort = params.get("sort") or "rank"
    if sort not in SORTS and sort not in {s["key"] for s in sections}:
        notes.append(_("Ignored the sort %(value)r.") % {"value": sort})
        sort = "rank"
    descending = params.get("dir", "") == "desc"
    rows.sort(key=lambda r: _sort_key(r, sort), reverse=descending)
    months = filters.month_range(month_from, month_to)
    trend = await summaries.monthly(db, [b.id for b in shown], month_from, month_to)
    by_region: dict[str, dict[str, list[float]]] = {}
    region_of = {b.id: b.region for b in shown}
    for point in trend:
        if point["mean"] is None:
            continue
        sums = by_region.setdefault(region_of[point["branch_id"]], {}).setdefault(
            point["month"], [0.0, 0.0]
        )
        # Each branch-month weighs as many as its scored visits (those with a mean).
        sums[0] += point["mean"] * point["scored"]
        sums[1] += point["scored"]
    region_trends = [
        {
            "region": name,
            "months": [
                {
                    "month": m,
                    "mean": (by_region[name][m][0] / by_region[name][m][1])
                    if m in by_region[name] and by_region[name][m][1]
                    else None,
                }
                for m in months
            ],
        }
        for name in sorted(by_region)
    ]
    plans = await action_plans.for_branches(db, [b.id for b in shown], only_open=True)
    names = {b.id: b.name for b in shown}
    for plan in plans:
        plan["branch_name"] = names[plan["branch_id"]]
    return {
        "user": user,
        "chain": chain,
        "plans": plans,
        "period": {"from": month_from, "to": month_to},
        "region": region,
        "regions": regions,
        "sections": sections,
        "branches": rows,
        "region_trends": region_trends,
        "months": months,
        "notes": notes,
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "definition": definition,
    }


def _sort_key(row: dict[str, Any], sort: str) -> tuple[Any, ...]:
    if sort in ("name", "region"):
        return (row[sort], row["name"])
    if sort == "visits":
        return (row["visits"], row["name"])
    if sort == "rank":  # unranked (small samples) last
        return (row["rank"] is None, row["rank"] or 0, row["name"])
    value = row["total"] if sort == "total" else row["sections"].get(sort)
    return (value is None, value or 0, row["name"])


def to_json(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "chain": data["chain"].to_api(),
        "period": data["period"],
        "region": data["region"] or None,
        "sections": data["sections"],
        "notes": data["notes"],
        "branches": [
            {
                k: row[k]
                for k in (
                    "id",
                    "name",
                    "code",
                    "region",
                    "visits",
                    "total",
                    "sections",
                    "rank",
                    "percentile",
                    "small_sample",
                )
            }
            for row in data["branches"]
        ],
        "region_trends": data["region_trends"],
        "open_action_plans": [
            {k: p[k] for k in ("id", "branch_id", "section_key", "text", "due_date", "overdue")}
            for p in data["plans"]
        ],
    }


async def compare_json(request: Request) -> Response:
    return JSONResponse(
        to_json(await comparison(request)), headers={"cache-control": "private, no-cache"}
    )


async def compare_page(request: Request) -> Response:
    data = await comparison(request)
    chart = charts.line_chart(
        _("Average score by region and month"),
        _("One line per region: the average visit score (0 to 100) of each month."),
        data["months"],
        [
            charts.Series(t["region"], [m["mean"] for m in t["months"]])
            for t in data["region_trends"]
        ],
    )
    # Each row's score cells made here (colour band, formatted score): 500 branches × 10
    # columns are too many for a template's per-cell lookups and calls.
    for row in data["branches"]:
        values = [row["total"], *(row["sections"][s["key"]] for s in data["sections"])]
        row["cells"] = [(charts.band(v), format_score(v)) for v in values]
    return await render(
        request,
        "compare.html",
        {
            "data": data,
            "chart": chart,
            "band": charts.band,
            "can_export": auth.has(data["user"], "report.export"),
        },
    )


def _csv_response(rows: list[list[Any]], filename: str) -> Response:
    return Response(
        csv_export.to_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "private, no-cache",
        },
    )


def _number(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


async def compare_csv(request: Request) -> Response:
    data = await comparison(request, permission="report.export")
    header = [
        _("Branch"),
        _("Code"),
        _("Region"),
        _("Visits"),
        _("Average score"),
        *[s["title"] for s in data["sections"]],
        _("Rank"),
        _("Percentile"),
    ]
    rows = [header] + [
        [
            r["name"],
            r["code"],
            r["region"],
            r["visits"],
            _number(r["total"]),
            *[_number(r["sections"][s["key"]]) for s in data["sections"]],
            r["rank"] if r["rank"] is not None else "",
            _number(r["percentile"]),
        ]
        for r in data["branches"]
    ]
    period = data["period"]
    return _csv_response(rows, f"compare-{data['chain'].code}-{period['from']}-{period['to']}.csv")


async def _approved_visits(
    request: Request,
) -> tuple[Chain, Definition, list[Question], AsyncIterator[dict[str, Any]]]:
    """Every approved visit of the branches the user may see (of the period asked for, if
    any), day by day, read in pages of 500. Each page comes as a function that makes its
    rows (each visit with its branch and its section and question scores, 0..100, None
    when N/A): CPU work the caller runs off the event loop, with its own formatting."""
    _user, chain, branches = await _chain_and_branches(request, "report.export")
    try:
        first_day, end_day = filters.export_period(request.query_params)
    except ValueError as exc:
        raise ApiError(
            400,
            "bad_filter",
            _("An export's period is given in months, such as ?from=2026-01&to=2026-03."),
        ) from exc
    db: Database = request.app.state.db
    definition, _default_keys = await questionnaires.report_definition(db)
    questions = [q for _s, q in iter_questions(definition) if is_scored(q)]
    by_id = {b.id: b for b in branches}

    async def pages() -> AsyncIterator[Callable[[], list[dict[str, Any]]]]:
        after = (first_day, 0)
        while True:
            page = await visits.approved_page(
                db, list(by_id), after=after, before_day=end_day, limit=500
            )
            if not page:
                return
            after = (page[-1]["local_date"], page[-1]["id"])
            yield partial(_export_rows, page, by_id, definition, questions)

    return chain, definition, questions, pages()


async def visits_csv(request: Request) -> Response:
    """The approved visits, one row per visit, one column per section and question score."""
    chain, definition, questions, pages = await _approved_visits(request)
    locale = current_locale()
    header = [
        _("Visit"),
        _("Date"),
        _("Branch"),
        _("Code"),
        _("Region"),
        _("Score"),
        *[localized(s.get("title"), locale) for s in definition["sections"]],
        *[q["key"] for q in questions],
    ]

    writer = csv_export.Writer()

    def text(page: Callable[[], list[dict[str, Any]]]) -> str:
        for visit in page():
            writer.row(
                [
                    visit["visit_id"],
                    visit["date"],
                    visit["branch"]["name"],
                    visit["branch"]["code"],
                    visit["branch"]["region"],
                    _number(visit["total"]),
                    *[_number(v) for v in visit["sections"].values()],
                    *[_number(v) for v in visit["questions"].values()],
                ]
            )
        return writer.take()

    async def lines() -> AsyncIterator[str]:
        writer.row(header)
        yield writer.take()
        async for page in pages:
            yield await asyncio.to_thread(text, page)  # CPU work: off the event loop

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="visits-{chain.code}.csv"',
            "cache-control": "private, no-cache",
        },
    )


async def visits_json(request: Request) -> Response:
    """The same visits as JSON: ``{"chain", "visits": [...]}``, streamed."""
    chain, _definition, _questions, pages = await _approved_visits(request)

    def text(page: Callable[[], list[dict[str, Any]]]) -> str:
        return ",".join(json.dumps(visit) for visit in page())

    async def chunks() -> AsyncIterator[str]:
        yield '{"chain": ' + json.dumps(chain.to_api()) + ', "visits": ['
        first = True
        async for page in pages:
            yield ("" if first else ",") + await asyncio.to_thread(text, page)
            first = False
        yield "]}"

    return StreamingResponse(
        chunks(), media_type="application/json", headers={"cache-control": "private, no-cache"}
    )


def _export_rows(
    page: list[dict[str, Any]],
    by_id: dict[int, Branch],
    definition: Definition,
    questions: list[Question],
) -> list[dict[str, Any]]:
    out = []
    for row in page:
        scores = json.loads(row["scores"]) if row["scores"] else {}
        section_score = {s["key"]: s["score"] for s in scores.get("sections", [])}
        question_score = {q["key"]: q for q in scores.get("questions", [])}
        branch = by_id[row["branch_id"]]
        out.append(
            {
                "visit_id": row["visit_uuid"],
                "date": row["local_date"],  # the day at the branch
                "local_date": row["local_date"],
                "branch": {
                    "id": branch.id,
                    "name": branch.name,
                    "code": branch.code,
                    "region": branch.region,
                },
                "total": row["score_total"],
                "sections": {s["key"]: section_score.get(s["key"]) for s in definition["sections"]},
                "questions": {
                    q["key"]: _question_score(question_score.get(q["key"])) for q in questions
                },
            }
        )
    return out


def _question_score(result: dict[str, Any] | None) -> float | None:
    """A question's score 0..100; None when N/A, not answered or not scored."""
    if not result or result.get("status") != "scored" or not result.get("possible"):
        return None
    return float(result["earned"] / result["possible"] * 100)
