"""``/admin/qualifications``: the certificates shoppers hold ("bank scenarios", "speaks
French"), given to a shopper on their page until a day or for good, and required by
assignments (see queries/assignments.py for the rule)."""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import qualifications, users
from ..templating import render


async def list_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    return await render(
        request, "qualifications.html", {"qualifications": await qualifications.list_all(db)}
    )


async def create(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    name = " ".join(form.get("name", "").split())
    if not name or len(name) > qualifications.NAME_MAX:
        raise ApiError(
            422,
            "invalid",
            _("Give the qualification a name of at most %(n)s characters.")
            % {"n": qualifications.NAME_MAX},
        )
    db: Database = request.app.state.db
    if await qualifications.named(db, name) is not None:
        raise ApiError(
            422, "invalid", _("There is already a qualification %(name)s.") % {"name": name}
        )
    async with db.transaction() as tx:
        await qualifications.create(tx, name, actor.id)
    return RedirectResponse("/admin/qualifications", status_code=303)


async def _shopper(request: Request) -> tuple[int, int]:
    """(the admin, the shopper named in the path): look up, 404, then whether a shopper."""
    actor = auth.require(await auth.current_user(request), "programme.manage")
    target = await users.get(request.app.state.db, int(request.path_params["user_id"]))
    if target is None:
        raise ApiError(404, "not_found", _("There is no such user."))
    if target.role != "shopper":
        raise ApiError(422, "invalid", _("Only shoppers hold qualifications."))
    return actor.id, target.id


async def grant(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor_id, user_id = await _shopper(request)
    db: Database = request.app.state.db
    ref = form.get("qualification", "")
    found = await qualifications.get(db, int(ref)) if ref.isdigit() else None
    if found is None:
        raise ApiError(422, "invalid", _("Choose one of the qualifications."))
    expires: str | None = None
    if form.get("expires_on"):
        try:
            expires = date.fromisoformat(form["expires_on"]).isoformat()
        except ValueError as exc:
            raise ApiError(
                422, "invalid", _("Give the day it runs out, or leave it empty for good.")
            ) from exc
    async with db.transaction() as tx:
        await qualifications.grant(tx, user_id, found["id"], expires, actor_id)
    return RedirectResponse(f"/admin/users/{user_id}#qualifications", status_code=303)


async def revoke(request: Request) -> Response:
    await auth.checked_form(request)  # forms check their token before anything else
    actor_id, user_id = await _shopper(request)
    async with request.app.state.db.transaction() as tx:
        done = await qualifications.revoke(
            tx, user_id, int(request.path_params["qualification_id"]), actor_id
        )
    if not done:
        raise ApiError(404, "not_found", _("This shopper does not hold that qualification."))
    return RedirectResponse(f"/admin/users/{user_id}#qualifications", status_code=303)
