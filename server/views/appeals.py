"""``POST /visits/{visit_id}/appeal``: an owner or manager contests an approved visit of
their branches within the programme's appeal period (the reviewer's side is in
``views/review.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Conflict, Database
from ..errors import ApiError
from ..i18n import _
from ..queries import appeals, chains, events, programme, visits
from ..visit_payload import is_uuid


async def open_appeal(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "appeal.write")
    visit_uuid: str = request.path_params["visit_id"]
    db: Database = request.app.state.db
    row = await visits.latest(db, visit_uuid) if is_uuid(visit_uuid) else None
    branch = await chains.get_branch(db, row["branch_id"]) if row else None
    if row is None or branch is None or not auth.can_see_branch(user, branch):
        raise ApiError(404, "not_found", _("There is no such visit."))
    if row["state"] != "approved":
        raise ApiError(409, "conflict", _("Only an approved visit can be appealed."))
    if appeals.is_open(await appeals.latest(db, row["id"])):
        raise ApiError(409, "conflict", _("This visit already has an open appeal."))
    until = appeals.appeal_until(
        await appeals.approved_at(db, visit_uuid), await programme.appeal_days(db)
    )
    if until is None or datetime.now(UTC) > until:
        raise ApiError(
            409,
            "appeal_closed",
            _("The time to appeal this visit has passed.")
            if until
            else _("This programme takes no appeals."),
        )
    category = form.get("category", "")
    if category not in appeals.CATEGORIES:
        raise ApiError(422, "invalid", _("Choose what the appeal is about."))
    text = form.get("text", "").strip()
    if not text:
        raise ApiError(422, "invalid", _("Say what is wrong with the report."))
    if len(text) > appeals.MAX_TEXT:
        raise ApiError(
            422, "invalid", _("Keep the appeal under %(n)s characters.") % {"n": appeals.MAX_TEXT}
        )
    try:
        async with db.transaction() as tx:
            await appeals.open_appeal(tx, row, category, text, user.id)
            await events.appeal_opened(tx, row["visit_uuid"], category)
    except Conflict as exc:  # another appeal was opened at the same moment
        raise ApiError(409, "conflict", _("This visit already has an open appeal.")) from exc
    return RedirectResponse(f"/visits/{visit_uuid}#appeal", status_code=303)
