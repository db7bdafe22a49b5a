"""Helpers every JSON endpoint shares: reading a JSON body, answering JSON."""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from ..errors import ApiError
from ..i18n import _
from ..json_input import BadJson, parse

MAX_JSON_BYTES = 2 * 1024 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/413/415 in the API's error shape."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            _("Send this request as JSON (Content-Type: application/json)."),
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", _("The request body is too large."))
    raw = b""
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_JSON_BYTES:
                raise ApiError(413, "too_large", _("The request body is too large."))
    except ClientDisconnect as exc:  # the phone lost its connection: nothing was stored
        raise ApiError(400, "incomplete_upload", _("The upload was interrupted.")) from exc
    try:
        data = parse(raw)
    except BadJson as exc:
        raise ApiError(
            400,
            "bad_json",
            _("The request body was refused: %(reason)s.") % {"reason": _(exc.reason)},
        ) from exc
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", _("The request body must be a JSON object."))
    return data


def ok(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    response = JSONResponse(data, status_code=status_code, headers=headers)
    response.headers.setdefault("cache-control", "no-store")
    return response
