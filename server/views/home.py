"""The home page: after login, each role sees its own starting point."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..models import User
from ..queries import assignments, chains, users, visits
from ..templating import render


async def _branch_rows(db: Database, user: User) -> list[dict[str, Any]]:
    if user.role == "manager":
        branches = await chains.list_branches(db, chain_ids=user.chain_ids)
    elif user.role == "owner":
        branches = await chains.list_branches(db, branch_ids=user.branch_ids)
    else:
        branches = await chains.list_branches(db)
    branches = [b for b in branches if auth.can_see_branch(user, b)]
    summaries = await visits.branch_summaries(db, [b.id for b in branches])
    return [
        {"branch": b, **summaries.get(b.id, {"n": 0, "scored": 0, "mean": None, "latest": None})}
        for b in branches
    ]


async def home(request: Request) -> Response:
    user = await auth.current_user(request)
    if user is None:
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
    db: Database = request.app.state.db
    context: dict[str, Any] = {"role": user.role}
    if user.role == "shopper":
        context["assignments"] = await assignments.open_for_shopper(db, user.id)
    elif user.role in ("manager", "owner"):
        context["branch_rows"] = await _branch_rows(db, user)
        context["chains"] = (
            await chains.list_chains(db, user.chain_ids if user.role == "manager" else None)
            if user.role == "manager"
            else []
        )
    else:
        context["visit_counts"] = await visits.count_by_state(db)
        context["user_counts"] = await users.count_by_role(db)
        context["branch_rows"] = await _branch_rows(db, user)
    rows = context.get("branch_rows") or []
    context["chain_id"] = rows[0]["branch"].chain_id if rows else 1
    return await render(request, "home.html", context)
