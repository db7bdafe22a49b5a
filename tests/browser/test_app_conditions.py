"""The app decides which questions a visit asks as the server does (the shared cases in
tests/cases/visibility.json, run by the app's own evaluator in Chromium), and shows a
follow-up question only once the answer it depends on is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from server.questionnaire import iter_questions, load_default, resolved
from tests.browser.app_helpers import log_in, next_section, start_visit
from tests.conftest import LiveServer, copy_data, db_rows, db_write, published_version

SHARED = json.loads((Path(__file__).parent.parent / "cases" / "visibility.json").read_text())


def test_the_app_decides_visibility_as_the_server_does(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/app/")
    results = page.evaluate(
        """async ([cases, definition]) => {
            const conditions = await import('/app/conditions.js');
            const order = definition.sections.flatMap((s) => s.questions.map((q) => q.key));
            return cases.map((c) => {
                const shown = conditions.visible(definition, c.answers, c.scenario);
                return order.filter((k) => shown.has(k));
            });
        }""",
        [SHARED["cases"], resolved(SHARED["definition"])],
    )
    for case, found in zip(SHARED["cases"], results, strict=True):
        assert found == case["visible"], case["name"]


def test_the_app_finds_broken_rules_as_the_server_does(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/app/")
    results = page.evaluate(
        """async ([cases, definition]) => {
            const conditions = await import('/app/conditions.js');
            return cases.map((c) => conditions.brokenRules(definition, c.answers, c.scenario)
                .map((b) => b.key));
        }""",
        [SHARED["rule_cases"], resolved(SHARED["definition"])],
    )
    for case, found in zip(SHARED["rule_cases"], results, strict=True):
        assert found == case["broken"], case["name"]


def _version_2_asks_resolution_only_after_ownership(data: Path) -> None:
    definition = {**load_default(), "version": 2}
    for _s, q in iter_questions(definition):
        if q["key"] == "resolution":
            q["show_if"] = {"question": "took_ownership", "equals": True}
        if q["key"] == "people_ahead":
            q["rule"] = {
                "question": "people_ahead",
                "at_most": 40,
                "message": {"en": "Count the people ahead of you: at most 40."},
            }
    statements: list[tuple[str, Any]] = [
        published_version(data, definition),
        ("UPDATE assignments SET questionnaire_version = 2 WHERE state = 'open'", ()),
    ]
    db_write(data, statements)


def test_a_follow_up_appears_after_the_answer_it_depends_on(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    _version_2_asks_resolution_only_after_ownership(data)
    server = LiveServer(data)
    try:
        log_in(page, server)
        start_visit(page)
        page.get_by_role("link", name="Go to the questions").click()
        expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
        while page.locator("h1").inner_text() != "Problem handling":
            next_section(page)
        # A rule speaks as soon as an answer breaks it, and is quiet once it is right.
        page.get_by_role("link", name="Questions").click()
        expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
        while page.locator("h1").inner_text() != "Checkout availability":
            next_section(page)
        rule = page.locator("#rule-people_ahead")
        expect(rule).to_be_hidden()
        page.locator("#q-people_ahead input").fill("400")
        expect(rule).to_have_text("Count the people ahead of you: at most 40.")
        page.locator("#q-people_ahead input").fill("4")
        expect(rule).to_be_hidden()
        page.locator("#q-people_ahead input").fill("41")
        while page.locator("h1").inner_text() != "Problem handling":
            next_section(page)
        ownership = page.locator("#q-took_ownership")
        resolution = page.locator("#q-resolution")
        expect(resolution).to_be_hidden()
        ownership.get_by_text("Yes", exact=True).click()
        expect(resolution).to_be_visible()
        ownership.get_by_text("No", exact=True).click()
        expect(resolution).to_be_hidden()
        # Not asked, so not missing: the review does not ask for it.
        page.goto(page.url.rsplit("/section/", 1)[0] + "/review")
        expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
        todo = page.locator(".missing")
        text = todo.inner_text() if todo.count() else ""
        assert "Was your problem solved" not in text
        # With ownership taken, the resolution is asked, and missing until answered.
        page.go_back()
        page.locator("#q-took_ownership").get_by_text("Yes", exact=True).click()
        page.goto(page.url.rsplit("/section/", 1)[0] + "/review")
        expect(page.locator(".missing")).to_contain_text("Was your problem solved")
        # The broken rule blocks the visit too, in the shopper's words.
        expect(page.locator(".missing")).to_contain_text("at most 40")
    finally:
        server.stop()


def test_a_section_only_for_another_scenario_is_never_shown(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    from tests.test_conditions import _publish_with_scenarios

    data = copy_data(demo_template, tmp_path / "data")
    _publish_with_scenarios(data)
    (shopper,) = db_rows(data, "SELECT id FROM users WHERE email = 'shopper@demo.test'")[0]
    first, second = db_rows(
        data,
        "SELECT id FROM assignments WHERE shopper_id = ? AND state = 'open'"
        " ORDER BY window_start, id LIMIT 2",
        (shopper,),
    )
    db_write(
        data,
        [
            (
                "UPDATE assignments SET questionnaire_version = 2, scenario_key = ? WHERE id = ?",
                (key, row[0]),
            )
            for key, row in (("problem", first), (None, second))
        ],
    )
    server = LiveServer(data)
    try:
        log_in(page, server)
        cards = page.locator("ul.cards li")
        expect(cards.nth(0).locator(".scenario")).to_contain_text("Bring a problem")
        assert _section_titles(page, server, 0, 5).count("Problem handling") == 1
        # The visit's screens say the scenario too, in the shopper's language.
        expect(page.locator(".visit-head .scenario")).to_have_text("Scenario: Bring a problem")
        # Started, the first assignment leaves the list: the next one is first now.
        assert "Problem handling" not in _section_titles(page, server, 0, 4)
    finally:
        server.stop()


def _section_titles(page: Page, server: LiveServer, nth: int, total: int) -> list[str]:
    """Start the nth assignment's visit and walk its sections: their titles."""
    page.goto(server.url + "/app/#/")
    start_visit(page, nth)
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    titles: list[str] = []
    while True:
        titles.append(page.locator("h1").inner_text())
        expect(page.get_by_text(f"Section {len(titles)} of {total}")).to_be_visible()
        if page.locator(".pager a.primary").inner_text() == "Review":
            return titles
        next_section(page)


def test_several_choices_are_checked_and_kept_in_the_draft(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    from server.question_types import TYPES

    data = copy_data(demo_template, tmp_path / "data")
    definition = {**load_default(), "version": 2}
    overall = next(s for s in definition["sections"] if s["key"] == "overall")
    overall["questions"].insert(
        0,
        {
            "key": "staff_did",
            "type": "multi_choice",
            "text": {"en": "What did staff do?"},
            "weight": 1,
            **TYPES["multi_choice"].defaults(),
        },
    )
    db_write(
        data,
        [
            published_version(data, definition),
            ("UPDATE assignments SET questionnaire_version = 2 WHERE state = 'open'", ()),
        ],
    )
    server = LiveServer(data)
    try:
        log_in(page, server)
        start_visit(page)
        page.get_by_role("link", name="Go to the questions").click()
        expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
        while page.locator("h1").inner_text() != "Overall":
            next_section(page)
        field = page.locator("#q-staff_did")
        field.get_by_label("Greeted me").check()
        field.get_by_label("Offered help").check()
        field.get_by_label("Greeted me").uncheck()
        field.get_by_label("Was on the phone").check()
        kept = page.evaluate(
            """async () => {
                const db = await import('/app/db.js');
                return (await db.all('drafts'))[0].answers.staff_did;
            }"""
        )
        assert kept == {"value": ["offered_help", "on_the_phone"]}
    finally:
        server.stop()


def test_visits_recorded_under_both_scenarios_are_scored_by_what_they_asked(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    """The issue's end to end: a shopper records and sends one visit with the "problem"
    scenario and one without; the server scores the problem section only on the first,
    and the report of the second says its questions were not asked."""
    import time

    from tests.browser.app_helpers import answer_section
    from tests.test_conditions import _publish_with_scenarios

    data = copy_data(demo_template, tmp_path / "data")
    _publish_with_scenarios(data)
    (shopper,) = db_rows(data, "SELECT id FROM users WHERE email = 'shopper@demo.test'")[0]
    first, second = db_rows(
        data,
        "SELECT id FROM assignments WHERE shopper_id = ? AND state = 'open'"
        " ORDER BY window_start, id LIMIT 2",
        (shopper,),
    )
    db_write(
        data,
        [
            (
                "UPDATE assignments SET questionnaire_version = 2, scenario_key = ? WHERE id = ?",
                (key, row[0]),
            )
            for key, row in (("problem", first), (None, second))
        ],
    )
    server = LiveServer(data)
    try:
        log_in(page, server)
        for _ in range(2):  # each time the next open assignment is the first one listed
            page.goto(server.url + "/app/#/")
            start_visit(page, 0)
            page.get_by_role("link", name="Go to the questions").click()
            expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
            while True:
                answer_section(page)
                if page.locator(".pager a.primary").inner_text() == "Review":
                    break
                next_section(page)
            page.locator(".pager a.primary").click()
            expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
            todo = page.locator(".missing")
            assert not todo.count(), todo.inner_text()
            page.get_by_role("button", name="Submit visit").click()
            expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
        deadline = time.monotonic() + 20
        query = (
            "SELECT a.scenario_key, v.state, v.scores FROM visits v"
            " JOIN assignments a ON a.id = v.assignment_id WHERE a.id IN (?, ?)"
        )
        while len(rows := db_rows(data, query, (first[0], second[0]))) < 2:
            assert time.monotonic() < deadline, rows
            page.wait_for_timeout(200)
    finally:
        server.stop()
    earned = {key: json.loads(scores)["earned"] for key, _state, scores in rows}
    assert {state for _key, state, _scores in rows} == {"submitted"}
    # The problem section's three scored questions: scored on the problem visit, not
    # asked (nothing earned, nothing possible) on the other.
    problem_positions = [
        i
        for i, q in enumerate(q for s in load_default()["sections"] for q in s["questions"])
        if q["key"] in ("took_ownership", "resolution", "stayed_courteous")
    ]
    assert all(earned["problem"][i] is not None for i in problem_positions)
    assert all(earned[None][i] is None for i in problem_positions)
