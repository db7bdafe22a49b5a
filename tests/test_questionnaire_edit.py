"""Draft edits as pure functions: each makes a new definition, or refuses with a reason."""

from __future__ import annotations

import pytest

from server import questionnaire_edit as edit
from server.questionnaire import validate_definition
from server.scoring import section_maxima


def small() -> dict:
    draft = edit.blank("shop", {"en": "Shop"})
    draft = edit.add_section(draft, {"title_en": "Welcome"})
    draft = edit.add_section(draft, {"title_en": "Welcome"})  # same title: its own key
    draft = edit.add_question(draft, {"section": "welcome", "type": "yes_no", "text_en": "Hi?"})
    draft = edit.add_question(
        draft, {"section": "welcome", "type": "timed", "text_en": "Greeting delay"}
    )
    return edit.add_question(draft, {"section": "welcome_2", "type": "choice", "text_en": "Fix?"})


def test_new_parts_get_unique_keys_and_valid_defaults() -> None:
    draft = small()
    assert [s["key"] for s in draft["sections"]] == ["welcome", "welcome_2"]
    assert [q["key"] for q in draft["sections"][0]["questions"]] == ["hi", "greeting_delay"]
    assert validate_definition(draft) == []
    assert edit.slug("Étalage & caisse", set()) == "etalage_caisse"


def test_the_original_is_never_changed() -> None:
    draft = small()
    before = repr(draft)
    edit.delete_section(draft, {"section": "welcome"})
    edit.move_question(draft, {"question": "hi", "direction": "down"})
    assert repr(draft) == before


def test_updating_a_question_reads_every_field() -> None:
    form = {
        "question": "greeting_delay",
        "type": "timed",
        "text_en": "Delay",
        "text_fr": "Délai",
        "weight": "2,5",
        "from": "entered",
        "to": "greeted",
        "threshold_seconds_0": "60",
        "threshold_value_0": "0.5",
        "threshold_seconds_1": "20",
        "threshold_value_1": "1",
        "critical": "visit",
        "na": "1",
        "move_to": "welcome_2",
    }
    draft = edit.update_question(small(), form)
    moved = draft["sections"][1]["questions"][-1]
    assert moved == {
        "key": "greeting_delay",
        "type": "timed",
        "text": {"en": "Delay", "fr": "Délai"},
        "from": "entered",
        "to": "greeted",
        "thresholds": [{"max_seconds": 20, "value": 1}, {"max_seconds": 60, "value": 0.5}],
        "weight": 2.5,
        "critical": "visit",
        "na": True,
    }
    assert [q["key"] for q in draft["sections"][0]["questions"]] == ["hi"]
    assert validate_definition(draft) == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (
            {
                "question": "fix",
                "type": "choice",
                "text_en": "Fix?",
                "option_key_0": "a",
                "option_value_0": "1",
                "option_text_0_en": "A",
            },
            "at least two options",
        ),
        (
            {
                "question": "fix",
                "type": "choice",
                "text_en": "Fix?",
                "option_key_0": "a",
                "option_value_0": "2",
                "option_text_0_en": "A",
            },
            "from 0 to 1",
        ),
        (
            {
                "question": "greeting_delay",
                "type": "timed",
                "text_en": "D",
                "from": "left",
                "to": "left",
                "threshold_seconds_0": "5",
                "threshold_value_0": "1",
            },
            "two different",
        ),
        ({"question": "hi", "type": "yes_no", "text_en": ""}, "English text is required"),
        ({"question": "hi", "type": "yes_no", "text_en": "Hi", "weight": "-1"}, "at least 0"),
        ({"question": "nope", "type": "yes_no", "text_en": "Hi"}, "no question nope"),
    ],
)
def test_bad_question_forms_are_refused(form: dict[str, str], message: str) -> None:
    with pytest.raises(edit.EditError, match=message):
        edit.update_question(small(), form)


def test_changing_the_type_starts_from_that_types_defaults() -> None:
    draft = edit.update_question(
        small(), {"question": "hi", "type": "scale", "text_en": "How warm?", "required": "1"}
    )
    question = draft["sections"][0]["questions"][0]
    assert (question["min"], question["max"], question["weight"]) == (0, 4, 1)
    assert "required" not in question  # the default for a scored question
    assert validate_definition(draft) == []


def test_moving_stops_at_the_ends_and_maxima_follow_the_weights() -> None:
    draft = edit.move_section(small(), {"section": "welcome", "direction": "up"})
    assert draft["sections"][0]["key"] == "welcome"
    draft = edit.move_section(draft, {"section": "welcome", "direction": "down"})
    assert draft["sections"][0]["key"] == "welcome_2"
    maxima = [points for _, points in section_maxima(draft)]
    assert maxima == [1.0, 2.0]  # a choice's best option is 1; yes/no 1 + timed 1
    with pytest.raises(edit.EditError):
        edit.apply(draft, "drop_table", {})


def test_the_fingerprint_changes_with_any_edit() -> None:
    draft = small()
    assert edit.fingerprint(draft) == edit.fingerprint(edit.set_title(draft, {"title_en": "Shop"}))
    assert edit.fingerprint(draft) != edit.fingerprint(edit.set_title(draft, {"title_en": "S"}))


def test_made_keys_keep_whole_words() -> None:
    from server.questionnaire_edit import slug

    key = slug("Were you greeted within a minute of walking through the door?", set())
    assert key == "were_you_greeted_within_a_minute_of"
    assert len(key) <= 40 and not key.endswith("_")
    assert slug("Supercalifragilisticexpialidociousnessandmorewordsjoined", set()) == (
        "supercalifragilisticexpialidociousnessan"
    )
    assert slug("Greeting & welcome", {"greeting_welcome"}) == "greeting_welcome_2"
    assert slug("???", set(), "question") == "question"
