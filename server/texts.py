"""Texts by language in a questionnaire (``{"en": …, "id": …, "fr": …}``) and the
problems a document can have, each at a JSON path: the pieces that the question types
(:mod:`server.question_types`) and the questionnaire rules (:mod:`server.questionnaire`)
both use."""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import SUPPORTED, _

LANGUAGES = SUPPORTED  # a text may have each shipped language


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, at a JSON path such as ``sections[1].questions[0]``."""

    path: str
    message: str

    def to_api(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


def localized(texts: dict[str, str] | None, locale: str) -> str:
    """A text in the asked language, else English, else any language given."""
    if not texts:
        return ""
    return texts.get(locale) or texts.get("en") or next(iter(texts.values()), "")


def check_texts(texts: object, path: str, problems: list[Problem], required: bool) -> None:
    if texts is None and not required:
        return
    if not isinstance(texts, dict):
        problems.append(Problem(path, _("must be an object of texts by language (en, id, fr)")))
        return
    for lang, text in texts.items():
        if lang not in LANGUAGES:
            problems.append(Problem(f"{path}.{lang}", _("language must be one of en, id, fr")))
        elif not isinstance(text, str):
            problems.append(Problem(f"{path}.{lang}", _("must be a string")))
    if required and not (isinstance(texts.get("en"), str) and texts["en"].strip()):
        problems.append(Problem(f"{path}.en", _("an English text is required")))
