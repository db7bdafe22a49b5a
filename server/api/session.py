"""``/api/v1/session``: log in (POST), who am I (GET), log out (DELETE)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import auth
from ..errors import ApiError
from ..i18n import _
from .common import json_body, ok


async def create_session(request: Request) -> Response:
    body = await json_body(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or not email or not password:
        raise ApiError(
            422,
            "invalid",
            _("Give an email and a password."),
            details=[
                {"path": "email", "message": _("required")},
                {"path": "password", "message": _("required")},
            ],
        )
    user = await auth.authenticate(request, email, password)
    response = ok({"user": user.to_api()}, status_code=201)
    await auth.start_session(request, response, user)
    return response


async def read_session(request: Request) -> Response:
    user = await auth.current_user(request)
    if user is None:
        raise ApiError(401, "not_logged_in", _("Please log in."))
    return ok({"user": user.to_api()})


async def delete_session(request: Request) -> Response:
    response = ok({"logged_out": True})
    await auth.end_session(request, response)
    return response
