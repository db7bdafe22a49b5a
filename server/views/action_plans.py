"""Writing action plans (``POST /branches/{id}/action-plans``) and closing them."""

from __future__ import annotations

import re
from datetime import date

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..models import Branch, User
from ..queries import action_plans, visits
from ..visit_payload import is_uuid
from .lookups import visible_branch

MAX_TEXT = 2000


async def _branch(request: Request) -> tuple[User, Branch]:
    return await visible_branch(request, "actionplan.write")


async def create(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user, branch = await _branch(request)
    db: Database = request.app.state.db
    text = form.get("text", "").strip()
    responsible = form.get("responsible", "").strip()[:200]
    due = form.get("due_date", "").strip() or None
    section = form.get("section") or None
    problems = []
    if not text or len(text) > MAX_TEXT:
        problems.append(_("Write what will change (at most %(n)d characters).") % {"n": MAX_TEXT})
    if due is not None:
        try:
            due = (
                date.fromisoformat(due).isoformat()
                if re.fullmatch(r"\d{4}-\d\d-\d\d", due)
                else None
            )
        except ValueError:
            due = None
        if due is None:
            problems.append(_("The due date must be a date."))
    if section is not None and section not in await action_plans.sections_to_plan_for(db):
        problems.append(_("Choose one of the questionnaire's sections."))
    visit_row_id = None
    visit_ref = form.get("visit") or ""
    if visit_ref:
        row = await visits.latest(db, visit_ref) if is_uuid(visit_ref) else None
        if row is None or row["branch_id"] != branch.id:
            problems.append(_("That visit is not one of this branch's."))
        else:
            visit_row_id = row["id"]
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    async with db.transaction() as tx:
        await action_plans.create(
            tx,
            branch_id=branch.id,
            author_id=user.id,
            text=text,
            responsible=responsible,
            due_date=due,
            section_key=section,
            visit_id=visit_row_id,
        )
    return RedirectResponse(f"/branches/{branch.id}#plans-h", status_code=303)


async def step(request: Request) -> Response:
    """``POST /branches/{id}/action-plans/{plan_id}/{step}``: start, done (the owner), verify
    or return with a ``note`` (the chain's manager), as ``action_plans.STEPS`` allows."""
    form = await auth.checked_form(request)  # forms check their token before anything else
    name = request.path_params["step"]
    if name not in action_plans.STEPS:
        raise ApiError(404, "not_found", _("There is no such step."))
    user, branch = await visible_branch(request, action_plans.STEPS[name][2])
    note = form.get("note", "").strip()[:MAX_TEXT]
    if name == "return" and not note:
        raise ApiError(422, "invalid", _("Say what is still missing."))
    db: Database = request.app.state.db
    plan_id = int(request.path_params["plan_id"])
    if await action_plans.state_of(db, plan_id, branch.id) is None:
        raise ApiError(404, "not_found", _("There is no such action plan."))
    async with db.transaction() as tx:
        moved = await action_plans.advance(tx, plan_id, branch.id, name, user.id, note)
    if not moved:
        raise ApiError(409, "conflict", _("This action plan cannot take that step now."))
    return RedirectResponse(f"/branches/{branch.id}#plans-h", status_code=303)
