"""``/admin/users``: people and their roles. Create, deactivate, reactivate, reset a
password. The last active admin cannot be deactivated."""

from __future__ import annotations

import asyncio
import re

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, i18n, user_import
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..models import ROLES
from ..queries import accounts as account_tokens
from ..queries import chains, notifications, qualifications, roster, users
from ..templating import render
from . import filters, pickers

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_UPLOAD = 5 * 1024 * 1024


async def users_page(request: Request, problems: list[str] | None = None) -> Response:
    """Everyone, searched by name or address, filtered by role and status, fifty a page;
    the form to add a person; the import of a CSV file of people."""
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    query = request.query_params
    text = (query.get("q") or "").strip()[:100]
    role = query.get("role") if query.get("role") in ROLES else None
    status = query.get("status") if query.get("status") in ("active", "deactivated") else None
    page = filters.page_number(query)
    people, total = await users.search(
        db,
        text,
        role,
        None if status is None else status == "active",
        (page - 1) * users.PER_PAGE,
    )
    kept = {k: v for k, v in {"q": text, "role": role, "status": status}.items() if v}
    return await render(
        request,
        "users.html",
        {
            "people": people,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // users.PER_PAGE)),
            "kept": kept,
            "query": filters.kept_query(kept),
            "roles": ROLES,
            "branch_picker": await pickers.branch_options(db),
            "chains": await chains.list_chains(db),
            "problems": problems or [],
            "columns": user_import.COLUMNS,
            "added": int(query["added"]) if query.get("added", "").isdigit() else None,
        },
        status_code=422 if problems else 200,
    )


async def import_csv(request: Request) -> Response:
    """``POST /admin/users/import``: people from a CSV file, all or none; each invited."""
    form = await request.form(max_files=1, max_part_size=MAX_UPLOAD)
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await users_page(request, [_("Choose a CSV file of people.")])
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return await users_page(request, [_("The file is larger than 5 MB.")])
    rows, problems = user_import.parse(data, await users.import_known(db))
    if problems:
        header = _("Nobody was added. Fix these rows in the file and import it again:")
        return await users_page(request, [header, *(str(p) for p in problems)])
    async with db.transaction() as tx:
        added = await users.add_imported(tx, rows, actor.id, actor.name, auth.NO_PASSWORD)
    return RedirectResponse(f"/admin/users?added={len(added)}", status_code=303)


async def _membership_problems(
    db: Database, role: str, branch_ids: list[int], chain_ids: list[int]
) -> list[str]:
    problems = []
    known_branches = {b.id for b in await chains.branches_by_ids(db, branch_ids)}
    known_chains = {c.id for c in await chains.list_chains(db)}
    if role == "owner" and not branch_ids:
        problems.append(_("An owner needs at least one branch."))
    if role == "manager" and not chain_ids:
        problems.append(_("A manager needs at least one chain."))
    if not set(branch_ids) <= known_branches or not set(chain_ids) <= known_chains:
        problems.append(_("Choose branches and chains from the lists."))
    return problems


async def create(request: Request) -> Response:
    form = await request.form()  # multi-valued fields (branches, chains)
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    email = str(form.get("email", "")).strip()
    name = str(form.get("name", "")).strip()
    role = str(form.get("role", ""))
    password = str(form.get("password", ""))
    # Invited by e-mail to choose their own password, unless the admin types one.
    access = str(form.get("access") or ("password" if password else "invite"))
    locale = str(form.get("locale") or "") or None
    branch_ids = await pickers.picked_branches(db, form)
    chain_ids = [int(v) for v in form.getlist("chains") if str(v).isdigit()]
    problems = []
    if not EMAIL.fullmatch(email):
        problems.append(_("Give a valid email address."))
    elif await users.email_taken(db, email):
        problems.append(_("Someone already has that email address."))
    if not name:
        problems.append(_("Give a name."))
    if role not in ROLES:
        problems.append(_("Choose a role."))
    if access not in ("invite", "password"):
        problems.append(_("Choose how the person gets in: an invitation or a password."))
    elif access == "password" and (problem := auth.password_problem(password)) is not None:
        problems.append(problem)
    if locale is not None and locale not in i18n.SUPPORTED:
        problems.append(_("That language is not available."))
    problems.extend(await _membership_problems(db, role, branch_ids, chain_ids))
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    password_hash = (
        await asyncio.to_thread(auth.hash_password, password)
        if access == "password"
        else auth.NO_PASSWORD
    )
    async with db.transaction() as tx:
        user_id = await users.create(
            tx,
            email=email,
            name=name,
            role=role,  # type: ignore[arg-type]
            password_hash=password_hash,
            locale=locale,
            actor_id=actor.id,
            branch_ids=branch_ids if role == "owner" else [],
            chain_ids=chain_ids if role == "manager" else [],
        )
        if access == "invite":
            token = await account_tokens.issue(tx, user_id, "invite")
            params = {"token": token["id"], "email": email, "who": actor.name, "role": role}
            await notifications.queue(tx, "invitation", params, [user_id])
    return RedirectResponse("/admin/users", status_code=303)


async def _target(request: Request) -> tuple[int, int]:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    target = await users.get(db, int(request.path_params["user_id"]))
    if target is None:
        raise ApiError(404, "not_found", _("There is no such user."))
    request.state.form = form
    return actor.id, target.id


async def deactivate(request: Request) -> Response:
    actor_id, user_id = await _target(request)
    db: Database = request.app.state.db
    async with db.transaction() as tx:
        target = await users.get(tx, user_id)
        assert target is not None
        if target.role == "admin" and target.active and await users.active_admins(tx) <= 1:
            raise ApiError(
                409, "last_admin", _("This is the last admin: make another admin first.")
            )
        await users.set_active(tx, user_id, False, actor_id)
    return RedirectResponse("/admin/users", status_code=303)


async def activate(request: Request) -> Response:
    actor_id, user_id = await _target(request)
    async with request.app.state.db.transaction() as tx:
        await users.set_active(tx, user_id, True, actor_id)
    return RedirectResponse("/admin/users", status_code=303)


async def reset_password(request: Request) -> Response:
    actor_id, user_id = await _target(request)
    password = request.state.form.get("password", "")
    if (problem := auth.password_problem(password)) is not None:
        raise ApiError(422, "invalid", problem)
    password_hash = await asyncio.to_thread(auth.hash_password, password)
    async with request.app.state.db.transaction() as tx:
        await users.set_password(tx, user_id, password_hash, actor_id)
    return RedirectResponse("/admin/users", status_code=303)


async def user_page(request: Request) -> Response:
    """One person: their role and memberships, to change."""
    # The programme's pages: the permission decides first (see views/lookups.py).
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    target = await users.get(db, int(request.path_params["user_id"]))
    if target is None:
        raise ApiError(404, "not_found", _("There is no such user."))
    return await render(
        request,
        "user.html",
        {
            "person": target,
            "roles": ROLES,
            "branch_picker": await pickers.branch_options(db, target.branch_ids),
            "chains": await chains.list_chains(db),
            "quality": (await roster.quality_of(db, [target.id]))[target.id]
            if target.role == "shopper"
            else None,
            "profile": await roster.profile(db, target.id) if target.role == "shopper" else None,
            "profile_states": roster.STATES,
            "held": await qualifications.held_by(db, target.id)
            if target.role == "shopper"
            else None,
            "qualifications": await qualifications.list_all(db),
        },
    )


async def set_role(request: Request) -> Response:
    form = await request.form()  # multi-valued fields (branches, chains)
    actor_id, user_id = await _target(request)
    db: Database = request.app.state.db
    role = str(form.get("role", ""))
    branch_ids = await pickers.picked_branches(db, form)
    chain_ids = [int(v) for v in form.getlist("chains") if str(v).isdigit()]
    problems = [] if role in ROLES else [_("Choose a role.")]
    problems.extend(await _membership_problems(db, role, branch_ids, chain_ids))
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    async with db.transaction() as tx:
        target = await users.get(tx, user_id)
        assert target is not None
        if (
            target.role == "admin"
            and role != "admin"
            and target.active
            and await users.active_admins(tx) <= 1
        ):
            raise ApiError(
                409, "last_admin", _("This is the last admin: make another admin first.")
            )
        await users.set_role(
            tx,
            user_id,
            role,  # type: ignore[arg-type]
            branch_ids if role == "owner" else [],
            chain_ids if role == "manager" else [],
            actor_id,
        )
    return RedirectResponse("/admin/users", status_code=303)
