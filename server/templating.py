"""Jinja2 with the i18n extension. Templates in ``<data-dir>/templates`` override ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from . import auth, condition_edit, i18n, money, notices, question_types, reports
from .questionnaire import localized

TEMPLATES_DIR = Path(__file__).parent / "templates"


def _condition_ops() -> list[tuple[str, str]]:
    """The editor's comparisons, in the reader's language (condition_edit.OPS)."""
    return [(op, i18n.gettext(label)) for op, label in condition_edit.OPS.items()]


def make_templates(override_dir: Path | None = None) -> Jinja2Templates:
    loaders: list[jinja2.BaseLoader] = []
    if override_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(override_dir)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES_DIR)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.filters["score"] = i18n.format_score
    env.filters["number"] = i18n.format_number
    env.filters["day"] = i18n.format_day
    env.filters["points"] = i18n.format_points
    env.filters["moment"] = i18n.format_moment
    env.filters["localized"] = lambda texts: localized(texts, i18n.current_locale())
    env.globals["LANGUAGE_NAMES"] = i18n.LANGUAGE_NAMES
    env.globals["role_name"] = i18n.role_name
    env.globals["state_name"] = i18n.state_name
    env.globals["job_state_name"] = i18n.job_state_name
    env.globals["job_kind_name"] = i18n.job_kind_name
    env.globals["delivery_state_name"] = i18n.delivery_state_name
    env.globals["webhook_event_name"] = i18n.webhook_event_name
    env.globals["duration"] = i18n.format_duration
    env.globals["question_type_name"] = question_types.type_name
    env.globals["question_scored"] = lambda kind: kind in question_types.SCORED_TYPES
    env.globals["condition_ops"] = _condition_ops
    env.globals["stamp_name"] = i18n.stamp_name
    env.globals["zone_name"] = i18n.zone_name
    env.globals["audit_name"] = i18n.audit_name
    env.globals["appeal_name"] = i18n.appeal_name
    env.globals["mail_choice_name"] = i18n.mail_choice_name
    env.globals["plan_state_name"] = i18n.plan_state_name
    env.globals["pay_state_name"] = i18n.pay_state_name
    env.globals["warning_name"] = i18n.warning_name
    env.globals["shopper_state_name"] = i18n.shopper_state_name
    env.globals["waited"] = i18n.format_waited
    env.globals["pay_kind_name"] = i18n.pay_kind_name
    env.globals["amount"] = lambda minor, currency: money.format_amount(
        minor, currency, i18n.current_locale()
    )
    env.globals["small_sample"] = reports.small_sample
    env.globals["SMALL_SAMPLE"] = reports.SMALL_SAMPLE
    env.globals["BIG_GAP"] = reports.BIG_GAP
    return Jinja2Templates(env=env)


async def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with what every page needs: user, language, CSRF token."""
    templates: Jinja2Templates = request.app.state.templates
    user = await auth.current_user(request)
    full = {
        "user": user,
        "locale": i18n.current_locale(),
        "csrf_token": auth.csrf_token(request),
        "csrf_field": auth.CSRF_FIELD,
        "said": notices.said(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, name, full, status_code=status_code, headers=headers
    )
    response.headers.setdefault("cache-control", "no-store")
    auth.set_csrf_cookie(request, response)
    return response  # type: ignore[return-value]
