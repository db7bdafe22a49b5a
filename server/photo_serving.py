"""Photos to and from a request, the same for a visit's photos and a plan's evidence:
the refusal of one that is too large, and serving a stored size with a long-lived private
cache (callers never learn where the store keeps it)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .i18n import _
from .photo_store import BlobMissing, PhotoStore
from .photos import blob_name

log = logging.getLogger("visitscore.photos")


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        _("The photo is larger than the limit of %(mb)s MB.") % {"mb": round(limit / 1_000_000, 1)},
    )


async def serve(
    request: Request, key: str, size: str, content_type: str = "image/jpeg"
) -> Response:
    """One stored size of the photo kept under ``key`` (immutable: its name is its hash);
    a 404 in the API's shape when the store has lost it (logged for the operator)."""
    store: PhotoStore = request.app.state.photo_store
    etag = f'"{key[:32]}-{size}"'
    headers = {"cache-control": "private, max-age=31536000, immutable", "etag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    try:
        return await store.serve(blob_name(key, size, content_type), content_type, headers)
    except BlobMissing as exc:  # recorded but gone from the store: an operator's matter
        log.error("photo %s (%s) is missing from %s", key, size, store.description)
        raise ApiError(404, "not_found", _("There is no such photo.")) from exc
