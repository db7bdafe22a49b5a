"""JSON from outside (request bodies, uploaded files): parsed once, with the limits every
reader of it relies on.

Python's ``json`` accepts what nothing after it can store or show: ``NaN`` and
``Infinity``, strings with lone surrogates (``"\\ud800"``, which UTF-8 cannot encode, so
SQLite and hashing fail later), nesting deep enough to exhaust the stack, and integers
beyond SQLite's 64 bits. :func:`parse` refuses all of them up front with a reason.
"""

from __future__ import annotations

import json
from typing import Any

from .i18n import N_

MAX_DEPTH = 32
MAX_INT = 2**63 - 1
"""The largest integer SQLite stores; every id and count fits well below it."""


class BadJson(ValueError):
    """Not JSON we accept; ``reason`` says why (a message id: show it with ``_()``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NOT_JSON = N_("it is not valid JSON")
TOO_DEEP = N_("it is nested too deeply")
BAD_TEXT = N_("it has text with an invalid character")
TOO_LARGE = N_("it has a number that is too large")
NOT_A_NUMBER = N_("it has NaN or Infinity, which are not JSON numbers")


def _no_constants(name: str) -> Any:
    raise BadJson(NOT_A_NUMBER)


def _check(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BadJson(TOO_DEEP)
    if isinstance(value, str):
        if not is_clean_text(value):
            raise BadJson(BAD_TEXT)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise BadJson(TOO_LARGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, depth + 1)
            _check(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check(item, depth + 1)


def is_clean_text(text: str) -> bool:
    """Text that encodes as UTF-8 (no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse(raw: bytes | str) -> Any:
    """The JSON document in ``raw``; :class:`BadJson` when it is not one we accept."""
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except BadJson:
        raise
    except RecursionError as exc:
        raise BadJson(TOO_DEEP) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJson(NOT_JSON) from exc
    _check(value, 0)
    return value
