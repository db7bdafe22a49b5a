"""How errors are answered: the API's one JSON shape for API requests (and JSON
twins), a page in the user's language for everyone else. Anything unexpected becomes a
500 with no stack trace; a client that went away mid-body is not a server fault."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .errors import ApiError, error_json
from .i18n import _
from .templating import render

log = logging.getLogger("visitscore")


def _wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


_HTTP_CODES = {
    400: "bad_request",
    401: "not_logged_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def _http_message(status: int) -> str:
    messages = {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have access to this."),
        404: _("Nothing was found at this address."),
        405: _("This address does not accept that method."),
        409: _("This conflicts with what is already saved."),
        413: _("The upload is too large."),
        415: _("This type of content is not accepted here."),
        422: _("Some of the data is not valid."),
        429: _("Too many attempts. Please wait and try again."),
    }
    return messages.get(status, _("Something went wrong."))


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if _wants_json(request):
        return error_json(exc.status, exc.code, exc.message, exc.details, exc.headers)
    return await render_error_page(request, exc.status, exc.message, exc.headers)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = _http_message(exc.status_code)
    headers = dict(exc.headers or {})
    if _wants_json(request):
        return error_json(exc.status_code, code, message, headers=headers)
    return await render_error_page(request, exc.status_code, message, headers)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ClientDisconnect):
        # The client went away mid-body (a phone losing signal): nobody reads the answer
        # and nothing was stored; not a server fault.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return error_json(400, "incomplete_upload", _("The upload was interrupted."))
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = _(
        "Something went wrong on the server. Nothing you sent was half-saved; please try again."
    )
    if _wants_json(request):
        return error_json(500, "internal", message)
    return await render_error_page(request, 500, message)


async def render_error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return await render(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        headers=headers,
    )
