"""A person's own password: asking for a reset link by e-mail (``/password-reset``),
choosing a password from a reset or invitation link (``/password-reset/{token}``), and
changing it while logged in (``/account/password``).

Asking never tells whether the address has an account: the answer is the same, and the
mail goes only to an active account (at most RESETS_PER_HOUR an hour). A link works once,
until it expires; using it ends every session of the person."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import accounts, auth, i18n
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import accounts as account_tokens
from ..queries import notifications, users
from ..settings import Settings
from ..templating import render


async def reset_page(request: Request) -> Response:
    return await render(request, "password_reset.html", {"sent": False, "email": ""})


async def reset_request(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    email = form.get("email", "").strip()
    if not email or "@" not in email or len(email) > 320:
        raise ApiError(422, "invalid", _("Give the e-mail address of your account."))
    db: Database = request.app.state.db
    found = await users.get_login(db, email)
    person = found[0] if found else None
    if person is not None and person.active:
        async with db.transaction() as tx:
            if await account_tokens.recent_resets(tx, person.id) < account_tokens.RESETS_PER_HOUR:
                if person.locale is None:  # they asked in this language: mail them in it
                    await users.set_locale(tx, person.id, i18n.current_locale())
                token = await account_tokens.issue(tx, person.id, "reset")
                await notifications.queue(
                    tx, "password_reset", {"token": token["id"], "email": person.email}, [person.id]
                )
    # The same answer whether or not the address has an account.
    return await render(request, "password_reset.html", {"sent": True, "email": email})


async def _token(request: Request) -> dict[str, object]:
    settings: Settings = request.app.state.settings
    text = request.path_params["token"]
    named = accounts.named_id(text)
    token = await account_tokens.get(request.app.state.db, named) if named is not None else None
    if not accounts.matches(settings.secret_key(), text, token) or not account_tokens.usable(token):
        raise ApiError(
            404,
            "not_found",
            _("This link was used already or has expired. Ask for a new one on the login page."),
        )
    assert token is not None
    return token


async def choose_page(request: Request) -> Response:
    token = await _token(request)
    person = await users.get(request.app.state.db, int(str(token["user_id"])))
    assert person is not None
    return await render(
        request,
        "password_choose.html",
        {
            "token": request.path_params["token"],
            "invite": token["purpose"] == "invite",
            "email": person.email,
            "error": None,
        },
    )


def _new_password_problem(form: dict[str, str]) -> str | None:
    password, again = form.get("password", ""), form.get("password_again", "")
    if (problem := auth.password_problem(password)) is not None:
        return problem
    if password != again:
        return _("The two passwords differ: type the same one twice.")
    return None


async def choose_submit(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    token = await _token(request)
    if (problem := _new_password_problem(form)) is not None:
        raise ApiError(422, "invalid", problem)
    password_hash = await asyncio.to_thread(auth.hash_password, form["password"])
    async with request.app.state.db.transaction() as tx:
        used = await account_tokens.use(tx, int(str(token["id"])), password_hash)
    if used is None:  # used at the same moment in another tab
        raise ApiError(
            404,
            "not_found",
            _("This link was used already or has expired. Ask for a new one on the login page."),
        )
    response = RedirectResponse("/login?password=set", status_code=303)
    auth.forget_session(response)
    return response


async def password_page(request: Request) -> Response:
    auth.require_login(await auth.current_user(request))
    return await render(
        request, "password_change.html", {"done": request.query_params.get("done") == "1"}
    )


async def password_submit(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require_login(await auth.current_user(request))
    db: Database = request.app.state.db
    found = await users.get_login(db, user.email)
    assert found is not None
    current_ok = await asyncio.to_thread(
        auth.verify_password, form.get("current_password", ""), found[1]
    )
    if not current_ok:
        raise ApiError(422, "invalid", _("Your current password is not that."))
    if (problem := _new_password_problem(form)) is not None:
        raise ApiError(422, "invalid", problem)
    password_hash = await asyncio.to_thread(auth.hash_password, form["password"])
    async with db.transaction() as tx:
        await account_tokens.change_password(tx, user.id, password_hash, auth.session_hash(request))
    return RedirectResponse("/account/password?done=1", status_code=303)
