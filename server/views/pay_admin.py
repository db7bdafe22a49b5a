"""``/admin/pay``: shopper pay for the agency. Each month's statements (made from the
lines approved visits earned), approved and marked paid in bulk, and exported for the
bank or the payment service; a rejected visit paid all the same, with a reason."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import auth, money, notices
from ..db import Database
from ..errors import ApiError
from ..i18n import _, pay_state_name
from ..models import User
from ..queries import pay, visits
from ..templating import render
from ..visit_payload import is_uuid
from . import tables

MAX_REASON = 2000
MAX_CHOSEN = 5000


def _month(text: str | None) -> str | None:
    """``YYYY-MM`` as typed, or None."""
    if text is None or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        return None
    return text


async def _listing(request: Request) -> dict[str, Any]:
    """What the page and its exports show: the month (default: the newest with anything
    to pay, else this month), a state and a search."""
    auth.require(await auth.current_user(request), "pay.manage")
    db: Database = request.app.state.db
    query = request.query_params
    known = await pay.months(db)
    month = _month(query.get("month"))
    if query.get("month") and month is None:
        raise ApiError(422, "invalid", _("Give the month as YYYY-MM."))
    month = month or (known[0] if known else pay.this_month())
    state = query.get("state") or None
    if state is not None and state not in pay.STATES:
        raise ApiError(422, "invalid", _("Choose a state of the list."))
    search = (query.get("q") or "").strip()[:100]
    return {
        "month": month,
        "months": sorted({*known, month}, reverse=True),
        "state": state,
        "search": search,
        "statements": await pay.statements(db, month, state, search),
    }


async def page(request: Request) -> Response:
    data = await _listing(request)
    db: Database = request.app.state.db
    data["waiting"] = await pay.waiting(db, data["month"])
    data["states"] = pay.STATES
    data["today"] = date.today().isoformat()
    totals: dict[str, int] = {}
    for s in data["statements"]:
        totals[s["currency"]] = totals.get(s["currency"], 0) + s["total_minor"]
    data["totals"] = sorted(totals.items())
    return await render(request, "pay.html", data)


def _rows(statements: list[dict[str, Any]]) -> list[list[Any]]:
    header = [
        _("Shopper"),
        _("E-mail"),
        _("Month"),
        _("Currency"),
        _("Total"),
        _("Total in minor units"),
        _("Lines"),
        _("State"),
        _("Paid on"),
        _("Reference"),
    ]
    return [header] + [
        [
            s["shopper_name"],
            s["shopper_email"],
            s["month"],
            s["currency"],
            money.from_minor(s["total_minor"], s["currency"]),
            s["total_minor"],
            s["line_count"],
            pay_state_name(s["state"]),
            s["paid_on"] or "",
            s["reference"] or "",
        ]
        for s in statements
    ]


async def export_csv(request: Request) -> Response:
    data = await _listing(request)
    return tables.csv_download(_rows(data["statements"]), f"pay-{data['month']}.csv")


async def export_xlsx(request: Request) -> Response:
    data = await _listing(request)
    return await tables.xlsx_download(
        _rows(data["statements"]), f"pay-{data['month']}.xlsx", data["month"]
    )


async def make_statements(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "pay.manage")
    month = _month(form.get("month"))
    if month is None:
        raise ApiError(422, "invalid", _("Give the month as YYYY-MM."))
    if month > pay.this_month():
        raise ApiError(422, "invalid", _("A statement is for this month or one before."))
    async with request.app.state.db.transaction() as tx:
        made = await pay.make_statements(tx, month, actor.id)
    return notices.redirect(f"/admin/pay?month={month}", "statements", made["touched"])


async def _chosen(request: Request) -> tuple[User, list[int], dict[str, str]]:
    """The admin, the statements chosen (checkboxes) and the form's other fields."""
    form = await request.form()  # several statements
    fields = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "pay.manage")
    ids = sorted({int(v) for v in form.getlist("statement") if str(v).isdigit()})
    if not ids:
        raise ApiError(422, "invalid", _("Choose at least one statement."))
    if len(ids) > MAX_CHOSEN:
        raise ApiError(422, "invalid", _("Choose at most %(n)s statements.") % {"n": MAX_CHOSEN})
    return actor, ids, fields


async def _all_in(db: Database, ids: list[int], state: str, message: str) -> None:
    """All the statements named exist and are in ``state`` (else nothing changes)."""
    states = await pay.states_of(db, ids)
    if len(states) != len(ids):
        raise ApiError(404, "not_found", _("There is no such statement."))
    if any(s != state for s in states.values()):
        raise ApiError(409, "conflict", message)


async def approve(request: Request) -> Response:
    actor, ids, fields = await _chosen(request)
    db: Database = request.app.state.db
    await _all_in(db, ids, "to_approve", _("Only statements still to approve can be approved."))
    async with db.transaction() as tx:
        changed = await pay.approve(tx, ids, actor.id)
        if changed != len(ids):
            raise ApiError(409, "conflict", _("Someone changed these statements meanwhile."))
    return notices.redirect(_back(fields), "pay_approved", changed)


async def mark_paid(request: Request) -> Response:
    actor, ids, fields = await _chosen(request)
    db: Database = request.app.state.db
    try:
        paid_on = date.fromisoformat(fields.get("paid_on", ""))
    except ValueError as exc:
        raise ApiError(422, "invalid", _("Give the day the payment was made.")) from exc
    if paid_on > date.today():
        raise ApiError(422, "invalid", _("The day of payment cannot be in the future."))
    reference = " ".join(fields.get("reference", "").split())
    if not reference or len(reference) > pay.MAX_REFERENCE:
        raise ApiError(
            422,
            "invalid",
            _("Give the payment's reference (at most %(n)s characters).")
            % {"n": pay.MAX_REFERENCE},
        )
    await _all_in(db, ids, "approved", _("Only approved statements can be marked paid."))
    async with db.transaction() as tx:
        changed = await pay.mark_paid(tx, ids, paid_on.isoformat(), reference, actor.id)
        if changed != len(ids):
            raise ApiError(409, "conflict", _("Someone changed these statements meanwhile."))
    return notices.redirect(_back(fields), "pay_paid", changed)


def _back(fields: dict[str, str]) -> str:
    month = _month(fields.get("month"))
    return f"/admin/pay?month={month}" if month else "/admin/pay"


async def statement_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "pay.manage")
    db: Database = request.app.state.db
    found = await pay.statement(db, int(request.path_params["statement_id"]))
    if found is None:
        raise ApiError(404, "not_found", _("There is no such statement."))
    return await render(
        request,
        "pay_statement.html",
        {
            "s": found,
            "lines": await pay.lines(db, found["id"]),
        },
    )


async def pay_rejected(request: Request) -> Response:
    """``POST /admin/pay/visits/{visit_id}``: pay a rejected visit all the same."""
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "pay.manage")
    visit_uuid: str = request.path_params["visit_id"]
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid) if is_uuid(visit_uuid) else None
    if row is None:
        raise ApiError(404, "not_found", _("There is no such visit."))
    if row["state"] != "rejected":
        raise ApiError(409, "conflict", _("Only a rejected visit is paid by this decision."))
    reason = form.get("reason", "").strip()[:MAX_REASON]
    if not reason:
        raise ApiError(422, "invalid", _("Give the reason for paying a rejected visit."))
    async with db.transaction() as tx:
        made = await pay.pay_rejected(tx, visit_uuid, actor.id, reason)
    if not made:
        raise ApiError(409, "conflict", _("This visit pays nothing, or its pay was made already."))
    return notices.redirect(f"/visits/{visit_uuid}#pay", "paid_anyway", made)
