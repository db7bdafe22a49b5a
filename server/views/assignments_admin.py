"""``/admin/assignments``: who visits which branch, when, with which scenario.

Created one at a time or in bulk (chosen branches, or every branch of a region); all of
a bulk request or none. Given to a shopper, or left open for any shopper to claim in the
app (the repeat rule is then checked when one claims it). A shopper is not sent to a
branch they visited (or were sent to) within ``repeat_days``. Windows are dates in each
branch's own time zone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, money
from ..db import Database
from ..errors import ApiError
from ..i18n import _, current_locale
from ..queries import (
    assignments,
    chains,
    events,
    programme,
    qualifications,
    questionnaires,
    roster,
    users,
)
from ..settings import Settings
from ..templating import render
from . import filters, pickers

MAX_BULK = 500


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


async def page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    picker = await pickers.branch_options(db)
    # Every active shopper to pick from when there are few; beyond, an address is typed.
    people = await roster.active_shoppers(db, limit=pickers.PICKER_MAX + 1)
    if len(people) > pickers.PICKER_MAX:
        people = None
    listed = await questionnaires.list_all(db)
    choices = await questionnaires.published_choices(db)
    query = request.query_params
    state = query.get("state") if query.get("state") in assignments.STATES else "open"
    text = (query.get("q") or "").strip()[:100]
    region = (query.get("region") or "").strip()[:200] or None
    claim = query.get("claim") if query.get("claim") in ("given", "unclaimed") else None
    page = filters.page_number(query)
    shown, total = await assignments.upcoming(
        db, state, text, region, claim, (page - 1) * assignments.PER_PAGE
    )
    kept = {
        k: v
        for k, v in {
            "state": state if state != "open" else None,
            "q": text,
            "region": region,
            "claim": claim,
        }.items()
        if v
    }
    return await render(
        request,
        "assignments.html",
        {
            "upcoming": shown,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // assignments.PER_PAGE)),
            "kept": kept,
            "state": state,
            "query": filters.kept_query(kept),
            "branch_picker": picker,
            "shoppers": people,
            "regions": await chains.regions(db),
            "repeat_days": request.app.state.settings.repeat_days,
            "currency": await programme.currency(db),
            "qualifications": await qualifications.list_all(db),
            "questionnaires": choices,
            "questionnaire_titles": {q["id"]: q["title"] for q in listed},
            "scenario_titles": {
                (q["id"], s["key"]): s["text"] for q in choices for s in q["scenarios"]
            },
        },
    )


async def create(request: Request) -> Response:
    form = await request.form()
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    region = str(form.get("region") or "")
    targets = (
        (await chains.search_branches(db, region=region, limit=MAX_BULK + 1))[0]
        if region
        else await chains.branches_by_ids(db, await pickers.picked_branches(db, form))
    )
    start, end = _day(str(form.get("start", ""))), _day(str(form.get("end", "")))
    shopper_ref = str(form.get("shopper") or "") or str(form.get("shopper_email") or "").strip()
    left_open = shopper_ref == "open"
    shopper = (
        await users.get(db, int(shopper_ref))
        if shopper_ref.isdigit()
        else await users.by_email(db, shopper_ref)
        if "@" in shopper_ref
        else None
    )
    chosen_questionnaire = str(form.get("questionnaire") or "default")
    definition = await questionnaires.latest_published(db, chosen_questionnaire)
    problems = []
    if definition is None:
        problems.append(_("Choose a published questionnaire."))
    if not targets:
        problems.append(_("Choose a region or at least one branch."))
    if len(targets) > MAX_BULK:
        problems.append(_("At most %(n)d assignments at once.") % {"n": MAX_BULK})
    if start is None or end is None or end < start:
        problems.append(_("Give a window: a start date and an end date on or after it."))
    if not left_open and (
        shopper is None
        or shopper.role != "shopper"
        or not shopper.active
        or not await roster.is_active(db, shopper.id)
    ):
        problems.append(_("Choose an active shopper, or leave the visits open to claim."))
    required = await _qualification(db, str(form.get("qualification") or ""), problems)
    if required is not None and shopper is not None and start is not None:
        if await assignments.unqualified_for(db, shopper.id, required["id"], start.isoformat()):
            problems.append(
                _("%(shopper)s does not hold the qualification %(name)s (or it runs out first).")
                % {"shopper": shopper.name, "name": required["name"]}
            )
    scenario_key = str(form.get("scenario_key") or "") or None
    declared = {s["key"] for s in (definition or {}).get("scenarios", [])}
    if scenario_key is not None and scenario_key not in declared:
        problems.append(_("Choose one of the questionnaire's scenarios, or none."))
    if not problems and shopper is not None:
        assert start is not None and end is not None
        for branch in targets:
            clash = await assignments.too_soon_for(
                db, shopper.id, branch.id, start.isoformat(), end.isoformat(), settings.repeat_days
            )
            if clash:
                problems.append(
                    _(
                        "%(shopper)s already has %(branch)s on %(date)s: less than %(days)s days"
                        " apart, staff might recognise them."
                    )
                    % {
                        "shopper": shopper.name,
                        "branch": branch.name,
                        "date": clash[0].window_start,
                        "days": settings.repeat_days,
                    }
                )
    currency = await programme.currency(db)
    fee, reimburse_max, reimburse_question = _pay(form, currency, definition, problems)
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    assert start is not None and end is not None and definition is not None
    async with db.transaction() as tx:
        for branch in targets:
            made = await assignments.create(
                tx,
                branch_id=branch.id,
                shopper_id=shopper.id if shopper else None,
                questionnaire_id=definition["id"],
                questionnaire_version=definition["version"],
                window_start=start.isoformat(),
                window_end=end.isoformat(),
                scenario=str(form.get("scenario") or "").strip()[:1000],
                scenario_key=scenario_key,
                created_by=actor.id,
                fee_minor=fee,
                reimburse_max_minor=reimburse_max,
                reimburse_question=reimburse_question,
                currency=currency,
                qualification_id=required["id"] if required else None,
            )
            await events.assignment_event(tx, made, "new")  # (a named shopper)
    return RedirectResponse("/admin/assignments", status_code=303)


async def _qualification(db: Database, ref: str, problems: list[str]) -> dict[str, Any] | None:
    """The qualification the form requires (none when empty)."""
    if not ref:
        return None
    found = await qualifications.get(db, int(ref)) if ref.isdigit() else None
    if found is None:
        problems.append(_("Choose one of the qualifications, or none."))
    return found


def _pay(
    form: Any, currency: str, definition: dict[str, Any] | None, problems: list[str]
) -> tuple[int, int, str | None]:
    """The fee, the most a purchase is reimbursed (minor units of the programme's
    currency) and the money question that says what was spent, as the form gives them."""
    fee = money.parse(str(form.get("fee") or ""), currency, current_locale())
    most = money.parse(str(form.get("reimburse_max") or ""), currency, current_locale())
    if fee is None:
        problems.append(
            _("Give the fee as an amount in %(currency)s, or leave it empty.")
            % {"currency": currency}
        )
    if most is None:
        problems.append(
            _("Give the most that is reimbursed as an amount in %(currency)s, or leave it empty.")
            % {"currency": currency}
        )
    question = str(form.get("reimburse_question") or "") or None
    asked = {q["key"]: q for q in questionnaires.money_questions(definition or {"sections": []})}
    if most and (question not in asked or asked[question]["currency"] != currency):
        problems.append(
            _(
                "A reimbursement needs the questionnaire's question where the shopper"
                " answers what they spent, in %(currency)s."
            )
            % {"currency": currency}
        )
    if not most:
        question = None
    return fee or 0, most or 0, question


async def _existing(request: Request) -> int:
    """The assignment named in the path; 404 when there is none (after the permission:
    see views/lookups.py)."""
    assignment_id = int(request.path_params["assignment_id"])
    if await assignments.get(request.app.state.db, assignment_id) is None:
        raise ApiError(404, "not_found", _("There is no such assignment."))
    return assignment_id


async def cancel(request: Request) -> Response:
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    await _existing(request)
    assignment_id = int(request.path_params["assignment_id"])
    async with request.app.state.db.transaction() as tx:
        if not await assignments.cancel(tx, assignment_id, actor.id):
            raise ApiError(409, "conflict", _("Only an open assignment can be cancelled."))
        await events.assignment_event(tx, assignment_id, "cancelled")
    return RedirectResponse("/admin/assignments", status_code=303)


async def move(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    await _existing(request)
    start, end = _day(form.get("start", "")), _day(form.get("end", ""))
    if start is None or end is None or end < start:
        raise ApiError(
            422, "invalid", _("Give a window: a start date and an end date on or after it.")
        )
    async with request.app.state.db.transaction() as tx:
        if not await assignments.move(
            tx,
            int(request.path_params["assignment_id"]),
            start.isoformat(),
            end.isoformat(),
            actor.id,
        ):
            raise ApiError(409, "conflict", _("Only an open assignment can be moved."))
        await events.assignment_event(tx, int(request.path_params["assignment_id"]), "moved")
    return RedirectResponse("/admin/assignments", status_code=303)


async def give(request: Request) -> Response:
    """Give an assignment that is still open to claim to a chosen shopper."""
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    await _existing(request)
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    ref = form.get("shopper", "").strip()  # an id, or an address picked from the list
    shopper = (
        await users.get(db, int(ref))
        if ref.isdigit()
        else await users.by_email(db, ref)
        if "@" in ref
        else None
    )
    if shopper is None or shopper.role != "shopper" or not shopper.active:
        raise ApiError(422, "invalid", _("Choose an active shopper."))
    async with db.transaction() as tx:
        outcome = await assignments.claim(
            tx,
            int(request.path_params["assignment_id"]),
            shopper.id,
            settings.repeat_days,
            actor.id,
        )
        if outcome == "claimed":
            await events.assignment_event(tx, int(request.path_params["assignment_id"]), "new")
    if outcome == "inactive":
        raise ApiError(
            409,
            "not_active",
            _("%(shopper)s is not an active shopper (applicant, paused or left).")
            % {"shopper": shopper.name},
        )
    if outcome == "unqualified":
        raise ApiError(
            409,
            "not_qualified",
            _("%(shopper)s does not hold the qualification this visit needs.")
            % {"shopper": shopper.name},
        )
    if outcome == "too_soon":
        raise ApiError(
            409,
            "too_soon",
            _("%(shopper)s has another visit to this branch less than %(days)s days apart.")
            % {"shopper": shopper.name, "days": settings.repeat_days},
        )
    if outcome != "claimed":
        raise ApiError(409, "conflict", _("Only an assignment still open to claim can be given."))
    return RedirectResponse("/admin/assignments", status_code=303)
