"""How a visit's answers and event stamps are kept at rest: each fact once, in few bytes,
and given back exactly as the phone sent it.

- Answers: an answer that is only a value (``{"value": true}``) is kept as the value
  (``true``); any other answer (N/A, "never happened", a comment, a count pair's
  ``{"value": {"open": 2, "total": 5}}``) is kept whole. A kept value is never an object,
  so reading tells the two apart.
- Stamps: a stamp in whole seconds at the visit's own UTC offset is kept as the seconds
  since the visit started (``"greeted": 10``); any other (another offset, fractions of a
  second) is kept as the text it came as. Reading makes the same text again; a stamp is
  only shortened when it reads back identical.

The stored text is compact JSON. Rows written before migration 0014 (answers and stamps
whole) read the same.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any


def compact_json(value: Any) -> str:
    """JSON as stored: no spaces, UTF-8 as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def pack_answers(answers: dict[str, Any]) -> str:
    return compact_json(
        {
            key: answer["value"]
            if isinstance(answer, dict)
            and set(answer) == {"value"}
            and not isinstance(answer["value"], dict)
            else answer
            for key, answer in answers.items()
        }
    )


def unpack_answers(text: str) -> dict[str, Any]:
    kept: dict[str, Any] = json.loads(text)
    return {
        key: value if isinstance(value, dict) else {"value": value} for key, value in kept.items()
    }


def _start(started_at: str | None) -> datetime | None:
    if not started_at:
        return None
    try:
        start = datetime.fromisoformat(started_at)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


def pack_stamps(stamps: dict[str, Any], started_at: str | None) -> str:
    start = _start(started_at)
    kept: dict[str, Any] = {}
    for key, stamp in stamps.items():
        kept[key] = stamp
        if start is None or not isinstance(stamp, str):
            continue
        try:
            moment = datetime.fromisoformat(stamp)
        except ValueError:
            continue
        if moment.tzinfo is None:
            continue
        seconds = (moment - start).total_seconds()
        if seconds == int(seconds) and _stamp_text(start, int(seconds)) == stamp:
            kept[key] = int(seconds)
    return compact_json(kept)


def _stamp_text(start: datetime, seconds: int) -> str:
    return (start + timedelta(seconds=seconds)).isoformat()


def unpack_stamps(text: str, started_at: str | None) -> dict[str, Any]:
    kept: dict[str, Any] = json.loads(text)
    start = _start(started_at)
    return {
        key: _stamp_text(start, value)
        if start is not None and isinstance(value, int) and not isinstance(value, bool)
        else value
        for key, value in kept.items()
    }
