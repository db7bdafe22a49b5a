"""``/admin/programme``: programme settings for the agency (review on or off)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import programme
from ..settings import Settings
from ..templating import render


async def settings_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    review = await programme.review_required(db, settings.review_required)
    return await render(request, "programme.html", {"review_required": review})


async def settings_submit(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "programme.manage")
    value = form.get("review_required")
    if value not in ("on", "off"):
        raise ApiError(422, "invalid", _("Choose whether visits wait for review."))
    db: Database = request.app.state.db
    async with db.transaction() as tx:
        await programme.set_review_required(tx, value == "on", user.id)
    return RedirectResponse("/admin/programme", status_code=303)
