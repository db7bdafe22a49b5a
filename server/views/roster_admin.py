"""``/admin/shoppers``: the shopper roster (searched, filtered by state, home region and
qualification, paged), each shopper's quality and trend; and a shopper's profile, kept
from their page (``POST /admin/users/{id}/profile``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, shopper_profile
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import qualifications, roster, users
from ..templating import render
from . import filters

MAX_TEXT = 120


async def roster_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    query = request.query_params
    search = (query.get("q") or "").strip()[:100]
    state = query.get("state") or None
    if state is not None and state not in roster.STATES:
        state = None
    region = (query.get("region") or "").strip()[:MAX_TEXT] or None
    ref = query.get("qualification") or ""
    qualification = int(ref) if ref.isdigit() and len(ref) < 12 else None
    page = filters.page_number(query)
    rows, total = await roster.roster(
        db, search, state, region, qualification, (page - 1) * roster.PER_PAGE
    )
    pages = max(1, -(-total // roster.PER_PAGE))
    kept = {
        k: v
        for k, v in {
            "q": search,
            "state": state,
            "region": region,
            "qualification": qualification,
        }.items()
        if v
    }
    return await render(
        request,
        "shoppers.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "kept": kept,
            "query": filters.kept_query(kept),
            "states": roster.STATES,
            "regions": await roster.regions(db),
            "qualifications": await qualifications.list_all(db),
        },
    )


async def save_profile(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    target = await users.get(db, int(request.path_params["user_id"]))
    if target is None:
        raise ApiError(404, "not_found", _("There is no such user."))
    if target.role != "shopper":
        raise ApiError(422, "invalid", _("Only shoppers have a shopper profile."))
    values, problems = shopper_profile.read(form)
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    async with db.transaction() as tx:
        await roster.save_profile(tx, target.id, values, actor.id)
    return RedirectResponse(f"/admin/users/{target.id}#profile", status_code=303)
