"""``/chains/{id}/tokens``: read-only API tokens for a chain's integrations and BI tools
(admins, and the chain's managers). A new token is shown once, on the page that made it;
only its hash is kept. ``Authorization: Bearer <token>`` then reads that chain's JSON
reports and exports (server/auth.py)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Conflict, Database
from ..errors import ApiError
from ..i18n import _
from ..queries import api_tokens
from ..templating import render
from .lookups import visible_chain

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}")


async def _page(request: Request, made: str | None = None, status: int = 200) -> Response:
    _user, chain, _branches = await visible_chain(request, "token.manage")
    db: Database = request.app.state.db
    return await render(
        request,
        "tokens.html",
        {"chain": chain, "tokens": await api_tokens.of_chain(db, chain.id), "made": made},
        status_code=status,
    )


async def tokens_page(request: Request) -> Response:
    return await _page(request)


async def create(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user, chain, _branches = await visible_chain(request, "token.manage")
    name = " ".join(form.get("name", "").split())
    db: Database = request.app.state.db
    if not NAME.fullmatch(name):
        raise ApiError(
            422,
            "invalid",
            _("Name the token with letters, digits, spaces, dots, dashes (at most 80)."),
        )
    if await api_tokens.name_taken(db, name):
        raise ApiError(409, "conflict", _("A token already has that name."))
    try:
        async with db.transaction() as tx:
            _token_id, token = await api_tokens.create(tx, name, chain.id, user.id)
    except Conflict as exc:
        raise ApiError(409, "conflict", _("A token already has that name.")) from exc
    # Shown this once: the page is not cached and the token is never stored.
    response = await _page(request, made=token, status=201)
    response.headers["cache-control"] = "no-store"
    return response


async def revoke(request: Request) -> Response:
    await auth.checked_form(request)  # forms check their token before anything else
    user, chain, _branches = await visible_chain(request, "token.manage")
    db: Database = request.app.state.db
    found = await api_tokens.get(db, int(request.path_params["token_id"]))
    if found is None or found["chain_id"] != chain.id:
        raise ApiError(404, "not_found", _("There is no such token."))
    async with db.transaction() as tx:
        await api_tokens.revoke(tx, int(found["id"]), user.id)
    return RedirectResponse(f"/chains/{chain.id}/tokens", status_code=303)
