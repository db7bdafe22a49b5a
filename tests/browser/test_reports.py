"""Report pages in a real browser: readable without JavaScript, and no WCAG A/AA issue."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.app_helpers import assert_accessible, sign_in
from tests.conftest import LiveServer, db_rows


@pytest.mark.parametrize(
    "email",
    [
        "admin@demo.test",
        "reviewer@demo.test",
        "manager@demo.test",
        "owner@demo.test",
        "shopper@demo.test",
    ],
)
def test_every_start_page_is_accessible(page: Page, live_server: LiveServer, email: str) -> None:
    sign_in(page, live_server, email)
    assert_accessible(page, f"home of {email}")


def test_report_dashboard_and_comparison_are_accessible_and_work_without_js(
    browser: object, live_server: LiveServer
) -> None:
    visit_id = db_rows(
        live_server.data_dir,
        "SELECT v.visit_uuid FROM visits v JOIN visit_photos vp"
        " ON vp.visit_id = v.id WHERE v.state = 'approved' LIMIT 1",
    )[0][0]
    branch = db_rows(live_server.data_dir, "SELECT id FROM branches WHERE code = 'JKT-KMG'")[0][0]
    for javascript in (True, False):
        context = browser.new_context(java_script_enabled=javascript)  # type: ignore[attr-defined]
        page = context.new_page()
        try:
            sign_in(page, live_server, "manager@demo.test")
            for path, heading in (
                (f"/visits/{visit_id}", "Visit report"),
                (f"/branches/{branch}", "Toko Contoh Kemang"),
                ("/chains/1/compare", "Compare branches"),
            ):
                page.goto(live_server.url + path)
                expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
                if javascript:
                    assert_accessible(page, path)
                else:
                    expect(page.locator("svg.chart, .big-score").first).to_be_visible()
            page.goto(live_server.url + "/chains/1/compare")
            page.get_by_label("Region", exact=True).select_option("Bali")
            page.get_by_role("button", name="Show").click()
            expect(page.locator("table.heat tbody tr")).to_have_count(4)
        finally:
            context.close()


def test_the_self_assessment_form_is_accessible_and_updates_the_gap(
    page: Page, live_server: LiveServer
) -> None:
    branch = db_rows(live_server.data_dir, "SELECT id FROM branches WHERE code = 'JKT-PLT'")[0][0]
    sign_in(page, live_server, "owner@demo.test")
    page.goto(f"{live_server.url}/branches/{branch}")
    page.get_by_role("link", name="Update your self-assessment").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Self-assessment")
    assert_accessible(page, "self-assessment")
    page.get_by_role("group", name="Was your problem solved during the visit?").get_by_label(
        "Passed on, not resolved"
    ).check()
    page.get_by_role("button", name="Save my self-assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Toko Contoh Pluit")
    problem = page.get_by_role("row", name=re.compile("^Problem handling"))
    expect(problem.locator("td").nth(1)).to_have_text("0")  # a failed critical question


def test_the_agencys_pages_are_accessible(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "admin@demo.test")
    for path, heading in (
        ("/admin/users", "People"),
        ("/admin/programme", "Programme settings"),
        ("/admin/assignments", "Assignments"),
        ("/admin/branches", "Chains and branches"),
        ("/admin/questionnaires", "Questionnaires"),
        ("/admin/questionnaires/default", "Store visit"),
        ("/admin/questionnaires/default/versions/1/preview", "Preview of version 1"),
        ("/review", "Review queue"),
        ("/admin/jobs", "Background jobs"),
        ("/account/mail", "Your mail"),
        ("/account/password", "Your password"),
        ("/admin/webhooks", "Webhooks"),
        ("/chains/1/tokens", "API tokens: Toko Contoh"),
    ):
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page, path)


def test_an_export_is_asked_for_followed_and_downloaded_in_the_browser(
    page: Page, app_server: LiveServer
) -> None:
    """From the comparison page: ask for every visit as CSV, watch the page follow the
    job (no reload needed), download the file; the export page is accessible."""
    sign_in(page, app_server, "manager@demo.test")
    page.goto(app_server.url + "/chains/1/compare")
    page.get_by_label("Format").select_option("csv")
    first = page.get_by_label("First month", exact=True).input_value()
    last = page.get_by_label("Last month", exact=True).input_value()
    page.get_by_role("button", name="Make the export").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Export of")
    link = page.get_by_role("link", name=re.compile(r"Download visits-.*\.csv"))
    expect(link).to_be_visible(timeout=20_000)
    expect(page.get_by_role("status")).to_contain_text("ready")
    assert_accessible(page, "export page")
    with page.expect_download() as waiting:
        link.click()
    download = waiting.value
    assert download.suggested_filename == f"visits-TOKO-{first}-to-{last}.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as fh:
        made = fh.read()
    streamed = page.request.get(f"{app_server.url}/chains/1/visits.csv?from={first}&to={last}")
    assert made == streamed.body().decode("utf-8-sig")
    assert made.startswith("Visit,Date,Branch") and len(made.splitlines()) > 10


def test_the_questionnaire_editor_with_conditions_is_accessible(
    page: Page, app_server: LiveServer
) -> None:
    """A draft's editor (scenarios, a section's "when it is asked") and a question's page
    (when it is asked, its rule), as the agency edits them."""
    sign_in(page, app_server, "admin@demo.test")
    page.goto(app_server.url + "/admin/questionnaires/default")
    page.get_by_role("button", name="Edit: start version 2").click()
    page.get_by_text("Add a scenario").click()
    page.get_by_label("Scenario (English)").fill("Return an item")
    page.get_by_role("button", name="Add the scenario").click()
    expect(page.locator("#scenarios")).to_contain_text("Return an item")
    page.locator("#s-problem_handling summary").first.click()
    page.locator("#ss-problem_handling-kind").select_option("scenario")
    page.locator("#s-problem_handling").get_by_role("button", name="Save the section").click()
    expect(page.locator("#s-problem_handling")).to_contain_text(
        "Asked only when the scenario is “Return an item”."
    )
    assert_accessible(page, "questionnaire editor with a draft")
    page.goto(app_server.url + "/admin/questionnaires/default/questions/resolution")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit a question")
    assert_accessible(page, "question editor")
    # The follow-up only after a "No": picked, not typed as an expression.
    page.locator("#qs-kind").select_option("question")
    page.locator("#qs-question").select_option("took_ownership")
    page.locator("#qs-op").select_option("equals")
    page.locator("#qs-value").fill("no")
    page.get_by_role("button", name="Save the question").click()
    asked = "Did the person you asked take ownership instead of passing you on?"
    expect(page.locator("#s-problem_handling")).to_contain_text(f"Asked only when “{asked}” is No.")
    page.once("dialog", lambda dialog: dialog.accept())  # publishing asks first
    page.get_by_role("button", name="Publish version 2").click()
    expect(page.get_by_role("button", name="Edit: start version 3")).to_be_visible()
    published = db_rows(
        app_server.data_dir,
        "SELECT definition FROM questionnaire_versions WHERE questionnaire_id = 'default'"
        " AND version = 2 AND published_at IS NOT NULL",
    )
    assert published, "version 2 was not published"
    definition = json.loads(published[0][0])
    questions = {q["key"]: q for s in definition["sections"] for q in s["questions"]}
    assert questions["resolution"]["show_if"] == {"question": "took_ownership", "equals": False}
    [returns] = [s for s in definition["sections"] if s["key"] == "problem_handling"]
    assert returns["show_if"] == {"scenario": "return_an_item"}


def test_the_preview_tries_conditions_live(page: Page, app_server: LiveServer) -> None:
    """A version whose follow-up is asked only once staff took ownership: the preview
    hides it until the editor answers "Yes" in "Try the conditions"."""
    from tests.browser.test_app_conditions import _version_2_asks_resolution_only_after_ownership

    _version_2_asks_resolution_only_after_ownership(app_server.data_dir)
    sign_in(page, app_server, "admin@demo.test")
    page.goto(app_server.url + "/admin/questionnaires/default/versions/2/preview")
    resolution = page.locator('.preview li[data-question="resolution"]')
    expect(resolution).to_be_hidden()
    expect(page.get_by_role("status")).to_contain_text("not asked with these answers: 1")
    assert_accessible(page, "preview with conditions")
    page.get_by_label("Did the person you asked take ownership").select_option("true")
    expect(resolution).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("not asked with these answers: 0")
    page.get_by_label("Did the person you asked take ownership").select_option("false")
    expect(resolution).to_be_hidden()
