"""Translations: Babel catalogs under server/locale, the request's language, formatting.

The .po files are the only source: they are compiled in memory the first time a
language is used, so there is no build step and no stale .mo file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.dates import get_day_names, get_timezone_name
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, parse_pattern
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("en", "id", "fr")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "id": "Bahasa Indonesia", "fr": "Français"}

_current: ContextVar[str] = ContextVar("visitscore_locale", default=DEFAULT)


@cache
def translations(locale: str) -> NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT or not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer)


def current_locale() -> str:
    return _current.get()


def activate(locale: str) -> Token[str]:
    return _current.set(locale if locale in SUPPORTED else DEFAULT)


def deactivate(token: Token[str]) -> None:
    _current.reset(token)


@contextmanager
def using(locale: str) -> Iterator[None]:
    """Speak ``locale`` inside the block (work done outside a request: mail)."""
    token = activate(locale)
    try:
        yield
    finally:
        deactivate(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    return message


ROLE_NAMES = {
    "admin": N_("Administrator"),
    "reviewer": N_("Reviewer"),
    "manager": N_("Chain manager"),
    "owner": N_("Owner"),
    "shopper": N_("Shopper"),
}


STATE_NAMES = {
    "incomplete": N_("waiting for photos"),
    "submitted": N_("waiting for review"),
    "approved": N_("approved"),
    "returned": N_("returned to the shopper"),
    "rejected": N_("rejected"),
}


JOB_STATE_NAMES = {
    "queued": N_("waiting to start"),
    "running": N_("being made"),
    "done": N_("ready"),
    "failed": N_("failed"),
    "expired": N_("no longer kept"),
}


JOB_KIND_NAMES = {
    "mail": N_("A message by e-mail"),
    "digest": N_("A digest by e-mail"),
    "webhook": N_("A webhook delivery"),
}


def job_kind_name(kind: str) -> str:
    return gettext(JOB_KIND_NAMES[kind]) if kind in JOB_KIND_NAMES else kind


DELIVERY_STATE_NAMES = {
    "queued": N_("waiting to be sent"),
    "delivered": N_("delivered"),
    "failed": N_("failed"),
}


def delivery_state_name(state: str) -> str:
    return gettext(DELIVERY_STATE_NAMES.get(state, state))


WEBHOOK_EVENT_NAMES = {
    "visit.approved": N_("A visit approved"),
    "visit.returned": N_("A visit returned to its shopper"),
    "visit.rejected": N_("A visit rejected"),
    "appeal.decided": N_("An appeal decided"),
    "actionplan.changed": N_("An action plan written or changed"),
}


def webhook_event_name(event: str) -> str:
    return gettext(WEBHOOK_EVENT_NAMES.get(event, event))


def job_state_name(state: str) -> str:
    return gettext(JOB_STATE_NAMES.get(state, N_("changed")))


AUDIT_NAMES = {
    "visit.received": N_("received by the server"),
    "visit.submitted": N_("complete: photos in, waiting for review"),
    "visit.approved": N_("approved"),
    "visit.returned": N_("returned to the shopper"),
    "visit.rejected": N_("rejected"),
    "visit.imported": N_("imported from a phone's outbox file"),
    "visit.corrected": N_("answer corrected by the agency"),
    "visit.appealed": N_("appealed by the branch"),
    "appeal.upheld": N_("appeal upheld"),
    "appeal.partly_upheld": N_("appeal partly upheld"),
    "appeal.rejected": N_("appeal rejected"),
    "photo.received": N_("photo received"),
    "visit.paid_anyway": N_("paid although rejected"),
}


PAY_STATES = {
    "to_approve": N_("to approve"),
    "approved": N_("approved for payment"),
    "paid": N_("paid"),
}
PAY_KINDS = {"fee": N_("Visit fee"), "reimbursement": N_("Purchase reimbursed")}


SHOPPER_STATES = {
    "applicant": N_("applicant"),
    "active": N_("active"),
    "paused": N_("paused"),
    "left": N_("left"),
}


def shopper_state_name(state: str) -> str:
    return gettext(SHOPPER_STATES.get(state, state))


def pay_state_name(state: str) -> str:
    return gettext(PAY_STATES.get(state, state))


def pay_kind_name(kind: str) -> str:
    return gettext(PAY_KINDS.get(kind, kind))


APPEAL_NAMES = {
    "fact_wrong": N_("A fact in the report is wrong"),
    "scenario_not_followed": N_("The scenario was not followed"),
    "staff_not_on_duty": N_("The staff member named was not on duty"),
    "other": N_("Something else"),
    "upheld": N_("upheld"),
    "partly_upheld": N_("partly upheld"),
    "rejected": N_("rejected"),
}
"""An appeal's categories and decisions, as people read them."""


PLAN_STATES = {
    "open": N_("not started"),
    "in_progress": N_("in progress"),
    "done": N_("done"),
    "verified": N_("verified"),
    "cancelled": N_("cancelled"),
}


DAYPARTS = (N_("before 12:00"), N_("12:00 to 17:00"), N_("after 17:00"))
"""The parts of the day the comparison shows (reports.daypart's 0, 1, 2)."""


def weekday_names() -> list[str]:
    """Monday to Sunday in the reader's language."""
    names = get_day_names("wide", locale=current_locale())
    return [names[i] for i in range(7)]


def plan_state_name(state: str) -> str:
    return gettext(PLAN_STATES.get(state, state))


MAIL_CHOICE_NAMES = {
    "now": N_("As it happens"),
    "daily": N_("In a daily digest"),
    "weekly": N_("In a weekly digest"),
    "off": N_("Never"),
}


def mail_choice_name(choice: str) -> str:
    return gettext(MAIL_CHOICE_NAMES.get(choice, choice))


def appeal_name(name: str) -> str:
    return gettext(APPEAL_NAMES.get(name, name))


def audit_name(action: str) -> str:
    """A visit history entry as people read it (never its key)."""
    return gettext(AUDIT_NAMES.get(action, N_("changed")))


def state_name(state: str) -> str:
    return gettext(STATE_NAMES.get(state, state))


# The same words as the shopper's stamp buttons in the app.
STAMP_NAMES = {
    "entered": N_("Entered"),
    "greeted": N_("Greeted"),
    "joined_queue": N_("Joined queue"),
    "served": N_("Served"),
    "paid": N_("Paid"),
    "left": N_("Left"),
}


def stamp_name(stamp: str) -> str:
    return gettext(STAMP_NAMES.get(stamp, stamp))


def format_duration(seconds: float | None) -> str:
    """An interval such as "38 s" or "3 min 05 s"."""
    if seconds is None:
        return "–"
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return gettext("%(s)s s") % {"s": rest}
    return gettext("%(m)s min %(s)s s") % {"m": minutes, "s": f"{rest:02d}"}


def format_waited(seconds: float) -> str:
    """How long something has waited, to the hour: "5 h", "2 d 3 h", "under an hour"."""
    hours = int(seconds // 3600)
    if hours < 1:
        return gettext("under an hour")
    days, hours = divmod(hours, 24)
    if not days:
        return gettext("%(h)s h") % {"h": hours}
    return gettext("%(d)s d %(h)s h") % {"d": days, "h": hours}


WARNING_NAMES = {
    "outside_window": N_("outside its window"),
    "device_clock": N_("phone clock off"),
    "short_visit": N_("very short"),
    "far_from_branch": N_("far from the branch"),
    "photo_reused": N_("photo used twice"),
}


def warning_name(code: str) -> str:
    return gettext(WARNING_NAMES.get(code, code))


def role_name(role: str) -> str:
    return gettext(ROLE_NAMES.get(role, role))


def negotiate(accept_language: str | None) -> str:
    """The best supported language for an Accept-Language header."""
    if not accept_language:
        return DEFAULT
    wanted: list[tuple[float, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip()
        quality = 1.0
        for param in pieces[1:]:
            name, _sep, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            wanted.append((-quality + index * 1e-6, tag))
    for _rank, tag in sorted(wanted):
        try:
            language = Locale.parse(tag.replace("-", "_")).language
        except (ValueError, UnknownLocaleError):
            language = tag.split("-")[0].lower()
        if language == "in":  # the old code for Indonesian
            language = "id"
        if language in SUPPORTED:
            return language
    return DEFAULT


@cache
def _number_pattern(locale: str, pattern: str | None) -> tuple[Locale, NumberPattern]:
    """A locale and a parsed number pattern (None: the locale's own decimal format),
    parsed once per process: Babel's ``format_decimal`` parses both on every call, which
    was an eighth of a 500-branch comparison page."""
    parsed = Locale.parse(locale)
    return parsed, parse_pattern(pattern if pattern is not None else parsed.decimal_formats[None])


def _decimal(value: float, pattern: str | None = None) -> str:
    """``babel.numbers.format_decimal(value, pattern, locale=current_locale())``."""
    return _formatted(current_locale(), pattern, value)


@lru_cache(maxsize=16384)
def _formatted(locale: str, pattern: str | None, value: float) -> str:
    """Reports show the same few numbers again and again (scores 0 to 100, counts): each
    is formatted once per locale and pattern. (1 and 1.0 share an entry: every pattern
    here formats them alike.)"""
    parsed_locale, number_pattern = _number_pattern(locale, pattern)
    return number_pattern.apply(value, parsed_locale)


def format_score(value: float | None) -> str:
    """A score for display: rounded to a whole number in the current locale, or a dash."""
    if value is None:
        return "–"
    return _decimal(round(value))


def format_money(value: float, currency: str, locale: str | None = None) -> str:
    """An amount with its currency, as the reader's language writes it (Rp25.000): every
    digit given is kept (a currency with no minor unit would otherwise round 12.5 to 13)."""
    from babel.numbers import format_currency

    where = locale or current_locale()
    return str(format_currency(value, currency, locale=where, decimal_quantization=False))


def format_number(value: float, digits: int = 0) -> str:
    return _decimal(value, "#,##0" + ("." + "0" * digits if digits else ""))


def zone_name(timezone: str) -> str:
    """A time zone's name in the current language ("Western Indonesia Time")."""
    try:
        now = datetime.now(ZoneInfo(timezone))
    except (KeyError, ValueError):
        return timezone
    return get_timezone_name(now, width="long", locale=current_locale())


def format_points(value: float | None) -> str:
    """Points such as 12 or 7.5: at most two decimals, none when whole."""
    if value is None:
        return "–"
    return _decimal(value, "#,##0.##")


def format_day(value: date | str | None, timezone: str | None = None) -> str:
    """A date; a moment with an offset is first moved to ``timezone`` (a branch's).
    Whatever is stored, this never raises: what it cannot read is shown as it is."""
    if value is None or value == "":
        return ""
    raw = value
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime) and value.tzinfo is not None and timezone:
            value = value.astimezone(ZoneInfo(timezone))
        return _format_date(value, format="medium", locale=current_locale())
    except (ValueError, OverflowError, KeyError):
        return str(raw)


def format_moment(value: datetime | str | None, timezone: str = "UTC") -> str:
    """A moment in a place's time zone, e.g. a visit in its branch's local time.
    Never raises: what it cannot read or move to the zone is shown as it is."""
    if value is None or value == "":
        return ""
    raw = value
    try:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return _format_datetime(
            value, format="medium", tzinfo=ZoneInfo(timezone), locale=current_locale()
        )
    except (ValueError, OverflowError, KeyError):
        return str(raw)
