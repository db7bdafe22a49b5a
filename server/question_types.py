"""The question types: one class each, registered in :data:`TYPES`.

A type owns everything that differs from one kind of question to another: what its
definition must hold (:meth:`QuestionType.check_definition`), which answers fit
(:meth:`~QuestionType.value_problem`, the one answer check the API and the scoring
share), what an answer is worth and the best it can be worth, an answer as a person
says it, the editor's defaults and fields, and how the owner's self-assessment form
offers and reads it. Everything else (keys, texts, weights, N/A, comments, critical
questions) is the same for every type and lives in :mod:`server.questionnaire`,
:mod:`server.visit_payload` and :mod:`server.scoring`, which call the type for the rest.

Adding a type: one class here, its entry in the editor's and preview's partials
(``templates/questionnaire_edit.html``), one control in the app (``pwa/visit.js``),
the catalogs, and docs/questionnaire-format.md. ``tests/test_question_types.py`` runs
the same contract over every registered type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from .i18n import N_, _, format_money, gettext
from .texts import Problem, check_texts, localized

Question = dict[str, Any]

STAMPS = ("entered", "greeted", "joined_queue", "served", "paid", "left")
"""The moments a shopper stamps during a visit, in the order they happen."""
MAX_TEXT = 5000
"""The longest text answer or comment, in characters."""
MAX_MONEY = 1_000_000_000
"""The largest amount a money question takes (in the currency's units)."""
LONGER = "longer"
"""The self-assessment's answer "longer than every threshold" to a timed question."""


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _first(form: Mapping[str, list[str]], name: str) -> str:
    found = form.get(name) or [""]
    return found[0]


def _form_number(text: str) -> float | int:
    """A number typed in a form ("12", "12.5", "12,5"); ValueError when it is none."""
    cleaned = text.strip().replace(",", ".")
    number = float(cleaned)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return int(number) if number.is_integer() and "." not in cleaned else number


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class EditorForm(Protocol):
    """What the questionnaire editor (:mod:`server.questionnaire_edit`) lends a type to
    read its own fields from a submitted form; each method raises the editor's error
    with a message for the person editing."""

    form: Mapping[str, str]

    def number(
        self, raw: object, label: str, low: float | None = None, high: float | None = None
    ) -> float: ...

    def rows(self, prefix: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
        """The form's numbered rows (``option_key_0``, ``option_text_0_en``, …): each
        field's text, stripped, and ``texts``, the row's texts by language."""
        ...

    def english(self, texts: dict[str, str]) -> dict[str, str]:
        """``texts``, refused without an English one."""
        ...

    def refuse(self, message: str) -> None: ...


class QuestionType:
    name: ClassVar[str]
    label: ClassVar[str]
    """The type's name in the editor (a message id: translate with gettext)."""
    scored: ClassVar[bool] = False
    takes_value: ClassVar[bool] = True
    """False for types answered otherwise: a timed question by two stamps, a photo
    question by its photos."""

    def check_definition(self, q: Question, path: str, problems: list[Problem]) -> None:
        """Add a problem for each thing the type's own fields get wrong."""

    def value_problem(self, q: Question, value: object) -> str | None:
        """Why ``value`` is not an answer to ``q`` (a message for people), or None."""
        return None if self.takes_value else _("this question takes no value")

    def value(self, q: Question, value: Any) -> float:
        """What a fitting answer earns before weighting (scored types: 0 to the best)."""
        raise ValueError(f"{q['key']}: a {self.name} question takes no scored answer")

    def best(self, q: Question) -> float:
        """The value of the best possible answer."""
        return 1.0 if self.scored else 0.0

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        """A given answer as a person would say it, in the reader's language."""
        return str(value)

    def defaults(self) -> dict[str, Any]:
        """What a new question of this type needs to be valid, with sensible values."""
        return {}

    def edit(self, q: Question, editor: EditorForm) -> None:
        """Read the type's own fields from the editor's form into ``q``."""

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        """(form value, label) for the owner's self-assessment; none: not asked there."""
        return []

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        """An answer value from a reviewer's correction form (field ``value``, several
        for several choices; ``open`` and ``total`` for a count pair). ValueError when
        it cannot be read; :meth:`value_problem` then checks what was read."""
        return _first(form, "value").strip()

    def from_self(self, q: Question, chosen: str, start: Any) -> tuple[Any, dict[str, str]]:
        """A self-assessment choice as (answer value, stamps); ``start`` dates stamps."""
        return chosen, {}

    def to_self(self, q: Question, answer: dict[str, Any] | None, stamps: dict[str, str]) -> str:
        """The self-assessment choice that gives back an answer ('' for none)."""
        if not answer or "value" not in answer:
            return ""
        return str(answer["value"])


class YesNo(QuestionType):
    name = "yes_no"
    label = N_("Yes or no")
    scored = True

    def value_problem(self, q: Question, value: object) -> str | None:
        return None if isinstance(value, bool) else _("must be true or false")

    def value(self, q: Question, value: Any) -> float:
        return float(value != bool(q.get("inverse", False)))

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        return _("Yes") if value else _("No")

    def edit(self, q: Question, editor: EditorForm) -> None:
        if editor.form.get("inverse"):
            q["inverse"] = True

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        return [("true", _("Yes")), ("false", _("No"))]

    def from_self(self, q: Question, chosen: str, start: Any) -> tuple[Any, dict[str, str]]:
        return chosen == "true", {}

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return {"true": True, "false": False}[_first(form, "value")]

    def to_self(self, q: Question, answer: dict[str, Any] | None, stamps: dict[str, str]) -> str:
        if not answer or "value" not in answer:
            return ""
        return "true" if answer["value"] else "false"


class Scale(QuestionType):
    name = "scale"
    label = N_("Scale")
    scored = True

    def check_definition(self, q: Question, path: str, problems: list[Problem]) -> None:
        lo, hi = q.get("min"), q.get("max")
        if not (is_number(lo) and is_number(hi)) or lo >= hi:  # type: ignore[operator]
            problems.append(Problem(f"{path}.min", _("a scale needs numbers min < max")))

    def value_problem(self, q: Question, value: object) -> str | None:
        if is_number(value) and q["min"] <= value <= q["max"]:  # type: ignore[operator]
            return None
        return _("must be a number from %(low)s to %(high)s") % {"low": q["min"], "high": q["max"]}

    def value(self, q: Question, value: Any) -> float:
        lo, hi = float(q["min"]), float(q["max"])
        return (float(value) - lo) / (hi - lo)

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        return _("%(value)s of %(max)s") % {"value": value, "max": q["max"]}

    def defaults(self) -> dict[str, Any]:
        return {"min": 0, "max": 4}

    def edit(self, q: Question, editor: EditorForm) -> None:
        q["min"] = editor.number(editor.form.get("min"), _("Lowest answer"))
        q["max"] = editor.number(editor.form.get("max"), _("Highest answer"))
        if q["min"] >= q["max"]:
            editor.refuse(_("The highest answer must be above the lowest."))

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        return [(str(v), str(v)) for v in range(int(q["min"]), int(q["max"]) + 1)]

    def from_self(self, q: Question, chosen: str, start: Any) -> tuple[Any, dict[str, str]]:
        return int(chosen), {}

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return _form_number(_first(form, "value"))


class Choice(QuestionType):
    name = "choice"
    label = N_("Choice")
    scored = True

    low: ClassVar[float] = 0.0
    """The lowest value an option may have."""

    def check_definition(self, q: Question, path: str, problems: list[Problem]) -> None:
        options = q.get("options")
        if not isinstance(options, list) or len(options) < 2:
            problems.append(Problem(f"{path}.options", _("a choice needs at least two options")))
            return
        keys: set[str] = set()
        for i, option in enumerate(options):
            opath = f"{path}.options[{i}]"
            if not isinstance(option, dict) or not isinstance(option.get("key"), str):
                problems.append(Problem(opath, _("an option needs a key")))
                continue
            if option["key"] in keys:
                problems.append(
                    Problem(f"{opath}.key", _("duplicate option %(key)r") % {"key": option["key"]})
                )
            keys.add(option["key"])
            value = option.get("value")
            if not is_number(value) or not self.low <= value <= 1:
                message = (
                    _("must be a number from 0 to 1")
                    if self.low == 0
                    else _("must be a number from -1 to 1")
                )
                problems.append(Problem(f"{opath}.value", message))
            check_texts(option.get("text"), f"{opath}.text", problems, required=True)

    def value_problem(self, q: Question, value: object) -> str | None:
        keys = [o["key"] for o in q["options"]]
        if value in keys:
            return None
        return _("must be one of: %(options)s") % {"options": ", ".join(keys)}

    def value(self, q: Question, value: Any) -> float:
        return next(float(o["value"]) for o in q["options"] if o["key"] == value)

    def best(self, q: Question) -> float:
        return max((float(o["value"]) for o in q.get("options", [])), default=0.0)

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        for option in q.get("options", []):
            if option["key"] == value:
                return localized(option.get("text"), locale)
        return str(value)

    def defaults(self) -> dict[str, Any]:
        return {
            "options": [
                {"key": "yes", "value": 1, "text": {"en": "Yes"}},
                {"key": "partly", "value": 0.5, "text": {"en": "Partly"}},
                {"key": "no", "value": 0, "text": {"en": "No"}},
            ]
        }

    def edit(self, q: Question, editor: EditorForm) -> None:
        options = []
        for i, row in enumerate(editor.rows("option", ("key", "value"))):
            if not row["key"] and not row["texts"]:
                continue
            label = _("Option %(n)d") % {"n": i + 1}
            if not re.fullmatch(r"[a-z0-9][a-z0-9_]{0,63}", row["key"]):
                editor.refuse(
                    _("%(field)s needs a key: lower-case letters, digits and _.") % {"field": label}
                )
            value = editor.number(row["value"], label, 0, 1)
            options.append(
                {"key": row["key"], "value": value, "text": editor.english(row["texts"])}
            )
        q["options"] = options
        if len(options) < 2:
            editor.refuse(_("A choice needs at least two options."))
        keys = [o["key"] for o in options]
        if len(set(keys)) != len(keys):
            editor.refuse(_("Each option needs its own key."))

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        return [(o["key"], localized(o.get("text"), locale)) for o in q["options"]]


class MultiChoice(Choice):
    """Several options may be chosen. Each option has a value from -1 to 1 (a good thing
    staff did, or a bad one); an answer earns the sum of its options' values, never below
    0 nor above the best: the sum of the positive values, at most 1."""

    name = "multi_choice"
    label = N_("Several choices")
    low = -1.0

    def value_problem(self, q: Question, value: object) -> str | None:
        keys = [o["key"] for o in q["options"]]
        if (
            isinstance(value, list)
            and all(isinstance(v, str) and v in keys for v in value)
            and len(set(value)) == len(value)
        ):
            return None
        return _("must be a list of different options from: %(options)s") % {
            "options": ", ".join(keys)
        }

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return [v for v in form.get("value", []) if v]

    def value(self, q: Question, value: Any) -> float:
        values = {o["key"]: float(o["value"]) for o in q["options"]}
        return min(self.best(q), max(0.0, sum(values[k] for k in value)))

    def best(self, q: Question) -> float:
        return min(1.0, sum(max(0.0, float(o["value"])) for o in q.get("options", [])))

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        texts = {o["key"]: localized(o.get("text"), locale) for o in q.get("options", [])}
        return ", ".join(texts.get(k, str(k)) for k in value) if value else _("none of these")

    def defaults(self) -> dict[str, Any]:
        return {
            "options": [
                {"key": "greeted", "value": 0.5, "text": {"en": "Greeted me"}},
                {"key": "offered_help", "value": 0.5, "text": {"en": "Offered help"}},
                {"key": "on_the_phone", "value": -0.5, "text": {"en": "Was on the phone"}},
            ]
        }

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        return [
            (_ALL, _("all the good ones")),
            *((o["key"], localized(o.get("text"), locale)) for o in q["options"]),
            (_NONE, _("none of these")),
        ]

    def from_self(self, q: Question, chosen: str, start: Any) -> tuple[Any, dict[str, str]]:
        if chosen == _ALL:
            return [o["key"] for o in q["options"] if float(o["value"]) > 0], {}
        return ([] if chosen == _NONE else [chosen]), {}

    def to_self(self, q: Question, answer: dict[str, Any] | None, stamps: dict[str, str]) -> str:
        if not answer or "value" not in answer:
            return ""
        value = answer["value"]
        if not value:
            return _NONE
        if sorted(value) == sorted(o["key"] for o in q["options"] if float(o["value"]) > 0):
            return _ALL
        return value[0] if len(value) == 1 else ""


_ALL, _NONE = "__all__", "__none__"


class CountPair(QuestionType):
    name = "count_pair"
    label = N_("Count: open of total")
    scored = True

    def value_problem(self, q: Question, value: object) -> str | None:
        ok = (
            isinstance(value, dict)
            and set(value) == {"open", "total"}
            and _is_int(value["open"])
            and _is_int(value["total"])
            and 1 <= value["total"] <= 1000
            and 0 <= value["open"] <= value["total"]
        )
        return None if ok else _('must be {"open": a, "total": b} with 0 ≤ a ≤ b and b ≥ 1')

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return {"open": int(_first(form, "open")), "total": int(_first(form, "total"))}

    def value(self, q: Question, value: Any) -> float:
        return float(value["open"] / value["total"])

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        return _("%(open)s of %(total)s open") % value

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        return [(str(n), _("%(n)s%% of them") % {"n": n}) for n in (100, 75, 50, 25, 0)]

    def from_self(self, q: Question, chosen: str, start: Any) -> tuple[Any, dict[str, str]]:
        return {"open": int(chosen), "total": 100}, {}

    def to_self(self, q: Question, answer: dict[str, Any] | None, stamps: dict[str, str]) -> str:
        if not answer or "value" not in answer:
            return ""
        value = answer["value"]
        return str(round(value["open"] / value["total"] * 4) * 25)


class Timed(QuestionType):
    """The time between two of the shopper's stamps, scored by thresholds; answered by
    the stamps (or by saying the event never happened: see :mod:`server.timing`)."""

    name = "timed"
    label = N_("Time between two stamps")
    scored = True
    takes_value = False

    def check_definition(self, q: Question, path: str, problems: list[Problem]) -> None:
        for end in ("from", "to"):
            if q.get(end) not in STAMPS:
                problems.append(
                    Problem(
                        f"{path}.{end}",
                        _("must be one of %(values)s") % {"values": ", ".join(STAMPS)},
                    )
                )
        thresholds = q.get("thresholds")
        if not isinstance(thresholds, list) or not thresholds:
            problems.append(Problem(f"{path}.thresholds", _("a timed question needs thresholds")))
            return
        last = -1.0
        for i, t in enumerate(thresholds):
            tpath = f"{path}.thresholds[{i}]"
            if not isinstance(t, dict):
                problems.append(Problem(tpath, _("must be an object")))
                continue
            limit, value = t.get("max_seconds"), t.get("value")
            if not is_number(limit) or limit < 0:
                problems.append(
                    Problem(f"{tpath}.max_seconds", _("must be a number of at least 0"))
                )
            elif limit <= last:
                problems.append(Problem(f"{tpath}.max_seconds", _("thresholds must increase")))
            else:
                last = float(limit)
            if not is_number(value) or not 0 <= value <= 1:
                problems.append(Problem(f"{tpath}.value", _("must be a number from 0 to 1")))

    def seconds_value(self, q: Question, seconds: float) -> float:
        """The value of the first threshold whose max_seconds is at least ``seconds``,
        else 0."""
        for threshold in sorted(q.get("thresholds", []), key=lambda t: t["max_seconds"]):
            if seconds <= float(threshold["max_seconds"]):
                return float(threshold["value"])
        return 0.0

    def best(self, q: Question) -> float:
        return max((float(t["value"]) for t in q.get("thresholds", [])), default=0.0)

    def defaults(self) -> dict[str, Any]:
        return {
            "from": "entered",
            "to": "greeted",
            "thresholds": [{"max_seconds": 30, "value": 1}, {"max_seconds": 60, "value": 0.5}],
        }

    def edit(self, q: Question, editor: EditorForm) -> None:
        for end in ("from", "to"):
            if editor.form.get(end) not in STAMPS:
                editor.refuse(_("Choose the stamps the time is measured between."))
            q[end] = editor.form[end]
        if q["from"] == q["to"]:
            editor.refuse(_("The time must run between two different stamps."))
        thresholds = []
        for i, row in enumerate(editor.rows("threshold", ("seconds", "value"))):
            if not row["seconds"] and not row["value"]:
                continue
            label = _("Threshold %(n)d") % {"n": i + 1}
            thresholds.append(
                {
                    "max_seconds": editor.number(row["seconds"], label, 0),
                    "value": editor.number(row["value"], label, 0, 1),
                }
            )
        q["thresholds"] = sorted(thresholds, key=lambda t: t["max_seconds"])
        if not thresholds:
            editor.refuse(_("A timed question needs at least one threshold."))
        limits = [t["max_seconds"] for t in thresholds]
        if len(set(limits)) != len(limits):
            editor.refuse(_("Two thresholds have the same number of seconds."))

    def self_choices(self, q: Question, locale: str) -> list[tuple[str, str]]:
        return [
            (str(int(t["max_seconds"])), _("within %(n)s seconds") % {"n": int(t["max_seconds"])})
            for t in q["thresholds"]
        ] + [(LONGER, _("longer"))]

    def from_self(self, q: Question, chosen: str, start: Any) -> tuple[Any, dict[str, str]]:
        limit = max(int(t["max_seconds"]) for t in q["thresholds"])
        seconds = limit + 60 if chosen == LONGER else int(chosen)
        return None, {
            q["from"]: start.isoformat(),
            q["to"]: (start + timedelta(seconds=seconds)).isoformat(),
        }

    def to_self(self, q: Question, answer: dict[str, Any] | None, stamps: dict[str, str]) -> str:
        if q["from"] not in stamps or q["to"] not in stamps:
            return ""
        seconds = (
            datetime.fromisoformat(stamps[q["to"]]) - datetime.fromisoformat(stamps[q["from"]])
        ).total_seconds()
        for value, _label in self.self_choices(q, "en"):
            if value != LONGER and seconds <= int(value):
                return value
        return LONGER


class Number(QuestionType):
    name = "number"
    label = N_("Number (not scored)")

    def value_problem(self, q: Question, value: object) -> str | None:
        return None if is_number(value) else _("must be a number")

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return _form_number(_first(form, "value"))


class Text(QuestionType):
    name = "text"
    label = N_("Text (not scored)")

    def value_problem(self, q: Question, value: object) -> str | None:
        if isinstance(value, str) and len(value) <= MAX_TEXT:
            return None
        return _("must be text of at most %(n)d characters") % {"n": MAX_TEXT}


class Nps(QuestionType):
    """How likely the shopper is to recommend the shop, 0 to 10: never part of the score
    (it is reported as a net promoter score, with its number of answers)."""

    name = "nps"
    label = N_("Likelihood to recommend, 0 to 10 (not scored)")

    def value_problem(self, q: Question, value: object) -> str | None:
        if _is_int(value) and 0 <= value <= 10:  # type: ignore[operator]
            return None
        return _("must be a whole number from 0 to 10")

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return _form_number(_first(form, "value"))

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        return _("%(value)s of %(max)s") % {"value": value, "max": 10}


class Money(QuestionType):
    """An amount paid (a purchase, a reimbursement) in the questionnaire's currency: never
    scored."""

    name = "money"
    label = N_("Amount of money (not scored)")

    def check_definition(self, q: Question, path: str, problems: list[Problem]) -> None:
        if not (isinstance(q.get("currency"), str) and re.fullmatch(r"[A-Z]{3}", q["currency"])):
            message = _("must be a currency code of three capital letters, such as IDR")
            problems.append(Problem(f"{path}.currency", message))

    def value_problem(self, q: Question, value: object) -> str | None:
        if (
            is_number(value)
            and 0 <= value <= MAX_MONEY  # type: ignore[operator]
            and abs(round(value * 100) - value * 100) < 1e-6  # type: ignore[operator]
        ):
            return None
        return _("must be an amount from 0 to %(max)s with at most two decimals") % {
            "max": MAX_MONEY
        }

    def as_text(self, q: Question, value: Any, locale: str) -> str:
        return format_money(value, q["currency"], locale)

    def from_form(self, q: Question, form: Mapping[str, list[str]]) -> Any:
        return _form_number(_first(form, "value"))

    def defaults(self) -> dict[str, Any]:
        return {"currency": "IDR"}

    def edit(self, q: Question, editor: EditorForm) -> None:
        currency = str(editor.form.get("currency", "")).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            editor.refuse(_("The currency needs a code of three letters, such as IDR or EUR."))
        q["currency"] = currency


class Photo(QuestionType):
    """Photos the shopper takes for the question; with ``"proof": true`` they prove the
    visit (a receipt, the storefront) and reports list them apart for the reviewer."""

    name = "photo"
    label = N_("Photo")
    takes_value = False

    def check_definition(self, q: Question, path: str, problems: list[Problem]) -> None:
        if "proof" in q and not isinstance(q["proof"], bool):
            problems.append(Problem(f"{path}.proof", _("must be true or false")))

    def edit(self, q: Question, editor: EditorForm) -> None:
        if editor.form.get("proof"):
            q["proof"] = True


TYPES: dict[str, QuestionType] = {
    t.name: t
    for t in (
        YesNo(),
        Scale(),
        Choice(),
        MultiChoice(),
        CountPair(),
        Timed(),
        Number(),
        Nps(),
        Money(),
        Text(),
        Photo(),
    )
}
"""Every type by name, in the order the editor offers them."""
SCORED_TYPES = frozenset(name for name, t in TYPES.items() if t.scored)
UNSCORED_TYPES = frozenset(TYPES) - SCORED_TYPES


def type_name(kind: str) -> str:
    """A type's name in the reader's language (the editor's list, the questionnaire page)."""
    return gettext(TYPES[kind].label) if kind in TYPES else kind


TIMED: Timed = TYPES["timed"]  # type: ignore[assignment]
"""The timed type, for the code that measures stamps (scoring, reports)."""
