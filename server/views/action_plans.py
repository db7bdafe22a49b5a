"""Writing action plans (``POST /branches/{id}/action-plans``) and closing them."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, photo_serving, photos
from ..db import Database
from ..errors import ApiError
from ..i18n import _, gettext
from ..models import Branch, User
from ..queries import action_plans, events, visits
from ..settings import Settings
from ..visit_payload import is_uuid
from .lookups import visible_branch

MAX_TEXT = 2000
FORM_SLACK = 64 * 1024
"""What a form holds beside its photo: the refusal by declared length leaves room for it."""


async def _branch(request: Request) -> tuple[User, Branch]:
    return await visible_branch(request, "actionplan.write")


def _due(text: str) -> str | None:
    """A due date typed in the form (ValueError unless a real date)."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        raise ValueError(text)
    return date.fromisoformat(text).isoformat()


def _details(form: dict[str, str], problems: list[str]) -> dict[str, str | None]:
    """What will change, who is responsible and by when, as the form gives them (each
    left out when empty); what is wrong goes to ``problems``."""
    fields: dict[str, str | None] = {}
    text = form.get("text", "").strip()
    if len(text) > MAX_TEXT:
        problems.append(_("Write what will change (at most %(n)d characters).") % {"n": MAX_TEXT})
    elif text:
        fields["text"] = text
    responsible = form.get("responsible", "").strip()[:200]
    if responsible:
        fields["responsible"] = responsible
    due = form.get("due_date", "").strip()
    if due:
        try:
            fields["due_date"] = _due(due)
        except ValueError:
            problems.append(_("The due date must be a date."))
    return fields


async def create(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user, branch = await _branch(request)
    db: Database = request.app.state.db
    problems: list[str] = []
    fields = _details(form, problems)
    if "text" not in fields and not problems:
        problems.append(_("Write what will change (at most %(n)d characters).") % {"n": MAX_TEXT})
    section = form.get("section") or None
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
        plan_id = await action_plans.create(
            tx,
            branch_id=branch.id,
            author_id=user.id,
            text=fields["text"] or "",
            responsible=fields.get("responsible") or "",
            due_date=fields.get("due_date"),
            section_key=section,
            visit_id=visit_row_id,
        )
        await events.plan_changed(tx, plan_id, "created")
    return RedirectResponse(f"/branches/{branch.id}#plans-h", status_code=303)


async def _evidence(request: Request, upload: UploadFile) -> str:
    """Store an evidence photo's derived sizes (like a visit's photos: content-addressed,
    metadata stripped); answers its key. Refuses what the photo pipeline refuses."""
    state = request.app.state
    loop = asyncio.get_running_loop()
    try:
        processed, key = await loop.run_in_executor(
            state.photo_pool, photos.prepare_upload, upload.file
        )
    except photos.PhotoError as exc:
        raise ApiError(422, exc.code, gettext(exc.message)) from exc
    await photos.save(state.photo_store, key, processed)
    return key


async def step(request: Request) -> Response:
    """``POST /branches/{id}/action-plans/{plan_id}/{step}``: start, done (the owner), verify
    or return with a ``note`` (the chain's manager), as ``action_plans.STEPS`` allows.
    Starting or finishing may say what will change, who and by when (a plan the
    programme opened must say what first); finishing may carry an ``evidence`` photo."""
    name = request.path_params["step"]
    settings: Settings = request.app.state.settings
    limit = settings.max_photo_bytes + FORM_SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise photo_serving.too_large(settings.max_photo_bytes)
    raw = await request.form(max_files=1)
    form = await auth.checked_form(request)  # forms check their token before anything else
    if name not in action_plans.STEPS:
        raise ApiError(404, "not_found", _("There is no such step."))
    user, branch = await visible_branch(request, action_plans.STEPS[name][2])
    note = form.get("note", "").strip()[:MAX_TEXT]
    if name == "return" and not note:
        raise ApiError(422, "invalid", _("Say what is still missing."))
    db: Database = request.app.state.db
    plan_id = int(request.path_params["plan_id"])
    plan = await action_plans.get(db, plan_id, branch.id)
    if plan is None:
        raise ApiError(404, "not_found", _("There is no such action plan."))
    fields: dict[str, str | None] = {}
    if name in ("start", "done"):
        problems: list[str] = []
        fields = _details(form, problems)
        if not plan["text"] and "text" not in fields:
            problems.append(_("Say what will change first."))
        if problems:
            raise ApiError(422, "invalid", " ".join(problems))
    upload = raw.get("evidence")
    if name == "done" and isinstance(upload, UploadFile) and upload.filename:
        if (upload.size or 0) > settings.max_photo_bytes:
            raise photo_serving.too_large(settings.max_photo_bytes)
        fields["evidence_key"] = await _evidence(request, upload)
    async with db.transaction() as tx:
        moved = await action_plans.advance(tx, plan_id, branch.id, name, user.id, note, fields)
        if moved:
            await events.plan_changed(tx, plan_id, name, note)
    if not moved:
        raise ApiError(409, "conflict", _("This action plan cannot take that step now."))
    return RedirectResponse(f"/branches/{branch.id}#plans-h", status_code=303)


async def evidence(request: Request) -> Response:
    """``GET /branches/{id}/action-plans/{plan_id}/evidence/{size}``: a plan's evidence
    photo (display or thumb), to whoever may read the branch's reports."""
    _user, branch = await visible_branch(request, "report.read")
    size = request.path_params["size"]
    db: Database = request.app.state.db
    plan = await action_plans.get(db, int(request.path_params["plan_id"]), branch.id)
    if plan is None or not plan["evidence_key"] or size not in ("display", "thumb"):
        raise ApiError(404, "not_found", _("There is no such photo."))
    return await photo_serving.serve(request, plan["evidence_key"], size)
