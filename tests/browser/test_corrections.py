"""A reviewer corrects an answer in the browser (issue "Closing the loop for owners and
chains"): the form on the visit report, the badge, the original kept for the agency."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.browser.app_helpers import assert_accessible, sign_in
from tests.conftest import LiveServer, db_rows


def test_a_reviewer_corrects_an_answer_on_the_report(page: Page, app_server: LiveServer) -> None:
    (visit_id,) = db_rows(
        app_server.data_dir,
        "SELECT visit_uuid FROM visits WHERE state = 'submitted' ORDER BY id LIMIT 1",
    )[0]
    sign_in(page, app_server, "reviewer@demo.test")
    page.goto(f"{app_server.url}/visits/{visit_id}")
    answer = page.locator("#q-eye_contact + dd")
    answer.get_by_text("Correct this answer").click()
    answer.get_by_label("Answer", exact=True).fill("2")
    answer.get_by_label("Reason for the correction").fill("The video shows a smile.")
    assert_accessible(page, "visit report with a correction form open")
    answer.get_by_role("button", name="Save the correction").click()
    corrected = page.locator("#q-eye_contact + dd")
    expect(corrected).to_contain_text("2 of 4")
    expect(corrected.locator(".badge")).to_have_text("corrected by the agency")
    expect(corrected).to_contain_text("The shopper answered:")
    expect(page.locator("#corrected-note")).to_contain_text("The agency corrected 1 answer")
    expect(page.locator(".history")).to_contain_text("The video shows a smile.")


def test_an_owner_appeals_and_reads_the_decision(
    page: Page, browser: Browser, app_server: LiveServer
) -> None:
    visit_id, owner = db_rows(
        app_server.data_dir,
        "SELECT v.visit_uuid, u.email FROM visits v JOIN branch_owners o ON"
        " o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " WHERE v.state = 'submitted' ORDER BY v.id LIMIT 1",
    )[0]
    office = browser.new_context()
    reviewer = office.new_page()
    try:
        sign_in(reviewer, app_server, "reviewer@demo.test")
        reviewer.goto(f"{app_server.url}/visits/{visit_id}")
        reviewer.get_by_role("button", name="Approve", exact=True).click()

        sign_in(page, app_server, owner)
        page.goto(f"{app_server.url}/visits/{visit_id}")
        page.get_by_label("What is wrong").select_option(label="The scenario was not followed")
        page.get_by_label("Explain").fill("The shopper came on our closing day.")
        assert_accessible(page, "visit report with the appeal form")
        page.get_by_role("button", name="Appeal this visit").click()
        expect(page.locator("#appeal")).to_contain_text("The agency is looking at this appeal.")

        reviewer.goto(f"{app_server.url}/review")
        reviewer.locator(".appeal-queue a").first.click()
        reviewer.get_by_label("partly upheld").check()
        reviewer.get_by_label("Reason for the decision").fill("The shop was open, but late.")
        assert_accessible(reviewer, "visit report with an open appeal")
        reviewer.get_by_role("button", name="Decide the appeal").click()
    finally:
        office.close()
    page.reload()
    expect(page.locator("#appeal")).to_contain_text("Decision: partly upheld")
    expect(page.locator("#appeal")).to_contain_text("The shop was open, but late.")
