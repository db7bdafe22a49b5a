"""Comparing a chain's branches: ``/chains/{id}/compare`` (+ ``.json``, ``.csv``) and the
visits export ``/chains/{id}/visits.csv``.

The comparison reads the per-branch-per-month summary (``queries.summaries``), never the
visits themselves. Bad filter values are ignored with a visible note.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .. import auth, charts, export_process, exports, i18n, reports
from ..db import Database
from ..errors import ApiError
from ..i18n import _, current_locale, format_day, format_number, format_score
from ..queries import action_plans, appeals, programme, questionnaires, summaries
from ..questionnaire import iter_questions, localized
from ..templating import render
from . import filters, tables
from .lookups import visible_chain

SORTS = {"name", "region", "visits", "total", "rank"}


async def comparison(request: Request, permission: str = "chain.compare") -> dict[str, Any]:
    """The comparison's numbers, for the page, the JSON and the CSV alike."""
    user, chain, branches = await visible_chain(request, permission)
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
    counts = await summaries.answer_counts(db, month_from, month_to, [b.id for b in shown])
    nps_keys = [q["key"] for _s, q in iter_questions(definition) if q["type"] == "nps"]
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
                # each nps question's score and n at this branch (none: no answers)
                "nps": {
                    key: reports.nps(counts.get(branch.id, {}).get(key, {})) for key in nps_keys
                },
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
    goals = await programme.targets(db)
    # The same months a year before, beside each branch and for all shown together.
    last_from, last_to = filters.months_back(month_from, 12), filters.months_back(month_to, 12)
    before = await summaries.by_branch(db, last_from, last_to, [b.id for b in shown], "")
    earlier = [before.get(r["id"], {}).get("", {}) for r in rows]
    for row, then in zip(rows, earlier, strict=True):
        row["last_year"] = then.get("mean")
    scored_then = sum(t.get("scored", 0) for t in earlier)
    last_year = {
        "period": {"from": last_from, "to": last_to},
        "total": sum((t.get("mean") or 0) * t.get("scored", 0) for t in earlier) / scored_then
        if scored_then
        else None,
        "visits": sum(t.get("visits", 0) for t in earlier),
    }
    scored_now = sum(r["scored"] for r in rows)
    this_period = (
        sum((r["total"] or 0) * r["scored"] for r in rows) / scored_now if scored_now else None
    )
    shown_ids = [b.id for b in shown]
    band_counts = await summaries.bands(db, month_from, month_to, shown_ids)
    when = await summaries.slots(db, month_from, month_to, shown_ids)
    for row in rows:
        row["percentile"] = percentiles.get(row["id"])
        # whether the branch's average over the period reaches the programme's target
        row["target_met"] = reports.met(row["total"], goals["total"])
    sort = params.get("sort") or "rank"
    if sort not in SORTS and sort not in {s["key"] for s in sections}:
        notes.append(_("Ignored the sort %(value)r.") % {"value": sort})
        sort = "rank"
    descending = params.get("dir", "") == "desc"
    rows.sort(key=lambda r: _sort_key(r, sort), reverse=descending)
    months = filters.month_range(month_from, month_to)
    by_region = await summaries.monthly_by_region(db, shown_ids, month_from, month_to)
    region_of = {b.id: b.region for b in shown}
    region_trends = [
        {
            "region": name,
            "months": [{"month": m, "mean": by_region[name].get(m)} for m in months],
        }
        for name in sorted(by_region)
    ]
    plans = await action_plans.open_for_branches(db, shown_ids)
    names = {b.id: b.name for b in shown}
    for plan in plans:
        plan["branch_name"] = names[plan["branch_id"]]
    # The fix rate of the plans the next visit judged: per branch, region and chain.
    fixed = await action_plans.fixed_by_branch(db, shown_ids, goals["sections"])
    in_region: dict[str, list[int]] = {b.region: [0, 0] for b in shown}
    for branch_id, (k, n) in fixed.items():
        in_region[region_of[branch_id]][0] += k
        in_region[region_of[branch_id]][1] += n
    for row in rows:
        row["fix_rate"] = action_plans.fix_share(*fixed.get(row["id"], (0, 0)))
    # Appeal and upheld rates: of the visits in the period (approved, or voided by an
    # upheld appeal), how many were appealed and how many of those were upheld.
    appealed = await appeals.period_rates(db, [b.id for b in shown], month_from, month_to)
    for row in rows:
        row["appeals"] = _appeal_rate(row["visits"], appealed.get(row["id"]))
    appeal_total = _appeal_rate(
        sum(r["visits"] for r in rows),
        {k: sum(a[k] for a in appealed.values()) for k in ("appealed", "upheld", "voided")},
    )
    fix_rates = {
        "chain": action_plans.fix_share(
            sum(k for k, _n in fixed.values()), sum(n for _k, n in fixed.values())
        ),
        "regions": {name: action_plans.fix_share(*in_region[name]) for name in sorted(in_region)},
    }
    return {
        "user": user,
        "chain": chain,
        "plans": plans,
        "period": {"from": month_from, "to": month_to},
        "region": region,
        "regions": regions,
        "sections": sections,
        "branches": rows,
        "target": goals,
        "fix_rates": fix_rates,
        "appeals": appeal_total,
        "this_period": this_period,
        "last_year": last_year,
        "bands": band_counts,
        "when": when,
        "region_trends": region_trends,
        "months": months,
        "notes": notes,
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "definition": definition,
        # the chain's (the branches shown) nps, several-choice answers, questions not asked
        "answers": reports.answer_report(definition, reports.merged_counts(counts), locale),
    }


def _appeal_rate(approved: int, found: dict[str, int] | None) -> dict[str, Any]:
    """``visits`` (approved and voided), ``appealed``, ``upheld`` and the two shares."""
    found = found or {"appealed": 0, "upheld": 0, "voided": 0}
    visits = approved + found["voided"]
    return {
        "visits": visits,
        "appealed": found["appealed"],
        "upheld": found["upheld"],
        "appeal_rate": found["appealed"] / visits if visits else None,
        "upheld_rate": found["upheld"] / found["appealed"] if found["appealed"] else None,
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
                    "target_met",
                    "fix_rate",
                    "appeals",
                    "last_year",
                )
            }
            | {
                "nps": {
                    key: {"score": found.score, "answers": found.answers}
                    for key, found in row["nps"].items()
                }
            }
            for row in data["branches"]
        ],
        "answers": data["answers"],
        # the programme's pass marks: total (None: none) and sections by key
        "target": data["target"],
        # {"fixed", "plans", "share"}: of the done plans the next visit judged against
        # their section's target, how many it found fixed (chain and each region)
        "fix_rate": data["fix_rates"]["chain"],
        # the shown branches together: this period's mean, and the same months last year
        "total": data["this_period"],
        "last_year": data["last_year"],
        # scored visits per band: below 50, 50-69, 70-84, 85 and above
        "bands": data["bands"],
        # weekday (0: Monday) × part of the day (0: before 12:00, 1: 12-17, 2: after 17:00)
        "when": [
            {"weekday": day, "daypart": part, **cell}
            for (day, part), cell in sorted(data["when"].items())
        ],
        "fix_rates_by_region": data["fix_rates"]["regions"],
        # of the shown branches' visits in the period (approved, or voided by an upheld
        # appeal): how many were appealed, how many of those upheld, and the two shares
        "appeals": data["appeals"],
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
        target=data["target"]["total"],
        target_label=_("target %(score)s") % {"score": format_score(data["target"]["total"])}
        if data["target"]["total"] is not None
        else "",
    )
    # Each row's number cells made here: 500 branches × 15 cells are too many for a
    # template's per-cell lookups, filter calls and escapes (docs/performance.md).
    verdicts = {
        True: f'<td><span class="target-met">{escape(_("met"))}</span></td>',
        False: f'<td><span class="target-missed">{escape(_("below"))}</span></td>',
    }
    with_target = data["target"]["total"] is not None
    for row in data["branches"]:
        row["numbers"] = _number_cells(row, data["sections"], verdicts if with_target else None)
    plan_items = _plan_items(data["plans"])
    names = i18n.weekday_names()
    grid = [
        {
            "weekday": names[day],
            "cells": [data["when"].get((day, part)) for part in range(len(i18n.DAYPARTS))],
        }
        for day in range(7)
    ]
    return await render(
        request,
        "compare.html",
        {
            "data": data,
            "chart": chart,
            "grid": grid,
            "dayparts": [i18n.gettext(name) for name in i18n.DAYPARTS],
            "band": charts.band,
            "plan_items": plan_items,
            "can_export": auth.has(data["user"], "report.export"),
            "can_tokens": auth.has(data["user"], "token.manage") and not data["user"].token,
        },
    )


def _number_cells(
    row: dict[str, Any], sections: list[dict[str, Any]], verdicts: dict[bool, str] | None
) -> Markup:
    """A branch's cells from its visits to its target (``verdicts``: the target column's
    cell for met and for below; none when the programme has no target), as HTML: visits,
    score and each section's (coloured by band), percentile, the same months last year,
    plans fixed, appealed (upheld), target."""
    cells = [f'<td class="num">{escape(format_number(row["visits"]))}</td>']
    for value in [row["total"], *(row["sections"][s["key"]] for s in sections)]:
        cells.append(f'<td class="num {charts.band(value)}">{escape(format_score(value))}</td>')
    percentile = row["percentile"]
    shown = "–" if percentile is None else escape(format_number(percentile))
    cells.append(f'<td class="num">{shown}</td>')
    cells.append(f'<td class="num">{escape(format_score(row["last_year"]))}</td>')
    fix, appealed = row["fix_rate"], row["appeals"]
    shown = f"{int(fix['fixed'])} / {int(fix['plans'])}" if fix["plans"] else "–"
    cells.append(f'<td class="num">{shown}</td>')
    shown = (
        f"{int(appealed['appealed'])} ({int(appealed['upheld'])})" if appealed["appealed"] else "–"
    )
    cells.append(f'<td class="num">{shown}</td>')
    if verdicts is not None:
        met = row["target_met"]
        cells.append(verdicts[met] if met is not None else "<td>–</td>")
    return Markup("".join(cells))


def _plan_items(plans: list[dict[str, Any]]) -> Markup:
    """The open plans as list items (a chain may have a thousand): the branch's name
    linking to its plans, the plan, its due day and whether it is overdue."""
    due, overdue = _("due %(date)s"), f' <span class="flag">{escape(_("overdue"))}</span>'
    items = []
    for plan in plans:
        when = (
            f" · {escape(due % {'date': format_day(plan['due_date'])})}" if plan["due_date"] else ""
        )
        items.append(
            f'<li><a href="/branches/{int(plan["branch_id"])}#plans-h">'
            f"{escape(plan['branch_name'])}</a>: {escape(plan['text'])}{when}"
            f"{overdue if plan['overdue'] else ''}</li>"
        )
    return Markup("".join(items))


def _number(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _compare_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The comparison as a table (CSV and XLSX): a header, then one row per branch."""
    header = [
        _("Branch"),
        _("Code"),
        _("Region"),
        _("Visits"),
        _("Average score"),
        *[s["title"] for s in data["sections"]],
        _("Rank"),
        _("Percentile"),
        _("Appealed"),
        _("Upheld"),
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
            r["appeals"]["appealed"],
            r["appeals"]["upheld"],
        ]
        for r in data["branches"]
    ]
    return rows


async def compare_csv(request: Request) -> Response:
    data = await comparison(request, permission="report.export")
    period = data["period"]
    return tables.csv_download(
        _compare_rows(data), f"compare-{data['chain'].code}-{period['from']}-{period['to']}.csv"
    )


async def compare_xlsx(request: Request) -> Response:
    """The comparison as an XLSX workbook (numbers as numbers)."""
    data = await comparison(request, permission="report.export")
    period = data["period"]
    name = f"compare-{data['chain'].code}-{period['from']}-{period['to']}.xlsx"
    return await tables.xlsx_download(_compare_rows(data), name, data["chain"].code)


async def _export(request: Request) -> exports.VisitsExport:
    """The visits export the request asks for (``?from=2026-01&to=2026-03&region=…``,
    each optional)."""
    _user, chain, branches = await visible_chain(request, "report.export")
    first_day, end_day = export_period(request.query_params)
    region = export_region(request.query_params, branches)
    return await exports.prepare(request.app.state.db, chain, branches, first_day, end_day, region)


def export_region(params: Any, branches: list[Any]) -> str:
    """An export's optional region: one of the chain's (visible) regions, else refused."""
    region = str(params.get("region") or "")
    if region and region not in {b.region for b in branches}:
        raise ApiError(400, "bad_filter", _("That region is not one of this chain's."))
    return region


def export_period(params: Any) -> tuple[str, str | None]:
    try:
        return filters.export_period(params)
    except ValueError as exc:
        raise ApiError(
            400,
            "bad_filter",
            _("An export's period is given in months, such as ?from=2026-01&to=2026-03."),
        ) from exc


async def visits_csv(request: Request) -> Response:
    """The approved visits, one row per visit, one column per section and question score,
    streamed as they are read."""
    export = await _export(request)
    return StreamingResponse(
        await _stream(request, export, "csv"),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="visits-{export.chain.code}.csv"',
            "cache-control": "private, no-cache",
        },
    )


async def visits_json(request: Request) -> Response:
    """The same visits as JSON: ``{"chain", "visits": [...]}``, streamed."""
    export = await _export(request)
    return StreamingResponse(
        await _stream(request, export, "json"),
        media_type="application/json",
        headers={"cache-control": "private, no-cache"},
    )


async def _stream(
    request: Request, export: exports.VisitsExport, fmt: str
) -> AsyncIterator[str] | AsyncIterator[bytes]:
    """The export's text as it is made: by a child process when it is big and the server
    runs its heavy work in children (server/export_process.py), else here."""
    db = request.app.state.db
    settings = request.app.state.settings
    locale = current_locale()
    if settings.jobs_in_child and await export.at_least(db, export_process.CHILD_ROWS):
        argv, env = export_process.command(settings, export, fmt, locale)
        return export_process.stream(request.app.state.export_children, argv, env)
    return (chunk async for chunk, _rows in exports.text_chunks(export, db, fmt, locale))
