"""One contract over every registered question type (server/question_types.py): a new
type fails here until it has samples, a valid default, an answer check the API and the
scoring agree on, texts in every language, a self-assessment that reads back what it
offers, an app control and a place in the format docs."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import i18n, question_types, questionnaire_edit, scoring, visit_payload
from server.question_types import TYPES
from server.questionnaire import (
    SCORED_TYPES,
    is_required,
    is_scored,
    iter_questions,
    load_default,
    validate_definition,
)
from server.texts import Problem
from tests.conftest import login

ROOT = Path(__file__).parent.parent

# For each type: answers that fit the question its defaults make, and answers that do not.
SAMPLES: dict[str, tuple[list[Any], list[Any]]] = {
    "yes_no": ([True, False], [1, 0, "yes", None, [True]]),
    "scale": ([0, 2, 4, 2.5], [-1, 5, "3", True, None, float("inf")]),
    "choice": (["yes", "partly", "no"], ["maybe", 1, None, ["yes"]]),
    "multi_choice": (
        [
            [],
            ["greeted"],
            ["greeted", "offered_help"],
            ["on_the_phone"],
            ["greeted", "on_the_phone"],
        ],
        ["greeted", ["greeted", "greeted"], ["maybe"], [1], None, {"greeted": True}],
    ),
    "count_pair": (
        [{"open": 0, "total": 1}, {"open": 3, "total": 4}, {"open": 1000, "total": 1000}],
        [
            {"open": 2, "total": 1},
            {"open": 0, "total": 0},
            {"open": 1.5, "total": 3},
            {"open": 1, "total": 1001},
            {"open": 1},
            {"open": True, "total": 2},
            [1, 2],
        ],
    ),
    "timed": ([], [30, "fast", True]),
    "number": ([0, -3, 2.75, 10**6], ["3", True, None, float("nan")]),
    "nps": ([0, 6, 9, 10], [-1, 11, 7.5, "9", True, None]),
    "money": ([0, 25000, 12.5, 0.01, 1_000_000_000], [-1, 0.001, 12.345, "5", True, 10**10]),
    "text": (["", "kind staff", "x" * 5000], ["x" * 5001, 3, None, ["a"]]),
    "photo": ([], ["photo.jpg", 1, True]),
}


def question(kind: str) -> dict[str, Any]:
    """A question of ``kind`` as the editor makes a new one."""
    q = {"key": f"q_{kind}", "type": kind, "text": {"en": kind}, **TYPES[kind].defaults()}
    if TYPES[kind].scored:
        q["weight"] = 1
    return q


def one_question(kind: str) -> dict[str, Any]:
    return {
        "id": "contract",
        "title": {"en": "Contract"},
        "sections": [{"key": "s", "title": {"en": "S"}, "questions": [question(kind)]}],
    }


def test_every_type_has_samples_and_the_registry_is_the_one_list() -> None:
    assert set(SAMPLES) == set(TYPES)
    assert set(TYPES) == SCORED_TYPES | question_types.UNSCORED_TYPES
    for _s, q in iter_questions(load_default()):
        assert q["type"] in TYPES


@pytest.mark.parametrize("kind", list(TYPES))
def test_a_new_question_of_each_type_is_valid_and_editable(kind: str) -> None:
    assert validate_definition(one_question(kind)) == []
    # The editor adds it with the same defaults, and saving it unchanged keeps it valid.
    draft = one_question(kind)
    draft["sections"][0]["questions"] = []
    added = questionnaire_edit.add_question(
        draft, {"section": "s", "type": kind, "text_en": "Asked"}
    )
    (made,) = added["sections"][0]["questions"]
    assert {k: v for k, v in made.items() if k not in ("key", "text")} == {
        k: v for k, v in question(kind).items() if k not in ("key", "text")
    }
    assert validate_definition(added) == []


@pytest.mark.parametrize("kind", list(TYPES))
def test_the_api_and_the_scoring_agree_on_every_answer(kind: str) -> None:
    q = question(kind)
    kind_ = TYPES[kind]
    good, bad = SAMPLES[kind]
    for value in good:
        assert kind_.value_problem(q, value) is None, value
        problems: list[Problem] = []
        assert visit_payload._check_answer(q, {"value": value}, "a", problems)
        assert problems == []
        if kind_.scored:
            earned = scoring.answer_value(q, {"value": value})
            assert 0 <= earned <= kind_.best(q) <= 1
        for locale in i18n.SUPPORTED:
            token = i18n.activate(locale)
            try:
                assert isinstance(kind_.as_text(q, value, locale), str)
            finally:
                i18n.deactivate(token)
    for value in bad:
        message = kind_.value_problem(q, value)
        assert isinstance(message, str) and message, value
        problems = []
        visit_payload._check_answer(q, {"value": value}, "a", problems)
        assert [p.path for p in problems] == ["a.value"], value
        if kind_.scored:
            with pytest.raises(ValueError):
                scoring.answer_value(q, {"value": value})
    if kind_.scored and kind_.takes_value:
        # The best answer among the samples earns the type's best value.
        assert max(kind_.value(q, v) for v in good) == kind_.best(q)


@pytest.mark.parametrize("kind", list(TYPES))
def test_the_self_assessment_reads_back_every_choice_it_offers(kind: str) -> None:
    q = question(kind)
    kind_ = TYPES[kind]
    choices = kind_.self_choices(q, "en")
    assert bool(choices) == kind_.scored  # the owner answers exactly the scored questions
    start = datetime(2000, 1, 1, tzinfo=UTC)
    for chosen, label in choices:
        assert label
        value, stamps = kind_.from_self(q, chosen, start)
        answer = {"value": value} if kind_.takes_value else None
        if answer is not None:
            assert kind_.value_problem(q, value) is None
        assert kind_.to_self(q, answer, stamps) == chosen


@pytest.mark.parametrize("kind", list(TYPES))
def test_every_type_is_named_in_every_language_has_an_app_control_and_docs(kind: str) -> None:
    label = TYPES[kind].label
    catalogs = {locale: i18n.translations(locale) for locale in ("id", "fr")}
    for locale, catalog in catalogs.items():  # translated ("Photo" is French too)
        assert catalog._catalog.get(label), (locale, label)  # type: ignore[attr-defined]
    app = (ROOT / "pwa" / "visit.js").read_text()
    assert f'q.type === "{kind}"' in app
    docs = (ROOT / "docs" / "questionnaire-format.md").read_text()
    assert f"`{kind}`" in docs


def test_every_question_the_app_downloads_says_whether_it_is_required_and_scored(
    demo_client: TestClient,
) -> None:
    login(demo_client, "shopper@demo.test")
    answer = demo_client.get("/api/v1/questionnaires/default/versions/1")
    assert answer.status_code == 200
    definition = answer.json()
    stored = copy.deepcopy(load_default())
    seen = 0
    for (_s, q), (_t, plain) in zip(
        iter_questions(definition), iter_questions(stored), strict=True
    ):
        assert q["required"] is is_required(plain)
        assert q["scored"] is is_scored(plain)
        seen += 1
    assert seen > 10


def test_a_money_question_keeps_its_currency_and_every_digit_of_an_amount() -> None:
    draft = one_question("money")
    form = {"question": "q_money", "type": "money", "text_en": "Paid", "currency": "eur"}
    edited = questionnaire_edit.update_question(draft, form)
    assert edited["sections"][0]["questions"][0]["currency"] == "EUR"
    with pytest.raises(questionnaire_edit.EditError, match="three letters"):
        questionnaire_edit.update_question(draft, {**form, "currency": "EURO"})
    problems = validate_definition(
        {
            **draft,
            "sections": [
                {**draft["sections"][0], "questions": [question("money") | {"currency": "rp"}]}
            ],
        }
    )
    assert [p.path for p in problems] == ["sections[0].questions[0].currency"]
    q = question("money")
    # A currency without a minor unit still shows the cents a receipt had.
    assert TYPES["money"].as_text(q, 12.5, "en") == "IDR12.5"
    assert TYPES["money"].as_text(q, 25000, "id") == "Rp25.000"
    assert TYPES["money"].as_text({**q, "currency": "EUR"}, 3.5, "fr") == "3,50\u00a0€"


def test_only_a_photo_question_proves_the_visit_and_the_editor_sets_it() -> None:
    photo = one_question("photo")
    photo["sections"][0]["questions"][0]["proof"] = True
    assert validate_definition(photo) == []
    wrong = one_question("text")
    wrong["sections"][0]["questions"][0]["proof"] = True
    assert [p.path for p in validate_definition(wrong)] == ["sections[0].questions[0].proof"]
    form = {"question": "q_photo", "type": "photo", "text_en": "Receipt", "proof": "1"}
    edited = questionnaire_edit.update_question(one_question("photo"), form)
    assert edited["sections"][0]["questions"][0]["proof"] is True
    unticked = questionnaire_edit.update_question(edited, {**form, "proof": ""})
    assert "proof" not in unticked["sections"][0]["questions"][0]


def correction_form(kind: str, value: Any) -> dict[str, list[str]]:
    """The reviewer's correction form (server/templates/_correct.html) holding ``value``."""
    if kind == "yes_no":
        return {"value": ["true" if value else "false"]}
    if kind == "multi_choice":
        return {"value": list(value)}
    if kind == "count_pair":
        return {"open": [str(value["open"])], "total": [str(value["total"])]}
    return {"value": [str(value)]}


@pytest.mark.parametrize("kind", [k for k, t in TYPES.items() if t.takes_value])
def test_a_reviewer_can_give_every_answer_a_phone_can(kind: str) -> None:
    """Every fitting answer of every type that takes a value reads back from the correction
    form as itself, and fits (a type added without a form reading fails here)."""
    q = question(kind)
    good, _bad = SAMPLES[kind]
    assert good, kind
    for value in good:
        read = TYPES[kind].from_form(q, correction_form(kind, value))
        assert read == value and TYPES[kind].value_problem(q, read) is None, (kind, value)
