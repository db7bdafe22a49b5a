"""``/admin/webhooks``: the addresses other systems are told at (visits approved, returned
or rejected, appeals decided, action plans changed), each with its secret and its log of
deliveries, which an admin can send again."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import webhooks
from ..templating import render

MAX_URL = 2000


async def list_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    return await render(
        request,
        "webhooks.html",
        {"hooks": await webhooks.list_all(db), "events": webhooks.EVENTS},
    )


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL:
        return _("Give the address as http:// or https:// with a host name.")
    return None


async def create(request: Request) -> Response:
    form = await request.form()  # several events
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    url = str(form.get("url") or "").strip()
    chosen = [str(e) for e in form.getlist("events")]
    secret = str(form.get("secret") or "").strip() or webhooks.new_secret()
    problems = []
    if (problem := _url_problem(url)) is not None:
        problems.append(problem)
    if not chosen or not set(chosen) <= set(webhooks.EVENTS):
        problems.append(_("Choose the events to send."))
    if not 16 <= len(secret) <= 200:
        problems.append(_("A secret has 16 to 200 characters (leave it empty for a new one)."))
    if problems:
        raise ApiError(422, "invalid", " ".join(problems))
    db: Database = request.app.state.db
    async with db.transaction() as tx:
        hook_id = await webhooks.create(tx, url, chosen, secret, actor.id)
    return RedirectResponse(f"/admin/webhooks/{hook_id}", status_code=303)


async def _hook(request: Request) -> tuple[int, dict[str, object]]:
    actor = auth.require(await auth.current_user(request), "programme.manage")
    hook = await webhooks.get(request.app.state.db, int(request.path_params["hook_id"]))
    if hook is None:
        raise ApiError(404, "not_found", _("There is no such webhook."))
    return actor.id, hook


async def hook_page(request: Request) -> Response:
    _actor, hook = await _hook(request)
    db: Database = request.app.state.db
    return await render(
        request,
        "webhook.html",
        {"hook": hook, "deliveries": await webhooks.deliveries(db, int(str(hook["id"])))},
    )


async def pause_or_resume(request: Request) -> Response:
    await auth.checked_form(request)  # forms check their token before anything else
    actor_id, hook = await _hook(request)
    active = request.url.path.endswith("/resume")
    async with request.app.state.db.transaction() as tx:
        await webhooks.set_active(tx, int(str(hook["id"])), active, actor_id)
    return RedirectResponse(f"/admin/webhooks/{hook['id']}", status_code=303)


async def resend(request: Request) -> Response:
    await auth.checked_form(request)  # forms check their token before anything else
    actor_id, hook = await _hook(request)
    db: Database = request.app.state.db
    found = await webhooks.delivery(db, int(request.path_params["delivery_id"]))
    if found is None or found["webhook_id"] != hook["id"]:
        raise ApiError(404, "not_found", _("There is no such delivery."))
    async with db.transaction() as tx:
        await webhooks.resend(tx, int(found["id"]), actor_id)
    runner = getattr(request.app.state, "jobs", None)
    if runner is not None:
        runner.wake()
    return RedirectResponse(f"/admin/webhooks/{hook['id']}#deliveries", status_code=303)
