"""Conditions and rules in the questionnaire editor: read from a form (pick a question,
a comparison and a value; no expression to type) and said in words for the editor's
pages. A condition more complex than one comparison (all/any/not, from an imported
file) is kept as it is unless the editor replaces it.

Form fields, for a ``prefix`` such as ``show`` or ``rule``:
``{prefix}_kind`` (``always`` / ``keep`` / ``scenario`` / ``question``),
``{prefix}_scenario``, ``{prefix}_question``, ``{prefix}_op`` (one of :data:`OPS`) and
``{prefix}_value``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .i18n import N_, _, gettext
from .texts import localized

OPS = {
    "equals": N_("is"),
    "not_equals": N_("is not"),
    "at_least": N_("is at least"),
    "at_most": N_("is at most"),
    "answered": N_("is answered"),
    "not_answered": N_("is not answered"),
}
"""The comparisons the editor offers, as the editor's pages say them."""


def _value(q: dict[str, Any], raw: str, refuse: Callable[[str], None]) -> Any:
    """A typed answer value for question ``q`` from the form's text."""
    kind = q["type"]
    text = raw.strip()
    if kind == "yes_no":
        if text.lower() in ("yes", "true", "ya", "oui"):
            return True
        if text.lower() in ("no", "false", "tidak", "non"):
            return False
        refuse(_("For a yes-or-no question, the value is yes or no."))
    if kind == "choice":
        keys = [o["key"] for o in q.get("options", [])]
        if text not in keys:
            refuse(
                _("For a choice, the value is one of its option keys: %(keys)s")
                % {"keys": ", ".join(keys)}
            )
        return text
    if kind in ("scale", "number", "nps", "money"):
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            refuse(_("For this question, the value is a number."))
            return None
        return int(number) if number == int(number) else number
    return text


def read(
    form: Mapping[str, str],
    prefix: str,
    current: dict[str, Any] | None,
    questions: dict[str, dict[str, Any]],
    refuse: Callable[[str], None],
) -> dict[str, Any] | None:
    """The condition the form asks for (None: always), from ``questions`` (those it
    may use) or a declared scenario; ``current`` when the form leaves it as it is."""
    kind = str(form.get(f"{prefix}_kind", "keep"))
    if kind == "keep":
        return current
    if kind == "always":
        return None
    if kind == "scenario":
        key = str(form.get(f"{prefix}_scenario", ""))
        if not key:
            refuse(_("Choose the scenario."))
        return {"scenario": key}
    if kind != "question":
        refuse(_("Choose when it is asked."))
    key = str(form.get(f"{prefix}_question", ""))
    op = str(form.get(f"{prefix}_op", ""))
    if key not in questions:
        refuse(_("Choose a question before this one."))
    if op not in OPS:
        refuse(_("Choose a comparison."))
    q = questions[key]
    if op == "answered":
        return {"question": key, "answered": True}
    if op == "not_answered":
        return {"question": key, "answered": False}
    value = _value(q, str(form.get(f"{prefix}_value", "")), refuse)
    if op == "not_equals":
        return {"not": {"question": key, "equals": value}}
    return {"question": key, op: value}


def form_state(condition: dict[str, Any] | None) -> dict[str, Any]:
    """What the editor's fields show for a condition: its kind and parts."""
    if condition is None:
        return {"kind": "always"}
    if set(condition) == {"scenario"}:
        return {"kind": "scenario", "scenario": condition["scenario"]}
    inner, negated = condition, False
    if set(condition) == {"not"} and isinstance(condition["not"], dict):
        inner, negated = condition["not"], True
    ops = [op for op in ("equals", "at_least", "at_most", "answered") if op in inner]
    if "question" in inner and len(ops) == 1 and len(inner) == 2:
        op, value = ops[0], inner[ops[0]]
        if op == "answered":
            op = "answered" if value is not negated else "not_answered"
            return {"kind": "question", "question": inner["question"], "op": op}
        if negated and op != "equals":
            return {"kind": "keep"}
        shown = ("yes" if value else "no") if isinstance(value, bool) else value
        return {
            "kind": "question",
            "question": inner["question"],
            "op": "not_equals" if negated else op,
            "value": shown,
        }
    return {"kind": "keep"}


def describe(condition: dict[str, Any] | None, definition: dict[str, Any], locale: str) -> str:
    """A condition in words, in the reader's language (for the editor and the preview)."""
    if condition is None:
        return ""
    texts = {
        q["key"]: localized(q.get("text"), locale)
        for s in definition.get("sections", [])
        for q in s.get("questions", [])
    }
    scenarios = {
        s.get("key"): localized(s.get("text"), locale) for s in definition.get("scenarios", [])
    }

    def words(c: dict[str, Any]) -> str:
        if "all" in c:
            both = _("and")
            return f" {both} ".join(f"({words(p)})" for p in c["all"])
        if "any" in c:
            either = _("or")
            return f" {either} ".join(f"({words(p)})" for p in c["any"])
        if "not" in c:
            return _("not (%(c)s)") % {"c": words(c["not"])}
        if "scenario" in c:
            return _("the scenario is “%(s)s”") % {"s": scenarios.get(c["scenario"], c["scenario"])}
        question = texts.get(c.get("question"), c.get("question", ""))
        for op in ("equals", "at_least", "at_most"):
            if op in c:
                value = c[op]
                shown = (_("Yes") if value else _("No")) if isinstance(value, bool) else value
                return f"“{question}” {gettext(OPS[op])} {shown}"
        if "in" in c:
            one_of = _("is one of")
            return f"“{question}” {one_of} {', '.join(str(v) for v in c['in'])}"
        return f"“{question}” {gettext(OPS['answered' if c.get('answered') else 'not_answered'])}"

    return words(condition).strip()
