"""A shopper's profile as a form or an import row gives it: each field read and checked
(the one place), with what is wrong said in the reader's language."""

from __future__ import annotations

import re
from typing import Any

from .i18n import _

STATES = ("applicant", "active", "paused", "left")
PHONE = re.compile(r"[0-9+()\-. ]{3,40}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
MAX_TEXT = 120
MAX_NOTE = 2000


def _text(form: dict[str, str], name: str, limit: int = MAX_TEXT) -> str | None:
    return " ".join(form.get(name, "").split())[:limit] or None


def _coordinate(text: str, bound: float) -> float | None:
    """A latitude or longitude as typed (a decimal comma too), ValueError when not one."""
    value = float(text.strip().replace(",", "."))
    if not -bound <= value <= bound:
        raise ValueError(text)
    return value


def read(form: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A shopper's profile as a form (or an import row) gives it, and what is wrong."""
    problems: list[str] = []
    state = form.get("state", "active") or "active"
    if state not in STATES:
        problems.append(_("Choose the shopper's state: applicant, active, paused or left."))
    phone = _text(form, "phone", 40)
    if phone and not PHONE.fullmatch(phone):
        problems.append(_("Give the phone number with digits, spaces and + ( ) - only."))
    codes = [c for c in re.split(r"[,\s]+", form.get("languages", "").strip().lower()) if c]
    if len(codes) > 10 or not all(LANGUAGE.fullmatch(c) for c in codes):
        problems.append(_("Give the languages as codes of two or three letters, such as id, en."))
    lat_text, lon_text = form.get("home_lat", "").strip(), form.get("home_lon", "").strip()
    lat = lon = None
    if lat_text or lon_text:
        try:
            lat, lon = _coordinate(lat_text, 90), _coordinate(lon_text, 180)
        except ValueError:
            problems.append(
                _("Give the home's latitude (−90 to 90) and longitude (−180 to 180), or neither.")
            )
    return {
        "state": state,
        "phone": phone,
        "languages": ",".join(dict.fromkeys(codes)) or None,
        "home_city": _text(form, "home_city"),
        "home_region": _text(form, "home_region"),
        "home_lat": lat,
        "home_lon": lon,
        "note": (form.get("note", "").strip()[:MAX_NOTE] or None),
    }, problems
