"""``/admin/programme``: programme settings for the agency (review on or off, visits
before their window, appeals, targets, what a low score does to action plans)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import auth, money
from ..db import Database
from ..errors import ApiError
from ..i18n import _, current_locale
from ..queries import action_plans, programme
from ..questionnaire import localized
from ..settings import Settings
from ..templating import render


async def settings_page(request: Request) -> Response:
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    review = await programme.review_required(db, settings.review_required)
    early = await programme.early_visits(db)
    days = await programme.appeal_days(db)
    sections = await action_plans.sections_to_plan_for(db)
    return await render(
        request,
        "programme.html",
        {
            "review_required": review,
            "early_visits": early,
            "appeal_days": days,
            "plans": await programme.plans(db),
            "name": await programme.name(db),
            "currency": await programme.currency(db),
            "review_hours": await programme.review_hours(db),
            "targets": await programme.targets(db),
            "target_sections": [
                (key, localized(titles, current_locale())) for key, titles in sections.items()
            ],
        },
    )


def _mark(text: str) -> float | None:
    """A pass mark typed in the form: empty for none, else 0–100 (ValueError otherwise)."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    value = float(text)
    if not 0 <= value <= 100:
        raise ValueError(text)
    return int(value) if value.is_integer() else value


async def settings_submit(request: Request) -> Response:
    """Each setting the form sends is checked, then all are saved in one transaction; a
    setting the form leaves out keeps its value."""
    form = await auth.checked_form(request)  # forms check their token before anything else
    user = auth.require(await auth.current_user(request), "programme.manage")
    review = form.get("review_required")
    early = form.get("early_visits")
    plans = form.get("plans")
    days_text = form.get("appeal_days")
    marks = {k: str(v) for k, v in form.items() if k.startswith("target_")}
    title = form.get("name")
    hours_text = form.get("review_hours")
    hours: int | None = None
    if hours_text is not None:
        text = str(hours_text).strip()
        if not text.isdigit() or not 1 <= int(text) <= programme.REVIEW_HOURS_MAX:
            raise ApiError(
                422,
                "invalid",
                _("Give the review deadline as a number of hours from 1 to %(max)s.")
                % {"max": programme.REVIEW_HOURS_MAX},
            )
        hours = int(text)
    currency = form.get("currency")
    if currency is not None:
        currency = str(currency).strip().upper()
        if not money.is_currency(currency):
            raise ApiError(
                422, "invalid", _("Give the currency as its code of three letters, such as IDR.")
            )
    if title is not None:
        title = " ".join(str(title).split())
        if len(title) > programme.NAME_MAX:
            raise ApiError(
                422,
                "invalid",
                _("Keep the programme's name under %(n)s characters.") % {"n": programme.NAME_MAX},
            )
    if (
        review is None
        and early is None
        and plans is None
        and days_text is None
        and not marks
        and title is None
        and currency is None
        and hours is None
    ):
        raise ApiError(422, "invalid", _("Choose a setting to change."))
    days: int | None = None
    if days_text is not None:
        text = str(days_text).strip()
        if not text.isdigit() or int(text) > programme.APPEAL_DAYS_MAX:
            raise ApiError(
                422,
                "invalid",
                _("Give the appeal period as a number of days from 0 to %(max)s.")
                % {"max": programme.APPEAL_DAYS_MAX},
            )
        days = int(text)
    if review is not None and review not in ("on", "off"):
        raise ApiError(422, "invalid", _("Choose whether visits wait for review."))
    if early is not None and early not in programme.EARLY_VISITS:
        raise ApiError(
            422, "invalid", _("Choose what happens to a visit started before its window.")
        )
    if plans is not None and plans not in programme.PLANS:
        raise ApiError(422, "invalid", _("Choose what a visit below target does to action plans."))
    db: Database = request.app.state.db
    goals: tuple[float | None, dict[str, float]] | None = None
    if marks:
        known = await action_plans.sections_to_plan_for(db)
        try:
            total = _mark(marks.pop("target_total", ""))
            by_section = {
                key[len("target_section_") :]: _mark(text)
                for key, text in marks.items()
                if key.startswith("target_section_")
            }
        except ValueError as exc:
            raise ApiError(
                422, "invalid", _("A target is a score from 0 to 100, or empty for none.")
            ) from exc
        if not set(by_section) <= set(known):
            raise ApiError(422, "invalid", _("A target names a section no questionnaire has."))
        goals = (total, {k: v for k, v in by_section.items() if v is not None})
    async with db.transaction() as tx:
        if goals is not None:
            await programme.set_targets(tx, goals[0], goals[1], user.id)
        if title is not None:
            await programme.set_name(tx, title, user.id)
        if currency is not None:
            await programme.set_currency(tx, currency, user.id)
        if hours is not None:
            await programme.set_review_hours(tx, hours, user.id)
        if review is not None:
            await programme.set_review_required(tx, review == "on", user.id)
        if early is not None:
            await programme.set_early_visits(tx, str(early), user.id)
        if days is not None:
            await programme.set_appeal_days(tx, days, user.id)
        if plans is not None:
            await programme.set_plans(tx, str(plans), user.id)
    return RedirectResponse("/admin/programme", status_code=303)
