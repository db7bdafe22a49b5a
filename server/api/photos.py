"""Photo upload (``PUT /api/v1/visits/{visit_id}/photos/{photo_id}``) and serving.

The body is streamed to a temp file while it is hashed and counted, never held whole in
memory. Write-once: the same bytes again answer 200, other bytes 409. Image work runs
on the app's own pool of ``photo_workers`` threads, so a burst of uploads cannot exhaust
memory. Nothing is written until the photo has passed every check.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import weakref
from pathlib import Path

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .. import auth, intake
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..photo_serving import serve, too_large
from ..queries import chains, visits
from ..queries import photos as photo_queries
from ..settings import Settings
from ..visit_payload import is_uuid
from .common import ok
from .visits import not_found, visit_id_from

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_for(photo_id: str) -> asyncio.Lock:
    """One upload of a given photo at a time in this process; others wait, then find it
    stored and answer 200 without redoing the image work."""
    lock = _locks.get(photo_id)
    if lock is None:
        lock = asyncio.Lock()
        _locks[photo_id] = lock
    return lock


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


async def _receive_to_file(request: Request, folder: Path, limit: int) -> tuple[Path, str, int]:
    """Stream the body into a temp file; answers its path, SHA-256 and size."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large(limit)
    fd, name = tempfile.mkstemp(prefix="upload-", dir=folder)  # this worker's own folder
    path = Path(name)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                digest.update(chunk)
                fh.write(chunk)
    except ClientDisconnect as exc:
        _discard(path)
        raise ApiError(400, "incomplete_upload", _("The upload was interrupted.")) from exc
    except BaseException:
        _discard(path)
        raise
    return path, digest.hexdigest(), size


async def put_photo(request: Request) -> Response:
    user = await auth.require_user(request, "visit.create")
    visit_uuid = visit_id_from(request)
    photo_id: str = request.path_params["photo_id"]
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    row = await visits.latest(db, visit_uuid)
    if row is None or row["shopper_id"] != user.id or not is_uuid(photo_id):
        raise not_found()
    listed = await photo_queries.in_manifest(db, row["id"], photo_id)
    if listed is None:
        raise ApiError(404, "not_found", _("This visit's photo list does not include this photo."))
    async with _lock_for(photo_id):
        path, sha, size = await _receive_to_file(
            request, request.app.state.scratch, settings.max_photo_bytes
        )
        try:
            stored_now = await intake.store_photo(
                db,
                request.app.state.photo_store,
                request.app.state.photo_pool,
                settings,
                (path, sha, size),
                photo_id,
                visit_uuid,
                user.id,
            )
        finally:
            _discard(path)
    return ok({"photo_id": photo_id, "stored": True}, status_code=201 if stored_now else 200)


SIZES = {"display", "thumb", "original"}


async def get_photo(request: Request) -> Response:
    """A photo's display copy, thumbnail or (for agency staff) kept original."""
    user = auth.require_login(await auth.current_user(request))
    photo_id: str = request.path_params["photo_id"]
    size: str = request.path_params["size"]
    db: Database = request.app.state.db
    if not is_uuid(photo_id) or size not in SIZES:
        raise ApiError(404, "not_found", _("There is no such photo."))
    photo = await photo_queries.get(db, photo_id)
    if photo is None or photo["received_at"] is None:
        raise ApiError(404, "not_found", _("There is no such photo."))
    allowed = False
    for row in await photo_queries.visits_listing(db, photo_id):
        branch = await chains.get_branch(db, row["branch_id"])
        assert branch is not None
        if auth.can_see_visit(
            user, shopper_id=row["shopper_id"], branch=branch, state=row["state"]
        ):
            allowed = True
            break
    if not allowed or (
        size == "original" and (not photo["original_kept"] or not auth.has(user, "visit.review"))
    ):
        raise ApiError(404, "not_found", _("There is no such photo."))
    content_type = photo["content_type"] if size == "original" else "image/jpeg"
    return await serve(request, photo["blob_key"], size, content_type)
