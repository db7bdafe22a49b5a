"""What mail a person receives: ``/account/mail`` (their choice for each kind they can
get) and ``/mail/stop/{token}``, the signed link every message carries to stop its kind
without logging in (``POST`` is the one-click of ``List-Unsubscribe-Post``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, mail
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import notifications, users
from ..settings import Settings
from ..templating import render


def _offered(role: str) -> list[tuple[str, mail.Kind, tuple[str, ...]]]:
    """Each kind this role can get, with the choices it offers."""
    return [
        (name, kind, notifications.CHOICES if kind.digest else ("now", "off"))
        for name, kind in mail.kinds_for(role).items()
    ]


async def preferences_page(request: Request) -> Response:
    user = auth.require_login(await auth.current_user(request))
    db: Database = request.app.state.db
    chosen = await notifications.choices(db, user.id)
    return await render(
        request,
        "account_mail.html",
        {
            "kinds": [
                (name, kind, offered, chosen.get(name, "now"))
                for name, kind, offered in _offered(user.role)
            ],
            "saved": request.query_params.get("saved") == "1",
        },
    )


async def preferences_submit(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require_login(await auth.current_user(request))
    chosen: dict[str, str] = {}
    for name, _kind, offered in _offered(user.role):
        value = form.get(f"kind_{name}")
        if value is None:
            continue  # left out: kept
        if value not in offered:
            raise ApiError(
                422, "invalid", _("Choose one of the offered ways for each kind of mail.")
            )
        chosen[name] = value
    if not chosen:
        raise ApiError(422, "invalid", _("Choose a setting to change."))
    db: Database = request.app.state.db
    async with db.transaction() as tx:
        await notifications.set_choices(tx, user.id, chosen)
    return RedirectResponse("/account/mail?saved=1", status_code=303)


def _stop_target(request: Request) -> tuple[int, str]:
    settings: Settings = request.app.state.settings
    found = mail.read_stop_token(settings.secret_key(), request.path_params["token"])
    if found is None:
        raise ApiError(404, "not_found", _("This link is not valid."))
    return found


async def stop_page(request: Request) -> Response:
    """What the link stops, and a button (a link scanner that follows it stops nothing)."""
    user_id, kind = _stop_target(request)
    db: Database = request.app.state.db
    person = await users.get(db, user_id)
    if person is None:
        raise ApiError(404, "not_found", _("This link is not valid."))
    stopped = (await notifications.choices(db, user_id)).get(kind) == "off"
    return await render(
        request,
        "mail_stop.html",
        {
            "kind_label": _(mail.KINDS[kind].label),
            "email": person.email,
            "token": request.path_params["token"],
            "stopped": stopped,
        },
    )


async def stop_submit(request: Request) -> Response:
    """Stop the kind of mail the signed link names (no login, no form token: the link's
    signature is the proof; mail programs post here for one-click unsubscribe)."""
    user_id, kind = _stop_target(request)
    db: Database = request.app.state.db
    if await users.get(db, user_id) is None:
        raise ApiError(404, "not_found", _("This link is not valid."))
    async with db.transaction() as tx:
        await notifications.set_choices(tx, user_id, {kind: "off"})
    return RedirectResponse(f"/mail/stop/{request.path_params['token']}", status_code=303)
