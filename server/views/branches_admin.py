"""``/admin/branches``: chains and their branches, made by form or from a CSV file.

The form and the CSV import check a branch with the same rules (``branch_import.check``);
an import stores every row or none, and names each bad row by its line.
"""

from __future__ import annotations

import re

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .. import auth, branch_import
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..models import Branch
from ..queries import chains
from ..templating import render
from . import filters, pickers

CHAIN_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
MAX_UPLOAD = 5 * 1024 * 1024
FIELDS = ("name", "code", "region", "city", "address", "latitude", "longitude", "timezone")


def _added(request: Request) -> int | None:
    value = request.query_params.get("added", "")
    return int(value) if value.isdigit() else None


async def page(
    request: Request,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    added: int | None = None,
) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    all_chains = await chains.list_chains(db)
    query = request.query_params
    text = (query.get("q") or "").strip()[:100]
    ref = query.get("chain") or ""
    chain_id = int(ref) if ref.isdigit() and len(ref) < 12 else None
    region = (query.get("region") or "").strip()[:200] or None
    page_number = filters.page_number(query)
    shown, total = await chains.search_branches(
        db, text, chain_id, region, (page_number - 1) * chains.BRANCHES_PER_PAGE
    )
    kept = {k: v for k, v in {"q": text, "chain": chain_id, "region": region}.items() if v}
    return await render(
        request,
        "branches.html",
        {
            "chains": all_chains,
            "chain_names": {c.id: c.name for c in all_chains},
            "counts": await chains.branch_counts(db),
            "branches": shown,
            "total": total,
            "page": page_number,
            "pages": max(1, -(-total // chains.BRANCHES_PER_PAGE)),
            "kept": kept,
            "query": filters.kept_query(kept),
            "regions": await chains.regions(db),
            "problems": problems or [],
            "values": values or {},
            "added": added if added is not None else _added(request),
            "columns": branch_import.COLUMNS,
        },
        status_code=422 if problems else 200,
    )


async def create_chain(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    code, name = form.get("code", "").strip(), form.get("name", "").strip()
    problems = []
    if not CHAIN_CODE.fullmatch(code):
        problems.append(_("A chain code is 1 to 32 letters, digits, - or _."))
    elif await chains.find_chain(db, code) is not None:
        problems.append(_("There is already a chain with the code %(code)s.") % {"code": code})
    if not name:
        problems.append(_("Give the chain a name."))
    if problems:
        return await page(request, problems, {f"chain_{k}": v for k, v in form.items()})
    async with db.transaction() as tx:
        await chains.create_chain(tx, code, name[:200], actor.id)
    return RedirectResponse("/admin/branches", status_code=303)


async def _chain(db: Database, form: dict[str, str]) -> int | None:
    ref = form.get("chain", "")
    return int(ref) if ref.isdigit() and await chains.get_chain(db, int(ref)) else None


async def create_branch(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    chain_id = await _chain(db, form)
    if chain_id is None:
        return await page(request, [_("Choose a chain.")], form)
    record = {name: form.get(name, "").strip() for name in FIELDS}
    row, problems = branch_import.check(record, await chains.branch_codes(db, chain_id))
    if problems:
        return await page(request, problems, form)
    async with db.transaction() as tx:
        await chains.add_branches(tx, chain_id, [row], actor.id, "form")
    return RedirectResponse("/admin/branches", status_code=303)


async def import_csv(request: Request) -> Response:
    form = await request.form(max_files=1, max_part_size=MAX_UPLOAD)
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    chain_id = await _chain(db, fields)
    upload = form.get("file")
    if chain_id is None:
        return await page(request, [_("Choose a chain.")])
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await page(request, [_("Choose a CSV file of branches.")])
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return await page(request, [_("The file is larger than 5 MB.")])
    rows, problems = branch_import.parse(data, await chains.branch_codes(db, chain_id))
    if problems:
        header = _("No branch was added. Fix these rows in the file and import it again:")
        return await page(request, [header, *(str(p) for p in problems)])
    async with db.transaction() as tx:
        await chains.add_branches(tx, chain_id, rows, actor.id, upload.filename)
    return RedirectResponse(f"/admin/branches?added={len(rows)}", status_code=303)


def _fields(branch: Branch) -> dict[str, str]:
    return {
        "name": branch.name,
        "code": branch.code,
        "region": branch.region,
        "city": branch.city,
        "address": branch.address,
        "latitude": "" if branch.latitude is None else f"{branch.latitude:g}",
        "longitude": "" if branch.longitude is None else f"{branch.longitude:g}",
        "timezone": branch.timezone,
    }


async def _branch(request: Request) -> Branch:
    # The programme's pages: the permission decides first (see views/lookups.py).
    auth.require(await auth.current_user(request), "programme.manage")
    branch = await chains.get_branch(request.app.state.db, int(request.path_params["branch_id"]))
    if branch is None:
        raise ApiError(404, "not_found", _("There is no such branch."))
    return branch


async def edit_page(
    request: Request, problems: list[str] | None = None, values: dict[str, str] | None = None
) -> Response:
    branch = await _branch(request)
    return await render(
        request,
        "branch_edit.html",
        {"branch": branch, "values": values or _fields(branch), "problems": problems or []},
        status_code=422 if problems else 200,
    )


async def update_branch(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    branch = await _branch(request)
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    record = {name: form.get(name, "").strip() for name in FIELDS}
    others = await chains.branch_codes(db, branch.chain_id) - {branch.code}
    row, problems = branch_import.check(record, others)
    if problems:
        return await edit_page(request, problems, record)
    async with db.transaction() as tx:
        await chains.update_branch(tx, branch.id, row, actor.id)
    return RedirectResponse("/admin/branches", status_code=303)


async def branches_json(request: Request) -> Response:
    """``GET /admin/branches.json?q=&chain=&region=&page=``: the branches list as JSON
    (what the pickers search as you type), fifty a page, with the total."""
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    query = request.query_params
    ref = query.get("chain") or ""
    page_number = filters.page_number(query)
    shown, total = await chains.search_branches(
        db,
        (query.get("q") or "").strip()[:100],
        int(ref) if ref.isdigit() and len(ref) < 12 else None,
        (query.get("region") or "").strip()[:200] or None,
        (page_number - 1) * chains.BRANCHES_PER_PAGE,
    )
    return JSONResponse(
        {"branches": [pickers.branch_json(b) for b in shown], "total": total, "page": page_number},
        headers={"cache-control": "private, no-cache"},
    )
