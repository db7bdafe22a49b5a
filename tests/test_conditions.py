"""Conditions (show_if): the shared visibility cases, what publishing refuses, and what a
question that is not asked does to the scoring and to a visit the API receives."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server import conditions, visit_record
from server.questionnaire import iter_questions, validate_definition
from server.scoring import score_visit
from server.timing import problems as timing_problems
from tests.conftest import db_rows, db_write, login, published_version

SHARED = json.loads((Path(__file__).parent / "cases" / "visibility.json").read_text())
DEFINITION: dict[str, Any] = SHARED["definition"]
ORDER = [q["key"] for _s, q in iter_questions(DEFINITION)]


def test_the_shared_definition_is_valid() -> None:
    assert validate_definition(DEFINITION) == []


@pytest.mark.parametrize("case", SHARED["cases"], ids=[c["name"] for c in SHARED["cases"]])
def test_shared_visibility_cases(case: dict[str, Any]) -> None:
    shown = conditions.visible(DEFINITION, case["answers"], case["scenario"])
    assert [k for k in ORDER if k in shown] == case["visible"]


@pytest.mark.parametrize(
    "case", SHARED["rule_cases"], ids=[c["name"] for c in SHARED["rule_cases"]]
)
def test_shared_rule_cases(case: dict[str, Any]) -> None:
    broken = conditions.broken_rules(DEFINITION, case["answers"], case["scenario"])
    assert [key for key, _message in broken] == case["broken"]


def test_a_rule_needs_a_message_and_a_condition_on_its_own_or_earlier_answers() -> None:
    definition = copy.deepcopy(DEFINITION)
    questions = {q["key"]: q for _s, q in iter_questions(definition)}
    questions["items"]["rule"] = {"question": "items", "at_least": 0}  # no message
    questions["returned"]["rule"] = {"question": "items", "at_most": 3, "message": {"en": "x"}}
    problems = {p.path: p.message for p in validate_definition(definition)}
    assert "sections[0].questions[2].rule.message" in problems
    assert "comes later" in problems["sections[0].questions[0].rule.question"]


def with_condition(target: str, condition: Any, on_section: bool = False) -> dict[str, Any]:
    definition = copy.deepcopy(DEFINITION)
    for section in definition["sections"]:
        if on_section and section["key"] == target:
            section["show_if"] = condition
        for q in section["questions"]:
            if q["key"] == target:
                q["show_if"] = condition
    return definition


REFUSED = [
    ("returned", {"question": "items", "at_least": 1}, "comes later"),
    ("items", {"question": "items", "answered": True}, "comes later"),
    ("items", {"question": "nowhere", "equals": 1}, "unknown question"),
    ("items", {"question": "returned", "equals": "yes"}, "is not an answer"),
    ("items", {"question": "returned", "at_least": 1}, "answered with a number"),
    ("receipt_offered", {"question": "items", "at_least": "one"}, "must be a number"),
    ("items", {"question": "return_handling", "in": ["well", "maybe"]}, "is not an answer"),
    ("items", {"question": "return_handling", "in": []}, "a list of answers"),
    ("items", {"scenario": "wedding"}, "unknown scenario"),
    ("items", {"question": "returned"}, "one of: equals"),
    ("items", {"question": "returned", "equals": True, "at_least": 1}, "one of: equals"),
    ("items", {"all": []}, "a list of conditions"),
    ("items", {"not": {"scenario": "gift"}, "all": []}, "a list of conditions"),
    ("items", "returned", "must be a condition object"),
    ("items", {"any": [{"question": "returned", "answered": "yes"}]}, "true or false"),
]


@pytest.mark.parametrize(("target", "condition", "message"), REFUSED)
def test_publishing_refuses_a_condition_that_cannot_work(
    target: str, condition: Any, message: str
) -> None:
    problems = validate_definition(with_condition(target, condition))
    assert problems, condition
    assert all(".show_if" in p.path for p in problems), problems
    assert any(message in p.message for p in problems), problems


def test_a_section_may_only_use_questions_before_it() -> None:
    later = with_condition("visit", {"question": "solved", "equals": True}, on_section=True)
    own = with_condition("problem", {"question": "solved", "equals": True}, on_section=True)
    for definition in (later, own):
        [problem] = validate_definition(definition)
        assert problem.path.endswith("].show_if.question") and "comes later" in problem.message


def test_a_question_not_asked_is_neither_required_nor_scored() -> None:
    definition = copy.deepcopy(DEFINITION)
    for _s, q in iter_questions(definition):
        if q["key"] == "solved":
            q["weight"] = 4  # the problem section's only scored question
    answers = {
        "returned": {"value": False},
        "return_handling": {"value": "badly"},  # not asked: counts for nothing
        "items": {"value": 2},
        "receipt_offered": {"value": True},
        "recommend": {"value": 9},
        "thanked": {"value": True},
    }
    gift = score_visit(definition, answers, scenario="gift")
    statuses = {q.key: q.status for q in gift.questions}
    assert statuses["return_handling"] == statuses["solved"] == "not_asked"
    # Counted: returned (No: 0), receipt_offered and thanked (1 each); not the badly
    # handled return nor the problem section's weight 4.
    assert (gift.earned, gift.possible) == (2.0, 3.0)
    assert gift.section("problem").score is None
    asked = {i["question"] for i in gift.explanation if i["kind"] == "not_asked"}
    assert {"return_handling", "solved", "follow_up"} <= asked
    problem = score_visit(definition, answers, scenario="problem")
    assert {q.key: q.status for q in problem.questions}["solved"] == "unanswered"


def test_a_timed_question_not_asked_needs_no_stamps() -> None:
    definition = copy.deepcopy(DEFINITION)
    definition["sections"][1]["questions"].append(
        {
            "key": "wait",
            "type": "timed",
            "text": {"en": "Wait"},
            "from": "entered",
            "to": "served",
            "thresholds": [{"max_seconds": 60, "value": 1}],
        }
    )
    assert validate_definition(definition) == []
    assert timing_problems({}, {}, definition, "gift") == []
    assert [p["path"] for p in timing_problems({}, {}, definition, "problem")] == ["answers.wait"]


def test_the_api_asks_only_what_the_visit_asks_and_keeps_only_those_answers(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """Version 2 of the default questionnaire asks about the resolution only when staff
    took ownership: a visit without it is complete, and an answer to it is not kept."""
    from server.questionnaire import load_default
    from tests.api.conftest import new_id, open_assignments, visit_body

    definition = {**load_default(), "version": 2}
    for _s, q in iter_questions(definition):
        if q["key"] == "resolution":
            q["show_if"] = {"question": "took_ownership", "equals": True}
    assert validate_definition(definition) == []
    login(demo_client, "shopper@demo.test")
    assignment = open_assignments(demo_client)[0]
    db_write(
        demo_dir,
        [
            published_version(demo_dir, definition),
            (
                "UPDATE assignments SET questionnaire_version = 2 WHERE id = ?",
                (assignment["id"],),
            ),
        ],
    )
    assignment["questionnaire"] = {"id": "default", "version": 2}
    body = visit_body(assignment)
    body["answers"]["took_ownership"] = {"value": True}
    del body["answers"]["resolution"]
    refused = demo_client.put(f"/api/v1/visits/{new_id()}", json=body)
    assert refused.status_code == 422
    paths = [d["path"] for d in refused.json()["error"]["details"]]
    assert paths == ["answers.resolution"]
    # Staff did not take ownership: the resolution is not asked, and an answer to it
    # (the phone kept one from before the shopper changed their mind) is not kept.
    body["answers"]["took_ownership"] = {"value": False}
    body["answers"]["resolution"] = {"value": "passed_on"}
    visit_id = new_id()
    stored = demo_client.put(f"/api/v1/visits/{visit_id}", json=body)
    assert stored.status_code == 201, stored.text
    (answers,) = db_rows(demo_dir, "SELECT answers FROM visits WHERE visit_uuid = ?", (visit_id,))[
        0
    ]
    kept = visit_record.unpack_answers(answers)
    assert "resolution" not in kept and kept["took_ownership"] == {"value": False}
    login(demo_client, "reviewer@demo.test")
    report = demo_client.get(f"/visits/{visit_id}.json").json()
    [resolution] = [
        q for s in report["sections"] for q in s["questions"] if q["key"] == "resolution"
    ]
    assert resolution["status"] == "not_asked"
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "not asked" in page


def _publish_with_scenarios(data: Path) -> dict[str, Any]:
    """Version 2 of the default questionnaire: two scenarios, and its problem-handling
    section asked only on the "problem" one."""
    from server.questionnaire import load_default

    definition = {**load_default(), "version": 2}
    definition["scenarios"] = [
        {"key": "problem", "text": {"en": "Bring a problem", "id": "Bawa masalah"}},
        {"key": "gift", "text": {"en": "Ask for a gift", "fr": "Demandez un cadeau"}},
    ]
    for section in definition["sections"]:
        if section["key"] == "problem_handling":
            section["show_if"] = {"scenario": "problem"}
    assert validate_definition(definition) == []
    db_write(
        data,
        [published_version(data, definition)],
    )
    return definition


def test_an_assignment_picks_a_scenario_and_the_visit_asks_what_it_says(
    demo_client: TestClient, demo_dir: Path
) -> None:
    from tests.api.conftest import new_id, open_assignments, visit_body
    from tests.conftest import csrf_token

    _publish_with_scenarios(demo_dir)
    (shopper,) = db_rows(demo_dir, "SELECT id FROM users WHERE email = 'shopper3@demo.test'")[0]
    (branch,) = db_rows(demo_dir, "SELECT min(id) FROM branches")[0]
    # The agency picks a declared scenario, or none; anything else is refused.
    login(demo_client, "admin@demo.test")
    form = {"shopper": shopper, "branches": branch, "start": "2027-03-01", "end": "2027-03-31"}
    assert '<option value="problem">Bring a problem</option>' in (
        demo_client.get("/admin/assignments").text
    )
    for key, status in (("wedding", 422), ("problem", 303)):
        made = demo_client.post(
            "/admin/assignments",
            data={"csrf_token": csrf_token(demo_client), **form, "scenario_key": key},
            follow_redirects=False,
        )
        assert made.status_code == status, made.text[:300]
    login(demo_client, "shopper3@demo.test")
    [march] = [a for a in open_assignments(demo_client) if a["window"]["start"] == "2027-03-01"]
    assert march["scenario_key"] == "problem"
    assert march["scenario_texts"] == {"en": "Bring a problem", "id": "Bawa masalah"}
    # Two of the shopper's open assignments on version 2: one with the problem scenario.
    login(demo_client, "shopper@demo.test")
    first, second = open_assignments(demo_client)[:2]
    db_write(
        demo_dir,
        [
            (
                "UPDATE assignments SET questionnaire_version = 2, scenario_key = ? WHERE id = ?",
                (key, a["id"]),
            )
            for key, a in (("problem", first), (None, second))
        ],
    )
    problem_answers = ("took_ownership", "resolution", "stayed_courteous")
    visits = {}
    for key, assignment in (("problem", first), (None, second)):
        assignment["questionnaire"] = {"id": "default", "version": 2}
        body = visit_body(assignment)
        for answer in problem_answers:
            body["answers"].pop(answer)
        visits[key] = new_id()
        answer = demo_client.put(f"/api/v1/visits/{visits[key]}", json=body)
        if key == "problem":  # the section is asked: its required questions are missing
            assert answer.status_code == 422
            paths = {d["path"] for d in answer.json()["error"]["details"]}
            assert paths == {f"answers.{q}" for q in problem_answers}
        else:  # not asked: the visit is complete without it, and scored without it
            assert answer.status_code == 201, answer.text
    login(demo_client, "reviewer@demo.test")
    report = demo_client.get(f"/visits/{visits[None]}.json").json()
    statuses = {q["key"]: q["status"] for s in report["sections"] for q in s["questions"]}
    assert {statuses[q] for q in problem_answers} == {"not_asked"}
    assert report["scenario_key"] is None and report["total"] is not None
    assert report["not_asked"] == 3
    page = demo_client.get(f"/visits/{visits[None]}").text
    assert "3 questions were not asked on this visit" in page


def test_an_answer_that_breaks_its_rule_is_refused_in_the_shoppers_language(
    demo_client: TestClient, demo_dir: Path
) -> None:
    from server.questionnaire import load_default
    from tests.api.conftest import new_id, open_assignments, visit_body

    definition = {**load_default(), "version": 2}
    for _s, q in iter_questions(definition):
        if q["key"] == "people_ahead":
            q["rule"] = {
                "question": "people_ahead",
                "at_most": 40,
                "message": {
                    "en": "Count the people ahead of you: at most 40.",
                    "id": "Hitung orang di depan Anda: paling banyak 40.",
                },
            }
    assert validate_definition(definition) == []
    login(demo_client, "shopper@demo.test")
    assignment = open_assignments(demo_client)[0]
    db_write(
        demo_dir,
        [
            published_version(demo_dir, definition),
            ("UPDATE assignments SET questionnaire_version = 2 WHERE id = ?", (assignment["id"],)),
        ],
    )
    assignment["questionnaire"] = {"id": "default", "version": 2}
    body = visit_body(assignment)
    body["answers"]["people_ahead"] = {"value": 400}
    refused = demo_client.put(
        f"/api/v1/visits/{new_id()}", json=body, headers={"accept-language": "id"}
    )
    assert refused.status_code == 422
    [detail] = refused.json()["error"]["details"]
    assert detail == {
        "path": "answers.people_ahead",
        "message": "Hitung orang di depan Anda: paling banyak 40.",
    }
    body["answers"]["people_ahead"] = {"value": 12}
    assert demo_client.put(f"/api/v1/visits/{new_id()}", json=body).status_code == 201


def test_nps_choices_and_questions_not_asked_are_counted_at_approval(
    demo_dir: Path, demo_template: Path
) -> None:
    """Two visits approved at once (review off): the branch dashboard shows the net
    promoter score with its n, how often each option was chosen, and the question one
    visit did not ask; recounting every approved visit gives the same counts."""
    import asyncio

    from server.app import create_app
    from server.engines import open_database
    from server.queries import rollups
    from server.question_types import TYPES
    from server.questionnaire import load_default
    from server.settings import Settings
    from tests.api.conftest import new_id, open_assignments, visit_body

    definition = {**load_default(), "version": 2}
    overall = next(s for s in definition["sections"] if s["key"] == "overall")
    overall["questions"] += [
        {"key": "recommend", "type": "nps", "text": {"en": "Would you recommend it?"}},
        {
            "key": "staff_did",
            "type": "multi_choice",
            "text": {"en": "What did staff do?"},
            "required": False,
            **TYPES["multi_choice"].defaults(),
        },
    ]
    for _s, q in iter_questions(definition):
        if q["key"] == "resolution":
            q["show_if"] = {"question": "took_ownership", "equals": True}
    assert validate_definition(definition) == []
    with TestClient(create_app(Settings(data_dir=demo_dir, review_required=False))) as client:
        login(client, "shopper@demo.test")
        first, second = open_assignments(client)[:2]
        db_write(
            demo_dir,
            [
                published_version(demo_dir, definition),
                *(
                    (
                        "UPDATE assignments SET questionnaire_version = 2, branch_id = ?"
                        " WHERE id = ?",
                        (first["branch_id"], a["id"]),
                    )
                    for a in (first, second)
                ),
            ],
        )
        for assignment, ownership, score, did in (
            (first, True, 10, ["greeted", "offered_help"]),
            (second, False, 3, ["on_the_phone"]),
        ):
            assignment["questionnaire"] = {"id": "default", "version": 2}
            body = visit_body(assignment)
            body["answers"] |= {
                "took_ownership": {"value": ownership},
                "recommend": {"value": score},
                "staff_did": {"value": did},
            }
            stored = client.put(f"/api/v1/visits/{new_id()}", json=body)
            assert stored.status_code == 201, stored.text
        login(client, "manager@demo.test")
        dashboard = client.get(f"/branches/{first['branch_id']}.json").json()
        page = client.get(f"/branches/{first['branch_id']}").text
        chain = client.get("/chains/1/compare.json").json()
        compare_page = client.get("/chains/1/compare").text
    answers = dashboard["answers"]
    [nps] = answers["nps"]
    assert (nps["score"], nps["answers"], nps["promoters"], nps["detractors"]) == (0, 2, 1, 1)
    [choices] = answers["choices"]
    shares = {o["key"]: (o["visits"], o["share"]) for o in choices["options"]}
    assert shares == {"greeted": (1, 50), "offered_help": (1, 50), "on_the_phone": (1, 50)}
    assert {q["key"]: q["visits"] for q in answers["not_asked"]} == {"resolution": 1}
    assert "Net promoter score: 0" in page and "What shoppers answered" in page
    # The chain's comparison: the same answers, and the score by branch.
    assert chain["answers"]["nps"] == answers["nps"]
    [at_branch] = [b for b in chain["branches"] if b["id"] == first["branch_id"]]
    assert at_branch["nps"] == {"recommend": {"score": 0, "answers": 2}}
    assert "Net promoter score by branch" in compare_page

    async def recount() -> tuple[list[Any], list[Any]]:
        async with open_database(os.environ.get("VISITSCORE_DATABASE_URL", ""), demo_dir) as db:
            query = "SELECT * FROM branch_month_answers ORDER BY 1, 2, 3, 4"
            before = [tuple(r) for r in await db.fetchall(query)]
            async with db.transaction() as tx:
                await rollups.rebuild(tx)
            return before, [tuple(r) for r in await db.fetchall(query)]

    before, after = asyncio.run(recount())
    assert before == after and len(before) >= 6
