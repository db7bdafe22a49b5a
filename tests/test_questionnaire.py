from __future__ import annotations

import copy

from server.questionnaire import LANGUAGES, iter_questions, load_default, validate_definition


def test_default_questionnaire_is_valid_and_has_the_five_sections() -> None:
    definition = load_default()
    assert validate_definition(definition) == []
    assert [s["key"] for s in definition["sections"]] == [
        "greeting",
        "checkout",
        "personalization",
        "problem_handling",
        "overall",
    ]


def test_default_questionnaire_speaks_english_indonesian_and_french() -> None:
    definition = load_default()
    texts = [definition["title"]]
    for section, question in iter_questions(definition):
        texts += [section["title"], question["text"]]
        if "help" in question:
            texts.append(question["help"])
        texts += [o["text"] for o in question.get("options", [])]
    for t in texts:
        assert set(t) == set(LANGUAGES), t
        assert all(value.strip() for value in t.values()), t


def test_default_questionnaire_measures_the_four_failures() -> None:
    keys = {q["key"]: q for _, q in iter_questions(load_default())}
    assert keys["greeting_delay"]["from"] == "entered"
    assert keys["queue_wait"]["thresholds"][-1]["max_seconds"] == 300  # the 5-minute line
    assert keys["tills"]["type"] == "count_pair"
    assert keys["sounded_scripted"]["inverse"] is True
    assert keys["used_name"]["na"] is True
    assert keys["resolution"]["critical"] is True


def test_validation_reports_every_problem_with_its_path() -> None:
    broken = copy.deepcopy(load_default())
    broken["sections"][0]["questions"][1]["type"] = "essay"
    broken["sections"][1]["questions"][0]["key"] = "greeted_verbally"
    broken["sections"][1]["questions"][3]["thresholds"] = [
        {"max_seconds": 300, "value": 1.0},
        {"max_seconds": 120, "value": 0.5},
    ]
    broken["sections"][3]["questions"][1]["options"][0]["value"] = 2
    del broken["sections"][4]["title"]["en"]
    problems = {p.path: p.message for p in validate_definition(broken)}
    assert "sections[0].questions[1].type" in problems
    assert "duplicate" in problems["sections[1].questions[0].key"]
    assert "increase" in problems["sections[1].questions[3].thresholds[1].max_seconds"]
    assert "sections[3].questions[1].options[0].value" in problems
    assert "sections[4].title.en" in problems
    assert len(problems) == 5


def test_validation_of_nonsense() -> None:
    assert validate_definition([]) != []
    assert (
        validate_definition({"id": "x", "title": {"en": "x"}, "sections": []})[0].path == "sections"
    )
    assert (
        validate_definition({"id": "Bad Id!", "title": {"en": "x"}, "sections": []})[0].path == "id"
    )
