"""Report filters from the query string. Bad values are ignored with a note to show."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from .. import zones
from ..i18n import _

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def months_back(month: str, count: int) -> str:
    """The month ``count`` months before ``month`` (negative: after)."""
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    out, current = [], first
    while current <= last and len(out) < 240:
        out.append(current)
        current = months_back(current, -1)
    return out


def period(
    params: QueryParams, known_months: list[str], timezone: str, span: int = 6
) -> tuple[str, str, list[str]]:
    """(from, to, notes): the asked months, or the last ``span`` months with data (or up
    to this month at the place whose zone is ``timezone``, when there is none)."""
    notes: list[str] = []
    latest = known_months[-1] if known_months else zones.today_in(timezone).strftime("%Y-%m")
    month_to, month_from = latest, months_back(latest, span - 1)
    for name in ("from", "to"):
        value = params.get(name)
        if not value:
            continue
        if MONTH.fullmatch(value):
            month_from, month_to = (value, month_to) if name == "from" else (month_from, value)
        else:
            notes.append(
                _("Ignored the period filter %(value)r: use a month such as 2026-05.")
                % {"value": value}
            )
    if month_from > month_to:
        notes.append(_("The period was reversed; showing it the right way round."))
        month_from, month_to = month_to, month_from
    return month_from, month_to, notes


def export_period(params: QueryParams) -> tuple[str, str | None]:
    """An export's optional period, ``?from=2026-01&to=2026-03`` (months at the branch):
    (first day, the day after the last, None for no end). Without them: everything. A
    download has nowhere to show a note, so a bad month is refused (ValueError)."""
    months = []
    for name in ("from", "to"):
        value = params.get(name) or None
        if value is not None and not MONTH.fullmatch(value):
            raise ValueError(name)
        months.append(value)
    first, last = months
    if first and last and first > last:
        first, last = last, first
    return (f"{first}-01" if first else ""), (f"{months_back(last, -1)}-01" if last else None)


def page_number(params: Mapping[str, str]) -> int:
    """``?page=`` of a list fifty a page: 1 when missing or unreadable."""
    text = params.get("page", "1") or "1"
    return int(text) if text.isdigit() and 0 < int(text) < 10**6 else 1


def kept_query(kept: Mapping[str, Any]) -> Callable[..., str]:
    """The query string of a list's filters (those set), with changes such as page=2."""
    return lambda **changes: urlencode(
        {k: v for k, v in {**kept, **changes}.items() if v not in (None, "")}
    )
