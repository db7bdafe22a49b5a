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
from . import filters


async def _branch_rows(
    db: Database, user: User, text: str = "", page: int = 1
) -> tuple[list[dict[str, Any]], int]:
    """A page of the branches the user may see, with their numbers, and how many there
    are: an owner's few all at once; a chain's or the programme's fifty a page, searched."""
    if user.role == "owner":
        branches = await chains.list_branches(db, branch_ids=user.branch_ids)
        total = len(branches)
    else:
        branches, total = await chains.search_branches(
            db,
            text,
            offset=(page - 1) * chains.BRANCHES_PER_PAGE,
            chain_ids=user.chain_ids if user.role == "manager" else None,
        )
    branches = [b for b in branches if auth.can_see_branch(user, b)]
    summaries = await visits.branch_summaries(db, [b.id for b in branches])
    return [
        {"branch": b, **summaries.get(b.id, {"n": 0, "scored": 0, "mean": None, "latest": None})}
        for b in branches
    ], total


async def home(request: Request) -> Response:
    user = await auth.current_user(request)
    if user is None:
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
    db: Database = request.app.state.db
    context: dict[str, Any] = {"role": user.role}
    text = (request.query_params.get("q") or "").strip()[:100]
    page = filters.page_number(request.query_params)
    found = (text, page)
    context["branch_search"] = text
    context["branch_page"] = page
    if user.role == "shopper":
        context["assignments"] = await assignments.open_for_shopper(db, user.id)
    elif user.role in ("manager", "owner"):
        context["branch_rows"], context["branch_total"] = await _branch_rows(db, user, *found)
        context["chains"] = (
            await chains.list_chains(db, user.chain_ids if user.role == "manager" else None)
            if user.role == "manager"
            else []
        )
    else:
        context["visit_counts"] = await visits.count_by_state(db)
        context["user_counts"] = await users.count_by_role(db)
        context["branch_rows"], context["branch_total"] = await _branch_rows(db, user, *found)
    rows = context.get("branch_rows") or []
    context["chain_id"] = rows[0]["branch"].chain_id if rows else 1
    context["branch_pages"] = max(1, -(-context.get("branch_total", 0) // chains.BRANCHES_PER_PAGE))
    context["branch_query"] = filters.kept_query({"q": text})
    return await render(request, "home.html", context)
