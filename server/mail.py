"""E-mail: what each kind of notification says, in the recipient's language, and sending it.

A notification is queued with its job in the transaction of its event
(:mod:`server.queries.notifications`); the job queue runs :func:`send_one` (one message)
or :func:`send_digest` (a person's daily or weekly digest). A message is plain text with
an HTML alternative, links to the page it is about, and says how to stop that kind of
mail (a signed link, also as ``List-Unsubscribe`` with one-click ``POST``).

Sending goes to the SMTP server of ``VISITSCORE_SMTP_URL`` (:func:`deliver`); with none
configured, the message is written to the log and counts as sent. An SMTP server that
is down or answers 4xx is tried again later (the job's backoff, about 14 hours in all);
a 5xx refusal fails the message at once. A notification is marked sent in its own
transaction right after the server accepted it, and a job that finds it sent sends
nothing: a message is only sent twice if the process dies between the server's "250"
and that commit, and then it carries the same ``Message-ID``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from . import accounts, i18n, jobs
from .i18n import N_
from .queries import accounts as account_tokens
from .queries import events, notifications, users
from .settings import Settings
from .templating import make_templates

log = logging.getLogger("visitscore.mail")

jobs.RETRIES[notifications.MAIL_JOB] = jobs.OUTSIDE_BACKOFF
jobs.RETRIES[notifications.DIGEST_JOB] = jobs.OUTSIDE_BACKOFF


@dataclass(frozen=True)
class Content:
    subject: str
    paragraphs: list[str]
    link: str  # a path on this server
    link_text: str


Prepare = Callable[[Any, Settings, dict[str, Any]], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class Kind:
    label: str  # marked for translation: what the preferences page calls it
    roles: frozenset[str]  # who may receive it (the preferences page lists these)
    compose: Callable[[dict[str, Any]], Content]
    digest: bool = False  # may go in a daily or weekly digest
    # Mail about the account itself (a password link): always sent, never offered on the
    # preferences page, no stop link.
    always: bool = False
    # Reads what the message needs at sending time (None: nothing to send any more).
    prepare: Prepare | None = None


def _day(params: dict[str, Any]) -> str:
    return i18n.format_day(params["day"]) if params.get("day") else ""


def _assignment(verb: str) -> Callable[[dict[str, Any]], Content]:
    def compose(p: dict[str, Any]) -> Content:
        window = {
            "branch": p["branch"],
            "start": i18n.format_day(p["window_start"]),
            "end": i18n.format_day(p["window_end"]),
        }
        subject, body = {
            "new": (
                i18n.gettext("New visit: %(branch)s"),
                i18n.gettext("You have a new visit to %(branch)s, between %(start)s and %(end)s."),
            ),
            "moved": (
                i18n.gettext("Visit changed: %(branch)s"),
                i18n.gettext(
                    "Your visit to %(branch)s changed: it is now between %(start)s and %(end)s."
                ),
            ),
            "cancelled": (
                i18n.gettext("Visit cancelled: %(branch)s"),
                i18n.gettext("Your visit to %(branch)s (%(start)s to %(end)s) was cancelled."),
            ),
        }[verb]
        return Content(subject % window, [body % window], "/app/", i18n.gettext("Open the app"))

    return compose


def _visit_decided(decision: str) -> Callable[[dict[str, Any]], Content]:
    def compose(p: dict[str, Any]) -> Content:
        values = {"branch": p["branch"], "day": _day(p)}
        if decision == "return":
            subject = i18n.gettext("Please look again at your visit to %(branch)s") % values
            first = i18n.gettext("The reviewer sent back your visit to %(branch)s of %(day)s.")
        else:
            subject = i18n.gettext("Your visit to %(branch)s was not accepted") % values
            first = i18n.gettext("The reviewer did not accept your visit to %(branch)s of %(day)s.")
        lines = [first % values]
        if p.get("note"):
            lines.append(i18n.gettext("The reviewer's note: %(note)s") % {"note": p["note"]})
        return Content(subject, lines, "/app/", i18n.gettext("Open the app"))

    return compose


def _report_released(p: dict[str, Any]) -> Content:
    values = {"branch": p["branch"], "day": _day(p), "score": i18n.format_score(p.get("score"))}
    return Content(
        i18n.gettext("New report: %(branch)s, %(day)s") % values,
        [i18n.gettext("The visit to %(branch)s of %(day)s scored %(score)s.") % values],
        f"/visits/{p['visit_id']}",
        i18n.gettext("Read the report"),
    )


def _appeal_opened(p: dict[str, Any]) -> Content:
    values = {"branch": p["branch"], "day": _day(p), "category": i18n.appeal_name(p["category"])}
    return Content(
        i18n.gettext("Appeal: %(branch)s, %(day)s") % values,
        [i18n.gettext("The visit to %(branch)s of %(day)s was appealed: %(category)s.") % values],
        f"/visits/{p['visit_id']}#appeal",
        i18n.gettext("Decide the appeal"),
    )


def _appeal_decided(p: dict[str, Any]) -> Content:
    values = {"branch": p["branch"], "day": _day(p), "decision": i18n.appeal_name(p["decision"])}
    decided = i18n.gettext("The appeal of the visit to %(branch)s of %(day)s: %(decision)s.")
    lines = [decided % values]
    if p.get("reason"):
        lines.append(i18n.gettext("The reason: %(reason)s") % {"reason": p["reason"]})
    return Content(
        i18n.gettext("Appeal decided: %(branch)s, %(day)s") % values,
        lines,
        f"/visits/{p['visit_id']}#appeal",
        i18n.gettext("Read the report"),
    )


def _plan(event: str) -> Callable[[dict[str, Any]], Content]:
    def compose(p: dict[str, Any]) -> Content:
        values = {
            "branch": p["branch"],
            "plan": p.get("text") or p.get("section") or "",
            "due": i18n.format_day(p["due_date"]) if p.get("due_date") else "",
        }
        subject, body = {
            "returned": (
                i18n.gettext("Action plan returned: %(branch)s"),
                i18n.gettext("The manager returned the action plan \u201c%(plan)s\u201d."),
            ),
            "verified": (
                i18n.gettext("Action plan verified: %(branch)s"),
                i18n.gettext("The manager verified the action plan \u201c%(plan)s\u201d."),
            ),
            "due": (
                i18n.gettext("Action plan due tomorrow: %(branch)s"),
                i18n.gettext("The action plan \u201c%(plan)s\u201d is due on %(due)s."),
            ),
            "overdue": (
                i18n.gettext("Action plan overdue: %(branch)s"),
                i18n.gettext("The action plan \u201c%(plan)s\u201d was due on %(due)s."),
            ),
        }[event]
        lines = [body % values]
        if p.get("note"):
            lines.append(i18n.gettext("The manager's note: %(note)s") % {"note": p["note"]})
        return Content(
            subject % values,
            lines,
            f"/branches/{p['branch_id']}#plans-h",
            i18n.gettext("Open the action plans"),
        )

    return compose


def _password_reset(p: dict[str, Any]) -> Content:
    return Content(
        i18n.gettext("Choose a new password for Visitscore"),
        [
            i18n.gettext(
                "Someone, we hope you, asked to choose a new password for %(email)s."
                " The link below works once, for one hour."
            )
            % {"email": p["email"]},
            i18n.gettext("If it was not you, ignore this message: your password stays as it is."),
        ],
        p["link"],
        i18n.gettext("Choose a new password"),
    )


def _invitation(p: dict[str, Any]) -> Content:
    return Content(
        i18n.gettext("Your Visitscore account"),
        [
            i18n.gettext(
                "%(who)s made you an account at Visitscore (%(role)s), for %(email)s."
                " Choose your password to start: the link below works once, for seven days."
            )
            % {"who": p["who"], "role": i18n.role_name(p["role"]), "email": p["email"]},
        ],
        p["link"],
        i18n.gettext("Choose your password"),
    )


async def _account_link(
    db: Any, settings: Settings, params: dict[str, Any]
) -> dict[str, Any] | None:
    """The password link, made at sending time from its row (never stored whole)."""
    token = await account_tokens.get(db, int(params["token"]))
    if not account_tokens.usable(token):
        return None  # used, replaced by a newer one, or expired while the mail waited
    assert token is not None
    return {
        **params,
        "link": f"/password-reset/{accounts.link_token(settings.secret_key(), token)}",
    }


EVERYONE = frozenset({"admin", "reviewer", "manager", "owner", "shopper"})
SHOPPER = frozenset({"shopper"})
READERS = frozenset({"owner", "manager", "admin"})
OWNERS = frozenset({"owner", "admin"})
REVIEWERS = frozenset({"reviewer", "admin"})

KINDS: dict[str, Kind] = {
    "assignment_new": Kind(N_("A new visit for me"), SHOPPER, _assignment("new")),
    "assignment_moved": Kind(N_("A visit of mine moved"), SHOPPER, _assignment("moved")),
    "assignment_cancelled": Kind(
        N_("A visit of mine cancelled"), SHOPPER, _assignment("cancelled")
    ),
    "visit_returned": Kind(N_("A visit sent back to me"), SHOPPER, _visit_decided("return")),
    "visit_rejected": Kind(N_("A visit of mine not accepted"), SHOPPER, _visit_decided("reject")),
    "report_released": Kind(N_("A new visit report"), READERS, _report_released, digest=True),
    "appeal_opened": Kind(N_("A visit appealed"), REVIEWERS, _appeal_opened),
    "appeal_decided": Kind(N_("An appeal decided"), READERS, _appeal_decided),
    "plan_returned": Kind(N_("An action plan returned"), OWNERS, _plan("returned")),
    "plan_verified": Kind(N_("An action plan verified"), OWNERS, _plan("verified")),
    "plan_due": Kind(N_("An action plan due tomorrow"), OWNERS, _plan("due")),
    "plan_overdue": Kind(N_("An action plan overdue"), READERS, _plan("overdue")),
    "password_reset": Kind(
        N_("A link to choose a new password"),
        EVERYONE,
        _password_reset,
        always=True,
        prepare=_account_link,
    ),
    "invitation": Kind(
        N_("An invitation"), EVERYONE, _invitation, always=True, prepare=_account_link
    ),
}
"""Every kind of notification: who may get it and what it says."""


def kinds_for(role: str) -> dict[str, Kind]:
    """The kinds a person of this role can choose about (not the account's own mail)."""
    return {name: kind for name, kind in KINDS.items() if role in kind.roles and not kind.always}


# Stopping a kind of mail from the mail itself: a signed link, no login needed.


def stop_token(secret: bytes, user_id: int, kind: str) -> str:
    signature = hmac.new(secret, f"mail-stop:{user_id}:{kind}".encode(), hashlib.sha256)
    return f"{user_id}.{kind}.{signature.hexdigest()[:32]}"


def read_stop_token(secret: bytes, token: str) -> tuple[int, str] | None:
    """The person and kind a stop link names, or None when it was not made here."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in KINDS:
        return None
    if KINDS[parts[1]].always:
        return None
    user_id, kind = int(parts[0]), parts[1]
    if not hmac.compare_digest(stop_token(secret, user_id, kind), token):
        return None
    return user_id, kind


# Composing.

_templates = make_templates()


def _render(name: str, context: dict[str, Any]) -> str:
    return _templates.env.get_template(name).render(context)


def _text_env() -> Any:
    return _templates.env.overlay(autoescape=False)


_text = _text_env()


def _message_id(settings: Settings, *parts: object) -> str:
    host = urlsplit(settings.site_url).hostname or "localhost"
    seal = hashlib.sha256(settings.secret_key() + repr(parts).encode()).hexdigest()[:12]
    return f"<visitscore.{'.'.join(str(p) for p in parts)}.{seal}@{host}>"


def _address(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def compose(
    settings: Settings,
    user: Any,
    items: list[tuple[str, Content]],
    message_id: str,
    digest: str | None = None,
) -> EmailMessage:
    """One message to ``user`` in their language: one notification's content, or a
    digest of several (``items``: each kind with its content)."""
    site = settings.site_url
    kind = items[0][0]
    stop = (
        ""
        if KINDS[kind].always
        else f"{site}/mail/stop/{stop_token(settings.secret_key(), user.id, kind)}"
    )
    context = {
        "site": site,
        "user": user,
        "items": [{"kind": k, "content": c, "url": site + c.link} for k, c in items],
        "digest": digest,
        "stop_url": stop,
        "stop_label": i18n.gettext(KINDS[kind].label),
        "preferences_url": f"{site}/account/mail",
        "locale": i18n.current_locale(),
    }
    if digest is None:
        subject = items[0][1].subject
    elif digest == "daily":
        subject = i18n.ngettext(
            "Your day: %(num)s new report", "Your day: %(num)s new reports", len(items)
        ) % {"num": len(items)}
    else:
        subject = i18n.ngettext(
            "Your week: %(num)s new report", "Your week: %(num)s new reports", len(items)
        ) % {"num": len(items)}
    message = EmailMessage()
    sender_name, sender = parseaddr(settings.mail_from)
    message["From"] = _address(sender_name or "Visitscore", sender or "visitscore@localhost")
    message["To"] = _address(user.name, user.email)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    if stop:
        message["List-Unsubscribe"] = f"<{stop}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_text.get_template("mail/message.txt").render(context))
    message.add_alternative(_render("mail/message.html", context), subtype="html")
    # After the parts are made (making them moves every Content-* header into the first).
    message["Content-Language"] = i18n.current_locale()
    return message


# Sending.


class Permanent(Exception):
    """The SMTP server refused the message for good (5xx): no point trying again."""


def smtp_options(settings: Settings) -> dict[str, Any]:
    """aiosmtplib's options from ``VISITSCORE_SMTP_URL``."""
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError("VISITSCORE_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
    query = parse_qs(url.query)
    plain_text = query.get("tls", [""])[0] == "none"
    secure = url.scheme == "smtps"
    return {
        "hostname": url.hostname,
        "port": url.port or (465 if secure else 25 if plain_text else 587),
        "username": unquote(url.username or "") or os.environ.get("VISITSCORE_SMTP_USER") or None,
        "password": unquote(url.password or "")
        or os.environ.get("VISITSCORE_SMTP_PASSWORD")
        or None,
        "use_tls": secure,
        "start_tls": False if secure or plain_text else True,
        "timeout": 30,
    }


async def deliver(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server (raises to try again later, or Permanent)."""
    if not settings.smtp_url:
        log.info(
            "mail not sent (no VISITSCORE_SMTP_URL) to %s: %s\n%s",
            message["To"],
            message["Subject"],
            message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
        )
        return
    try:
        await aiosmtplib.send(message, **smtp_options(settings))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise Permanent(str(exc)) from exc
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise Permanent(f"{exc.code} {exc.message}") from exc
        raise


async def _recipient(db: Any, user_id: int) -> Any:
    user = await users.get(db, user_id)
    return user if user is not None and user.active and "@" in user.email else None


def _settings(context: jobs.JobContext) -> Settings:
    if context.settings is None:
        raise jobs.JobFailed("this worker was started without the server's settings")
    return context.settings


def _error(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


@jobs.kind(notifications.MAIL_JOB)
async def send_one(context: jobs.JobContext) -> dict[str, Any]:
    settings = _settings(context)
    notification_id = int(context.params["notification"])
    found = await notifications.get(context.db, notification_id)
    if found is None or found["state"] != "queued":
        return {"sent": False}  # sent already (a retry after the commit), or dropped
    user = await _recipient(context.db, found["user_id"])
    if user is None or found["kind"] not in KINDS:
        async with context.db.transaction() as tx:
            await notifications.mark(tx, [notification_id], "skipped")
        return {"sent": False}
    kind = KINDS[found["kind"]]
    params = found["params"]
    if kind.prepare is not None:
        prepared = await kind.prepare(context.db, settings, params)
        if prepared is None:
            async with context.db.transaction() as tx:
                await notifications.mark(tx, [notification_id], "skipped")
            return {"sent": False}
        params = prepared
    message_id = _message_id(settings, notification_id)
    with i18n.using(user.locale or i18n.DEFAULT):
        content = kind.compose(params)
        message = compose(settings, user, [(found["kind"], content)], message_id)
    await _deliver_or_fail(context, settings, message, [notification_id])
    async with context.db.transaction() as tx:
        await notifications.mark(tx, [notification_id], "sent", message_id=message_id)
    return {"sent": True, "message_id": message_id}


@jobs.kind(notifications.DIGEST_JOB)
async def send_digest(context: jobs.JobContext) -> dict[str, Any]:
    settings = _settings(context)
    user_id, due = int(context.params["user"]), str(context.params["due"])
    items = await notifications.digest_items(context.db, user_id, due)
    if not items:
        return {"sent": 0}
    ids = [int(n["id"]) for n in items]
    user = await _recipient(context.db, user_id)
    if user is None:
        async with context.db.transaction() as tx:
            await notifications.mark(tx, ids, "skipped")
        return {"sent": 0}
    message_id = _message_id(settings, "digest", user_id, due)
    with i18n.using(user.locale or i18n.DEFAULT):
        contents = [(n["kind"], KINDS[n["kind"]].compose(n["params"])) for n in items]
        message = compose(settings, user, contents, message_id, digest=items[0]["digest"])
    await _deliver_or_fail(context, settings, message, ids)
    async with context.db.transaction() as tx:
        await notifications.mark(tx, ids, "sent", message_id=message_id)
    return {"sent": len(ids), "message_id": message_id}


async def _deliver_or_fail(
    context: jobs.JobContext, settings: Settings, message: EmailMessage, ids: list[int]
) -> None:
    """Deliver; when this was the last attempt (or the server refused for good), the
    notifications are marked failed before the job fails."""
    try:
        await deliver(settings, message)
    except Exception as exc:
        final = isinstance(exc, Permanent) or context.attempt >= context.job["max_attempts"]
        if final:
            async with context.db.transaction() as tx:
                await notifications.mark(tx, ids, "failed", error=_error(exc))
        if isinstance(exc, Permanent):
            raise jobs.JobFailed(_error(exc)) from exc
        raise jobs.RetryLater(f"mail to {message['To']} not sent yet: {_error(exc)}") from exc


async def remind_plans(db: Any) -> int:
    """Queue the reminders of plans due tomorrow or overdue (each once); run by every job
    runner at its sweep. Answers how many were queued."""
    queued = 0
    for plan_id, event in await events.plans_to_remind(db):
        async with db.transaction() as tx:
            queued += await events.remind(tx, plan_id, event)
    return queued


jobs.PERIODIC.append(remind_plans)
