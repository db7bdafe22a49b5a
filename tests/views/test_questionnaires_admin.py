"""The questionnaire editor: create, edit a draft one change at a time, preview with the
maximum per section, publish as an immutable version, import and export in the browser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import csrf_from, db_rows, login

EDITOR = "/admin/questionnaires/{qid}"


def base_of(html: str) -> str:
    match = re.search(r'name="base" value="([0-9a-f]{16})"', html)
    assert match, "the page has no draft fingerprint"
    return match.group(1)


def change(client: TestClient, qid: str, op: str, **form: Any) -> Any:
    page = client.get(EDITOR.format(qid=qid)).text
    data = {"csrf_token": csrf_from(page), "op": op, "base": base_of(page), **form}
    return client.post(f"/admin/questionnaires/{qid}/draft", data=data, follow_redirects=False)


def create(client: TestClient, qid: str, **extra: str) -> Any:
    page = client.get("/admin/questionnaires").text
    data = {"csrf_token": csrf_from(page), "id": qid, "title_en": "Bakery 2027", **extra}
    return client.post("/admin/questionnaires", data=data, follow_redirects=False)


def stored(data: Path, qid: str) -> list[tuple[int, dict[str, Any], bool]]:
    return [
        (version, json.loads(definition), published is not None)
        for version, definition, published in db_rows(
            data,
            "SELECT version, definition, published_at FROM questionnaire_versions"
            " WHERE questionnaire_id = ? ORDER BY version",
            (qid,),
        )
    ]


def build_small(client: TestClient) -> None:
    """A draft with one section and two scored questions (weights 2 and 3)."""
    assert create(client, "bakery").status_code == 303
    assert change(client, "bakery", "add_section", title_en="Welcome").status_code == 303
    change(client, "bakery", "add_question", section="welcome", type="yes_no", text_en="Hello?")
    change(
        client, "bakery", "add_question", section="welcome", type="scale", text_en="Smile", key="s"
    )
    form = {
        "question": "hello",
        "type": "yes_no",
        "text_en": "Did they say hello?",
        "required": "1",
    }
    assert change(client, "bakery", "update_question", **form, weight="2").status_code == 303
    form = {"question": "s", "type": "scale", "text_en": "Smile", "min": "0", "max": "4"}
    form["required"] = "1"  # the box is ticked for scored questions
    assert change(client, "bakery", "update_question", **form, weight="3").status_code == 303


def test_an_admin_builds_previews_and_publishes_a_questionnaire(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    build_small(demo_client)
    [(version, draft, published)] = stored(demo_dir, "bakery")
    assert (version, published) == (1, False)
    assert [q["key"] for q in draft["sections"][0]["questions"]] == ["hello", "s"]
    assert draft["sections"][0]["questions"][1] == {
        "key": "s",
        "type": "scale",
        "text": {"en": "Smile"},
        "min": 0,
        "max": 4,
        "weight": 3,
    }
    change(demo_client, "bakery", "add_section", title_en="Paying", key="pay")
    change(demo_client, "bakery", "add_question", section="pay", type="timed", text_en="Queue")
    preview = demo_client.get("/admin/questionnaires/bakery/versions/1/preview")
    assert preview.status_code == 200
    table = preview.text.split('id="maxima"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td class=\"num\">(.*?)</td>", table)
    assert rows == [("Welcome", "5"), ("Paying", "1")]
    assert "83 %" in table  # 5 of 6 points
    publish_page = demo_client.get(EDITOR.format(qid="bakery")).text
    response = demo_client.post(
        "/admin/questionnaires/bakery/publish",
        data={"csrf_token": csrf_from(publish_page), "base": base_of(publish_page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    [(_, _, published)] = stored(demo_dir, "bakery")
    assert published
    audit = db_rows(
        demo_dir, "SELECT action FROM audit_log WHERE entity_id = 'bakery@1' ORDER BY id"
    )
    assert audit[-1] == ("questionnaire.published",)
    # a published version is shown, not edited; editing starts version 2 and leaves 1 as it was
    page = demo_client.get(EDITOR.format(qid="bakery")).text
    assert "Edit: start version 2" in page and 'name="op" value="add_section"' not in page
    demo_client.post(
        "/admin/questionnaires/bakery/draft",
        data={"csrf_token": csrf_from(page), "op": "start"},
        follow_redirects=False,
    )
    change(demo_client, "bakery", "delete_question", question="s")
    versions = stored(demo_dir, "bakery")
    assert [(v, p) for v, _, p in versions] == [(1, True), (2, False)]
    assert len(versions[0][1]["sections"][0]["questions"]) == 2
    assert len(versions[1][1]["sections"][0]["questions"]) == 1


def test_a_draft_with_problems_cannot_be_published_and_says_why(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    create(demo_client, "empty-one")
    change(demo_client, "empty-one", "add_section", title_en="Nothing yet")
    page = demo_client.get(EDITOR.format(qid="empty-one")).text
    assert "sections[0].questions" in page and "a section needs at least one question" in page
    response = demo_client.post(
        "/admin/questionnaires/empty-one/publish",
        data={"csrf_token": csrf_from(page), "base": base_of(page)},
    )
    assert response.status_code == 422
    assert "Fix the problems listed below before publishing." in response.text
    assert stored(demo_dir, "empty-one")[0][2] is False


def test_bad_edits_are_refused_with_the_reason_and_keep_what_was_typed(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    build_small(demo_client)
    before = stored(demo_dir, "bakery")
    form = {"question": "s", "type": "scale", "text_en": "Smile!", "min": "4", "max": "1"}
    response = change(demo_client, "bakery", "update_question", **form, weight="3")
    assert response.status_code == 422
    assert "The highest answer must be above the lowest." in response.text
    assert 'value="Smile!"' in response.text  # what was typed is still in the form
    response = change(
        demo_client,
        "bakery",
        "update_question",
        question="s",
        type="scale",
        text_en="Smile",
        min="0",
        max="4",
        weight="heavy",
    )
    assert response.status_code == 422 and "must be a number" in response.text
    response = change(demo_client, "bakery", "add_section", title_en="Dup", key="welcome")
    assert response.status_code == 422 and "already used" in response.text
    assert stored(demo_dir, "bakery") == before


def test_two_editors_at_once_cannot_overwrite_each_other(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    build_small(demo_client)
    old_page = demo_client.get(EDITOR.format(qid="bakery")).text
    change(demo_client, "bakery", "add_section", title_en="Paying")  # someone else's change
    response = demo_client.post(
        "/admin/questionnaires/bakery/draft",
        data={
            "csrf_token": csrf_from(old_page),
            "op": "delete_section",
            "section": "welcome",
            "base": base_of(old_page),
        },
    )
    assert response.status_code == 409
    assert "changed (or published) by someone else" in response.text
    [(_, draft, _)] = stored(demo_dir, "bakery")
    assert [s["key"] for s in draft["sections"]] == ["welcome", "paying"]


def test_a_copy_of_the_default_questionnaire_starts_a_new_one(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    assert create(demo_client, "copy", copy_from="default").status_code == 303
    [(_, draft, _)] = stored(demo_dir, "copy")
    [(_, default, _)] = stored(demo_dir, "default")[-1:]
    assert draft["id"] == "copy" and draft["title"] == {"en": "Bakery 2027"}
    assert draft["sections"] == default["sections"]
    again = create(demo_client, "copy")
    assert again.status_code == 422 and "There is already a questionnaire copy" in again.text


def test_import_in_the_browser_lists_every_problem_and_stores_nothing(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/admin/questionnaires").text
    bad = {
        "format": "visitscore-questionnaire",
        "format_version": 1,
        "questionnaire": {
            "id": "Bad Id",
            "title": {},
            "sections": [
                {
                    "key": "a",
                    "title": {"en": "A"},
                    "questions": [{"key": "q", "type": "stars", "text": {"en": "?"}}],
                }
            ],
        },
    }
    response = demo_client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": csrf_from(page)},
        files={"file": ("bad.json", json.dumps(bad).encode(), "application/json")},
    )
    assert response.status_code == 422
    for path in (
        "questionnaire.id",
        "questionnaire.title.en",
        "questionnaire.sections[0].questions[0].type",
    ):
        assert path in response.text
    assert db_rows(demo_dir, "SELECT count(*) FROM questionnaires") == [(1,)]
    not_json = demo_client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": csrf_from(page)},
        files={"file": ("x.json", b"{nope", "application/json")},
    )
    assert not_json.status_code == 422 and "not valid JSON" in not_json.text


def test_export_then_import_round_trips_and_can_publish_at_once(
    demo_client: TestClient, demo_dir: Path
) -> None:
    login(demo_client, "admin@demo.test")
    exported = demo_client.get("/admin/questionnaires/default/versions/1.json")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert document["format"] == "visitscore-questionnaire" and document["published"] is True
    document["questionnaire"]["id"] = "moved"
    page = demo_client.get("/admin/questionnaires").text
    response = demo_client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": csrf_from(page), "publish": "1"},
        files={"file": ("moved.json", json.dumps(document).encode(), "application/json")},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].endswith("/moved")
    [(version, definition, published)] = stored(demo_dir, "moved")
    assert (version, published) == (1, True)
    original = document["questionnaire"]
    assert definition["sections"] == original["sections"]
    missing = demo_client.get("/admin/questionnaires/default/versions/99.json")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_only_admins_write_questionnaires(demo_client: TestClient, demo_dir: Path) -> None:
    for email in (
        "reviewer@demo.test",
        "manager@demo.test",
        "owner@demo.test",
        "shopper@demo.test",
    ):
        login(demo_client, email)
        token = demo_client.cookies.get("vs_csrf") or csrf_from(demo_client.get("/").text)
        for path, data in (
            ("/admin/questionnaires", {"id": "sneaky", "title_en": "Sneaky"}),
            ("/admin/questionnaires/default/draft", {"op": "start"}),
            ("/admin/questionnaires/default/publish", {"base": "0" * 16}),
        ):
            response = demo_client.post(path, data={"csrf_token": token, **data})
            assert response.status_code == 403, (email, path)
            assert "This form has expired" not in response.text  # refused for the role
    assert db_rows(demo_dir, "SELECT count(*) FROM questionnaire_versions") == [(1,)]


def test_problems_are_reported_in_the_admins_language(demo_client: TestClient) -> None:
    login(demo_client, "admin@demo.test")
    page = demo_client.get("/admin/questionnaires").text
    bad = {"id": "x", "title": {"en": "X"}, "sections": []}
    response = demo_client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": csrf_from(page)},
        files={"file": ("bad.json", json.dumps(bad).encode(), "application/json")},
        headers={"accept-language": "id"},
    )
    assert response.status_code == 422
    assert "sections: setidaknya satu bagian wajib ada" in response.text


def test_every_question_type_is_offered_added_edited_and_previewed(
    demo_client: TestClient,
) -> None:
    from server.question_types import TYPES, type_name

    login(demo_client, "admin@demo.test")
    assert create(demo_client, "types").status_code == 303
    assert change(demo_client, "types", "add_section", title_en="All", key="all").status_code == 303
    offered = demo_client.get(EDITOR.format(qid="types")).text
    for kind in TYPES:
        assert f'<option value="{kind}">{type_name(kind)}</option>' in offered, kind
        added = change(
            demo_client, "types", "add_question", section="all", type=kind, text_en=kind, key=kind
        )
        assert added.status_code == 303, (kind, added.text[:300])
        edit = demo_client.get(f"/admin/questionnaires/types/questions/{kind}")
        assert edit.status_code == 200, kind
        if kind == "money":
            assert 'name="currency"' in edit.text and 'value="IDR"' in edit.text
    preview = demo_client.get("/admin/questionnaires/types/versions/1/preview")
    assert preview.status_code == 200
    assert '<span class="chip">10</span>' in preview.text  # the nps question's 0 to 10
    assert "IDR ▢" in preview.text  # the money question's amount


def test_an_admin_builds_a_scenario_section_and_a_follow_up_with_no_syntax_to_type(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """The issue's questionnaire, built with the editor's forms: a section asked only on
    the "return an item" scenario, a follow-up asked only after a "No", a rule."""
    login(demo_client, "admin@demo.test")
    assert create(demo_client, "returns").status_code == 303
    for text in ("Return an item", "Ask for a gift"):
        assert change(demo_client, "returns", "add_scenario", scenario_en=text).status_code == 303
    change(demo_client, "returns", "add_section", title_en="Welcome", key="welcome")
    change(
        demo_client,
        "returns",
        "add_question",
        section="welcome",
        type="number",
        text_en="Items bought",
        key="items",
    )
    change(demo_client, "returns", "add_section", title_en="Returns", key="returns")
    section = {
        "section": "returns",
        "title_en": "Returns",
        "show_kind": "scenario",
        "show_scenario": "return_an_item",
    }
    assert change(demo_client, "returns", "update_section", **section).status_code == 303
    change(
        demo_client,
        "returns",
        "add_question",
        section="returns",
        type="yes_no",
        text_en="Was your return accepted?",
        key="accepted",
    )
    change(
        demo_client,
        "returns",
        "add_question",
        section="returns",
        type="text",
        text_en="What reason were you given?",
        key="reason",
    )
    follow_up = {
        "question": "reason",
        "type": "text",
        "text_en": "What reason were you given?",
        "show_kind": "question",
        "show_question": "accepted",
        "show_op": "equals",
    }
    # Only earlier questions can decide, and the value must fit the question.
    itself = change(
        demo_client,
        "returns",
        "update_question",
        **{**follow_up, "show_question": "reason", "show_value": "no"},
    )
    assert itself.status_code == 422 and "Choose a question before this one." in itself.text
    wrong = change(demo_client, "returns", "update_question", **follow_up, show_value="maybe")
    assert wrong.status_code == 422 and "yes or no" in wrong.text
    done = change(demo_client, "returns", "update_question", **follow_up, show_value="no")
    assert done.status_code == 303, done.text[:300]
    rule = {
        "question": "items",
        "type": "number",
        "text_en": "Items bought",
        "rule_kind": "question",
        "rule_question": "items",
        "rule_op": "at_most",
        "rule_value": "50",
    }
    unexplained = change(demo_client, "returns", "update_question", **rule)
    assert unexplained.status_code == 422 and "message" in unexplained.text
    explained = change(
        demo_client,
        "returns",
        "update_question",
        **rule,
        rule_message_en="At most 50 items.",
        rule_message_id="Paling banyak 50.",
    )
    assert explained.status_code == 303
    page = demo_client.get(EDITOR.format(qid="returns")).text
    assert "Asked only when the scenario is “Return an item”." in page
    assert "Asked only when “Was your return accepted?” is No." in page
    assert "Answer must meet: “Items bought” is at most 50." in page
    preview = demo_client.get("/admin/questionnaires/returns/versions/1/preview").text
    assert "Asked only when “Was your return accepted?” is No." in preview
    publish_page = demo_client.get(EDITOR.format(qid="returns")).text
    published = demo_client.post(
        "/admin/questionnaires/returns/publish",
        data={"csrf_token": csrf_from(publish_page), "base": base_of(publish_page)},
        follow_redirects=False,
    )
    assert published.status_code == 303
    [(_, definition, is_published)] = stored(demo_dir, "returns")
    assert is_published
    sections = {s["key"]: s for s in definition["sections"]}
    assert sections["returns"]["show_if"] == {"scenario": "return_an_item"}
    questions = {q["key"]: q for s in definition["sections"] for q in s["questions"]}
    assert questions["reason"]["show_if"] == {"question": "accepted", "equals": False}
    assert questions["items"]["rule"] == {
        "question": "items",
        "at_most": 50,
        "message": {"en": "At most 50 items.", "id": "Paling banyak 50."},
    }
    assert [s["key"] for s in definition["scenarios"]] == ["return_an_item", "ask_for_a_gift"]
