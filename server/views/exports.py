"""Exports made in the background: ask (``POST /chains/{id}/exports``), watch
(``/exports/{id}``, ``.json``), download (``/exports/{id}/file``); and the job queue as
the agency sees it (``/admin/jobs``).

A request for an export that is already made (and still true: nothing approved since)
or already being made goes to that one; see :mod:`server.exports`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .. import auth, exports, photo_export
from ..errors import ApiError
from ..i18n import _, current_locale, job_state_name
from ..models import Chain
from ..photo_store import BlobMissing
from ..queries import chains
from ..queries import jobs as queue
from ..templating import render
from .compare import export_period, export_region
from .lookups import visible_chain

REFRESH_SECONDS = 2


async def create(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user, chain, branches = await visible_chain(request, "report.export")
    fmt = form.get("format") or "csv"
    if fmt not in exports.FORMATS:
        raise ApiError(422, "invalid", _("Choose CSV, XLSX or JSON."))
    first_day, end_day = export_period(form)
    region = export_region(form, branches)
    job_id, _reused = await exports.request(
        request.app.state.db,
        user_id=user.id,
        chain=chain,
        branches=branches,
        fmt=fmt,
        first_day=first_day,
        end_day=end_day,
        locale=current_locale(),
        region=region,
    )
    runner = request.app.state.jobs
    if runner is not None:
        runner.wake()
    return RedirectResponse(f"/exports/{job_id}", status_code=303)


async def create_photos(request: Request) -> Response:
    """``POST /chains/{id}/photo-exports``: every photo of the approved visits of the
    branches the reader sees (of a region, or of the chosen ``branches``) in a period,
    as a ZIP made in the background."""
    form = await request.form()  # several branches
    await auth.checked_form(request)  # forms check their token before anything else
    user, chain, branches = await visible_chain(request, "report.export")
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    first_day, end_day = export_period(fields)
    region = export_region(fields, branches)
    chosen = {int(v) for v in form.getlist("branches") if str(v).isdigit()}
    if chosen - {b.id for b in branches}:
        raise ApiError(422, "invalid", _("Choose branches of this chain."))
    picked = [
        b for b in branches if (not region or b.region == region) and (not chosen or b.id in chosen)
    ]
    if not picked:
        raise ApiError(422, "invalid", _("Choose at least one branch."))
    job_id = await photo_export.request(
        request.app.state.db,
        user_id=user.id,
        chain_id=chain.id,
        branches=picked,
        first_day=first_day,
        end_day=end_day,
        locale=current_locale(),
    )
    runner = request.app.state.jobs
    if runner is not None:
        runner.wake()
    return RedirectResponse(f"/exports/{job_id}", status_code=303)


async def data(request: Request) -> dict[str, Any]:
    """The export job the path names, if its file is the user's to have: look up → 404 →
    permission. A job of a chain the user may not see, or made of other branches than
    those they see now, is a 404."""
    user = auth.require_login(await auth.current_user(request))
    db = request.app.state.db
    job = await queue.get(db, int(request.path_params["job_id"]))
    chain: Chain | None = None
    if job is not None and job["kind"] in (exports.KIND, exports.PHOTOS_KIND):
        chain = await chains.get_chain(db, int(job["params"]["chain_id"]))
    if job is None or chain is None:
        raise ApiError(404, "not_found", _("There is no such export."))
    _user, chain, branches = await visible_chain(request, "report.export", chain.id)
    if not exports.may_read(job, chain.id, branches):
        raise ApiError(404, "not_found", _("There is no such export."))
    return {"user": user, "job": job, "chain": chain}


def _public(job: dict[str, Any], chain: Chain) -> dict[str, Any]:
    params = job["params"]
    result = job["result"] or {}
    return {
        "id": job["id"],
        "state": job["state"],
        "state_name": job_state_name(job["state"]),
        "format": params["format"],
        "chain": chain.to_api(),
        "from": params["first_day"][:7] or None,
        "to": exports.last_month(params["end_day"]),
        "done": job["done_count"],
        "total": job["total_count"],
        "attempts": job["attempts"],
        "error": job["error"],
        "created_at": job["created_at"],
        "finished_at": job["finished_at"],
        "rows": result.get("rows"),
        "bytes": result.get("bytes"),
        "file": f"/exports/{job['id']}/file" if job["state"] == "done" else None,
        "file_name": exports.file_name(job, chain),
    }


async def page(request: Request) -> Response:
    found = await data(request)
    export = _public(found["job"], found["chain"])
    waiting = export["state"] in {"queued", "running"}
    return await render(
        request,
        "export.html",
        {"export": export, "chain": found["chain"], "refresh": REFRESH_SECONDS if waiting else 0},
        headers={"cache-control": "no-store"},
    )


async def page_json(request: Request) -> Response:
    found = await data(request)
    return JSONResponse(
        _public(found["job"], found["chain"]), headers={"cache-control": "no-store"}
    )


async def download(request: Request) -> Response:
    found = await data(request)
    job = found["job"]
    if job["state"] != "done":
        raise ApiError(
            409,
            "not_ready",
            _("This export is not ready: it is %(state)s.")
            % {"state": job_state_name(job["state"])},
        )
    fmt = job["params"]["format"]
    headers = {
        "content-disposition": f'attachment; filename="{exports.file_name(job, found["chain"])}"',
        "cache-control": "private, no-cache",
    }
    try:
        return await request.app.state.photo_store.serve(
            job["result"]["file"], exports.FILE_TYPES[fmt], headers
        )
    except BlobMissing as exc:
        raise ApiError(
            410, "gone", _("This export's file is no longer kept. Ask for a new one.")
        ) from exc


async def jobs_page(request: Request) -> Response:
    """Every recent background job, its state, attempts and error (the agency's view)."""
    await auth.require_user(request, "programme.manage")
    db = request.app.state.db
    return await render(
        request,
        "jobs.html",
        {
            "jobs": await queue.recent(db, 100),
            "counts": await queue.counts(db),
        },
        headers={"cache-control": "no-store"},
    )
