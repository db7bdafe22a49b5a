"""The login page, logging out, and choosing a language."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, i18n
from ..errors import ApiError
from ..i18n import _
from ..middleware import LANG_COOKIE
from ..queries import users
from ..templating import render


def safe_next(target: str | None) -> str:
    """Only a local path may be a redirect target (no open redirects)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def login_page(request: Request) -> Response:
    if await auth.current_user(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return await render(
        request,
        "login.html",
        {
            "next": safe_next(request.query_params.get("next")),
            "email": "",
            "error": None,
            "password_set": request.query_params.get("password") == "set",
        },
    )


async def login_submit(request: Request) -> Response:
    form = await auth.checked_form(request)
    email, password = form.get("email", ""), form.get("password", "")
    target = safe_next(form.get("next"))
    try:
        if not email or not password:
            raise ApiError(422, "invalid", _("Give an email and a password."))
        user = await auth.authenticate(request, email, password)
    except ApiError as exc:
        return await render(
            request,
            "login.html",
            {"next": target, "email": email, "error": exc.message, "password_set": False},
            status_code=exc.status,
            headers=exc.headers,
        )
    response = RedirectResponse(target, status_code=303)
    await auth.start_session(request, response, user)
    return response


async def logout(request: Request) -> Response:
    await auth.checked_form(request)
    response = RedirectResponse("/login", status_code=303)
    await auth.end_session(request, response)
    return response


async def set_language(request: Request) -> Response:
    form = await auth.checked_form(request)
    lang = form.get("lang", "")
    if lang not in i18n.SUPPORTED:
        raise ApiError(422, "invalid", _("That language is not available."))
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 86400,
        path="/",
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    user = await auth.current_user(request)
    if user is not None:
        async with request.app.state.db.transaction() as tx:
            await users.set_locale(tx, user.id, lang)
    return response
