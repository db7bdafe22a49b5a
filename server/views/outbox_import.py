"""``/admin/outbox-import``: an admin uploads an outbox file that the shopper app exported,
and reads what happened to each visit (``server/outbox_import.py``; the same as
``visitscore import-outbox``)."""

from __future__ import annotations

import asyncio

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from .. import auth, outbox_import
from ..i18n import _
from ..templating import render

CHUNK = 1 << 20


async def import_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    return await render(request, "outbox_import.html", {"outcomes": None, "problem": None})


async def _refused(request: Request, problem: str, status: int = 422) -> Response:
    response = await render(request, "outbox_import.html", {"outcomes": None, "problem": problem})
    response.status_code = status
    return response


async def import_submit(request: Request) -> Response:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > outbox_import.MAX_FILE_BYTES + CHUNK:
        auth.require(await auth.current_user(request), "programme.manage")
        limit = outbox_import.MAX_FILE_BYTES >> 20
        return await _refused(request, _("The file is larger than %(mb)s MB.") % {"mb": limit}, 413)
    form = await request.form(max_files=1)
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _refused(request, _("Choose an outbox file exported by the app."))
    raw = await upload.read(outbox_import.MAX_FILE_BYTES + 1)
    try:  # parsing a large file is CPU work: off the event loop
        document = await asyncio.to_thread(outbox_import.read_document, raw)
    except outbox_import.FileProblem as exc:
        return await _refused(request, str(exc))
    state = request.app.state
    tools = outbox_import.Tools(
        state.db, state.photo_store, state.photo_pool, state.scratch, state.settings
    )
    outcomes = await outbox_import.import_document(tools, document, actor.id, upload.filename)
    return await render(
        request,
        "outbox_import.html",
        {
            "outcomes": outcomes,
            "problem": None,
            "file": upload.filename,
            "refused": sum(o.refused for o in outcomes),
        },
    )
