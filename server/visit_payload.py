"""The visit the app sends (``PUT /api/v1/visits/{id}``): checked field by field.

:func:`parse` checks the shape and answers a :class:`VisitPayload` or every problem with
its path; :func:`check_against` then checks the answers against the questionnaire
version. Messages are translated; paths are the JSON paths of the request body.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from . import conditions, timing
from .i18n import _, current_locale, stamp_name
from .photos import FORMATS
from .question_types import MAX_TEXT, TYPES
from .questionnaire import STAMPS, Definition, Problem, is_required, iter_questions, localized
from .scoring import parse_stamp

MAX_PHOTOS = 60
MAX_COMMENT = MAX_TEXT
CONTENT_TYPES = frozenset(FORMATS.values())
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOP_LEVEL = frozenset(
    {
        "assignment_id",
        "questionnaire",
        "revision",
        "started_at",
        "ended_at",
        "stamps",
        "answers",
        "comment",
        "geo",
        "photos",
    }
)


@dataclass(frozen=True)
class PhotoEntry:
    photo_id: str
    question: str | None
    sha256: str
    bytes: int
    content_type: str
    captured_at: str | None = None  # the phone's word, used when the photo has no EXIF time


@dataclass(frozen=True)
class VisitPayload:
    assignment_id: int
    questionnaire_id: str
    questionnaire_version: int
    revision: int
    started_at: str
    ended_at: str | None
    stamps: dict[str, str]
    answers: dict[str, Any]
    comment: str
    geo: dict[str, float] | None
    photos: tuple[PhotoEntry, ...]
    body: dict[str, Any]
    content_hash: str

    @property
    def started_utc(self) -> str:
        moment = parse_stamp(self.started_at)
        assert moment is not None
        return moment.astimezone(UTC).isoformat()


def canonical_hash(body: dict[str, Any]) -> str:
    """SHA-256 of the body in canonical JSON: a retry hashes the same, any change not."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse(body: dict[str, Any], max_photo_bytes: int) -> tuple[VisitPayload | None, list[Problem]]:
    """The payload's shape: types, ranges, stamps, geo and the photo manifest."""
    problems: list[Problem] = []
    add = problems.append
    for key in sorted(set(body) - _TOP_LEVEL):
        add(Problem(key, _("unknown field")))
    assignment_id = body.get("assignment_id")
    if not _is_int(assignment_id) or assignment_id < 1:
        add(Problem("assignment_id", _("must be an assignment number")))
    questionnaire = body.get("questionnaire")
    if not (
        isinstance(questionnaire, dict)
        and isinstance(questionnaire.get("id"), str)
        and _is_int(questionnaire.get("version"))
    ):
        add(Problem("questionnaire", _('must be {"id": text, "version": number}')))
        questionnaire = {}
    revision = body.get("revision")
    if not _is_int(revision) or revision < 1:
        add(Problem("revision", _("must be a whole number of at least 1")))
    started = body.get("started_at")
    if parse_stamp(started) is None:
        add(Problem("started_at", _("must be a date and time with its UTC offset")))
    ended = body.get("ended_at")
    if ended is not None:
        start_moment, end_moment = parse_stamp(started), parse_stamp(ended)
        if end_moment is None:
            add(Problem("ended_at", _("must be a date and time with its UTC offset")))
        elif start_moment is not None and end_moment < start_moment:
            add(Problem("ended_at", _("must not be before started_at")))
    stamps = body.get("stamps", {})
    if not isinstance(stamps, dict):
        add(Problem("stamps", _("must be an object")))
        stamps = {}
    for name, value in stamps.items():
        if name not in STAMPS:
            add(Problem(f"stamps.{name}", _("unknown stamp")))
        elif parse_stamp(value) is None:
            add(Problem(f"stamps.{name}", _("must be a date and time with its UTC offset")))
    answers = body.get("answers", {})
    if not isinstance(answers, dict):
        add(Problem("answers", _("must be an object")))
        answers = {}
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        add(Problem("comment", _("must be text of at most %(n)d characters") % {"n": MAX_COMMENT}))
    geo = body.get("geo")
    if geo is not None:
        if not isinstance(geo, dict):
            add(Problem("geo", _("must be an object")))
        else:
            for name, low, high in (("lat", -90, 90), ("lon", -180, 180), ("accuracy_m", 0, 1e7)):
                value = geo.get(name)
                if name == "accuracy_m" and value is None:
                    continue
                if not _is_number(value) or not low <= value <= high:
                    add(
                        Problem(
                            f"geo.{name}",
                            _("must be a number from %(low)s to %(high)s")
                            % {"low": low, "high": int(high)},
                        )
                    )
            for name in sorted(set(geo) - {"lat", "lon", "accuracy_m"}):
                add(Problem(f"geo.{name}", _("unknown field")))
    entries = _parse_photos(body.get("photos", []), max_photo_bytes, problems)
    if problems:
        return None, problems
    assert isinstance(assignment_id, int) and isinstance(revision, int)
    return VisitPayload(
        assignment_id=assignment_id,
        questionnaire_id=questionnaire["id"],
        questionnaire_version=questionnaire["version"],
        revision=revision,
        started_at=started,
        ended_at=ended,
        stamps=stamps,
        answers=answers,  # type: ignore[arg-type]
        comment=comment,
        geo=geo,
        photos=tuple(entries),
        body=body,
        content_hash=canonical_hash(body),
    ), []


def _parse_photos(raw: object, max_bytes: int, problems: list[Problem]) -> list[PhotoEntry]:
    if not isinstance(raw, list) or len(raw) > MAX_PHOTOS:
        problems.append(
            Problem("photos", _("must be a list of at most %(n)d photos") % {"n": MAX_PHOTOS})
        )
        return []
    entries: list[PhotoEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"photos[{i}]"
        if not isinstance(item, dict):
            problems.append(Problem(path, _("must be an object")))
            continue
        before = len(problems)
        photo_id = item.get("photo_id")
        if not is_uuid(photo_id):
            problems.append(Problem(f"{path}.photo_id", _("must be a UUID in lower case")))
        elif photo_id in seen:
            problems.append(Problem(f"{path}.photo_id", _("is listed twice")))
        question = item.get("question")
        if question is not None and not isinstance(question, str):
            problems.append(Problem(f"{path}.question", _("must be a question key or null")))
        sha = item.get("sha256")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            problems.append(Problem(f"{path}.sha256", _("must be 64 lower-case hex digits")))
        size = item.get("bytes")
        if not _is_int(size) or size < 1:
            problems.append(Problem(f"{path}.bytes", _("must be a whole number above 0")))
        elif size > max_bytes:
            problems.append(
                Problem(
                    f"{path}.bytes",
                    _("is over the limit of %(mb)s MB") % {"mb": round(max_bytes / 1_000_000, 1)},
                )
            )
        content_type = item.get("content_type")
        if not isinstance(content_type, str) or content_type not in CONTENT_TYPES:
            problems.append(
                Problem(f"{path}.content_type", _("must be image/jpeg, image/png or image/webp"))
            )
        captured = item.get("captured_at")
        if captured is not None and parse_stamp(captured) is None:
            problems.append(
                Problem(f"{path}.captured_at", _("must be a date and time with its UTC offset"))
            )
        known = {"photo_id", "question", "sha256", "bytes", "content_type", "captured_at"}
        for name in sorted(set(item) - known):
            problems.append(Problem(f"{path}.{name}", _("unknown field")))
        if len(problems) == before:
            seen.add(photo_id)  # type: ignore[arg-type]
            entries.append(
                PhotoEntry(
                    photo_id,
                    question,
                    sha,
                    size,  # type: ignore[arg-type]
                    item["content_type"],
                    captured,
                )
            )
    return entries


CLOCK_AHEAD = timedelta(days=1)
"""How far a phone's clock may run ahead of the server's (time zones set wrongly)."""
BEFORE_ASSIGNMENT = timedelta(days=31)
"""How long before its assignment existed (or its window opened, if earlier) a visit
may have started: room for a phone's clock, not for a reset one."""


def _times(payload: VisitPayload) -> list[tuple[str, str]]:
    found = [("started_at", payload.started_at)]
    if payload.ended_at is not None:
        found.append(("ended_at", payload.ended_at))
    found += [(f"stamps.{name}", value) for name, value in payload.stamps.items()]
    found += [
        (f"photos[{i}].captured_at", entry.captured_at)
        for i, entry in enumerate(payload.photos)
        if entry.captured_at is not None
    ]
    return found


def check_times(
    payload: VisitPayload, window_start: str, created_at: str, now: datetime
) -> list[Problem]:
    """Every time the phone sent lies between a month before the assignment existed (or
    its window opened, if earlier) and a day after the server's clock: a visit from the
    far past or future is a phone whose clock is wrong, and reports would file it under
    a day that never was."""
    opened = datetime.combine(date.fromisoformat(window_start), time(), UTC)
    created = parse_stamp(created_at)
    earliest = min(opened, created or opened) - BEFORE_ASSIGNMENT
    latest = now + CLOCK_AHEAD
    problems: list[Problem] = []
    for path, raw in _times(payload):
        moment = parse_stamp(raw)
        assert moment is not None, "parse() checked every time"
        if moment > latest:
            problems.append(Problem(path, _("is in the future: check the phone's date and time")))
        elif moment < earliest:
            problems.append(
                Problem(
                    path,
                    _("is long before this assignment's window (%(start)s)")
                    % {"start": window_start},
                )
            )
    return problems


def _check_answer(q: dict[str, Any], answer: object, path: str, problems: list[Problem]) -> bool:
    """Check one answer; answers whether it counts as answered (a value or N/A)."""
    add = problems.append
    if not isinstance(answer, dict):
        add(Problem(path, _("must be an object")))
        return False
    for name in sorted(set(answer) - {"value", "na", "comment", "never"}):
        add(Problem(f"{path}.{name}", _("unknown field")))
    if "never" in answer:
        if answer["never"] is not True:
            add(Problem(f"{path}.never", _("must be true when given")))
        elif q["type"] != "timed":
            add(Problem(f"{path}.never", _("only a timed question can say it never happened")))
        elif "na" in answer or "value" in answer:
            add(Problem(path, _("give either never or N/A, not both")))
        return True
    comment = answer.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        add(
            Problem(
                f"{path}.comment",
                _("must be text of at most %(n)d characters") % {"n": MAX_COMMENT},
            )
        )
    if "na" in answer:
        if answer["na"] is not True:
            add(Problem(f"{path}.na", _("must be true when given")))
        elif not q.get("na", False):
            add(Problem(f"{path}.na", _("this question cannot be answered N/A")))
        elif "value" in answer:
            add(Problem(path, _("give either a value or N/A, not both")))
        return True
    kind = TYPES[q["type"]]
    if "value" not in answer:
        if not kind.takes_value:  # timed and photo questions: stamps and photos carry them
            return False
        add(Problem(f"{path}.value", _("is missing")))
        return False
    problem = kind.value_problem(q, answer["value"])
    if problem is not None:
        add(Problem(f"{path}.value", problem))
    return True


def timing_problems(
    stamps: dict[str, Any],
    answers: dict[str, Any],
    definition: Definition,
    scenario: str | None = None,
) -> list[Problem]:
    """timing.problems() with messages for people."""
    out = []
    for found in timing.problems(stamps, answers, definition, scenario):
        if found["code"] == "out_of_order":
            message = _("is before %(stamp)s: check the times on the timing screen") % {
                "stamp": stamp_name(found["before"])
            }
        else:
            message = _("%(stamp)s is not stamped: stamp it, or say it never happened") % {
                "stamp": stamp_name(found["stamp"])
            }
        out.append(Problem(found["path"], message))
    return out


def check_against(
    payload: VisitPayload, definition: Definition, scenario: str | None = None
) -> list[Problem]:
    """The answers and photos against the questionnaire version: every problem. Answers
    to questions the visit does not ask (their ``show_if`` does not hold) are not
    checked: they are not kept (:func:`conditions.asked_only`)."""
    problems: list[Problem] = []
    questions = {q["key"]: q for _s, q in iter_questions(definition)}
    asked = conditions.visible(definition, payload.answers, scenario)
    answered: set[str] = set()
    for key, answer in payload.answers.items():
        q = questions.get(key)
        if q is None:
            problems.append(Problem(f"answers.{key}", _("unknown question")))
        elif key in asked and _check_answer(q, answer, f"answers.{key}", problems):
            answered.add(key)
    photo_questions: set[str] = set()
    for i, entry in enumerate(payload.photos):
        if entry.question is not None:
            if entry.question not in questions:
                problems.append(Problem(f"photos[{i}].question", _("unknown question")))
            photo_questions.add(entry.question)
    problems += timing_problems(payload.stamps, payload.answers, definition, scenario)
    for key, message in conditions.broken_rules(definition, payload.answers, scenario):
        if key in answered:  # its value fits the question; the rule says it is not right
            problems.append(Problem(f"answers.{key}", localized(message, current_locale())))
    for key, q in questions.items():
        if not is_required(q) or key not in asked or q["type"] == "timed":
            continue  # timed: checked with the stamps
        if q["type"] == "photo":
            if key not in photo_questions:
                problems.append(Problem(f"answers.{key}", _("a photo is required")))
        elif key not in answered:
            problems.append(Problem(f"answers.{key}", _("an answer or N/A is required")))
    return problems
