"""The loop for owners and chains in Chromium (issue "Closing the loop for owners and
chains"): a visit below target proposes a plan, the owner writes and finishes it, the
manager verifies it, the next visit reaches the target and the fix rate moves; then the
owner appeals that visit, the reviewer corrects an answer and upholds it, and the report,
the dashboard and the comparison change and say why."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import photo_corpus
from tests.browser.app_helpers import (
    assert_accessible,
    expect_outbox,
    log_in,
    record_visit,
    reviewer_decides,
    sign_in,
)
from tests.conftest import LiveServer, db_rows

TARGET = "80"  # the greeting a visit recorded by the helpers earns: 85.7


def office(browser: Browser, server: LiveServer, email: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, email)
    return context, page


def test_the_whole_loop(page: Page, browser: Browser, app_server: LiveServer) -> None:
    # The shopper's first card is the branch the loop runs at.
    log_in(page, app_server)
    branch_name = page.locator("ul.cards li strong").first.inner_text()
    ((branch, owner),) = db_rows(
        app_server.data_dir,
        "SELECT b.id, u.email FROM branches b JOIN branch_owners o ON o.branch_id = b.id"
        " JOIN users u ON u.id = o.user_id WHERE b.name = ?",
        (branch_name,),
    )

    admin, agency = office(browser, app_server, "admin@demo.test")
    agency.goto(f"{app_server.url}/admin/programme")
    agency.get_by_label("Section: Greeting").fill(TARGET)
    agency.get_by_role("button", name="Save").click()
    admin.close()

    # A recent visit scored the greeting below target: the dashboard proposes a plan.
    own, board = office(browser, app_server, owner)
    board.goto(f"{app_server.url}/branches/{branch}")
    proposals = board.locator("#proposals")
    expect(proposals).to_contain_text("Greeting scored")
    proposals.get_by_role("link", name="Write a plan for it").first.click()
    expect(board.get_by_label("Section it should improve")).to_have_value("greeting")
    board.get_by_label("What will change").fill("Say hello to every customer within a minute.")
    board.get_by_role("button", name="Save the plan").click()
    plan = board.locator(".plan", has_text="Say hello to every customer")
    expect(plan).to_contain_text("not started")
    # Done, with a photo of the new greeting sign as evidence (a real multipart form).
    plan.get_by_label("Evidence photo (optional)").set_input_files(
        files=[{"name": "sign.jpg", "mimeType": "image/jpeg", "buffer": photo_corpus.photo()}]
    )
    plan.get_by_role("button", name="Mark as done").click()
    plan = board.locator(".plan", has_text="Say hello to every customer")
    expect(plan).to_contain_text("Waiting for the next visit")
    expect(board.locator("#proposals")).to_have_count(0)  # a plan is under way

    chain_office, manager = office(browser, app_server, "manager@demo.test")
    manager.goto(f"{app_server.url}/branches/{branch}")
    manager.locator(".plan", has_text="Say hello to every customer").get_by_role(
        "button", name="Verify"
    ).click()
    expect(manager.locator(".plan", has_text="Say hello to every customer")).to_contain_text(
        "verified"
    )
    evidence = manager.locator(".plan", has_text="Say hello to every customer").get_by_role(
        "img", name="Evidence photo of this plan"
    )
    expect(evidence).to_be_visible()
    assert evidence.evaluate("img => img.complete && img.naturalWidth") == 320  # the thumb
    manager.goto(f"{app_server.url}/chains/1/compare?from=2026-01&to=2026-12")
    row = manager.locator("tr", has=manager.get_by_role("link", name=branch_name))
    before_score = row.locator("td.num").nth(1).inner_text()

    # The next visit, recorded in the app and approved, reaches the target.
    record_visit(page)
    expect_outbox(page, "Sent")
    visit_id = reviewer_decides(browser, app_server, "approve")
    board.reload()
    plan = board.locator(".plan", has_text="Say hello to every customer")
    expect(plan.locator(".next-visit")).to_contain_text("Fixed")
    expect(board.locator("#fix-rate")).to_contain_text("found 1 of 1 done plans")
    assert_accessible(board, "branch dashboard with a fixed plan")

    # The owner appeals that visit; the reviewer corrects an answer and upholds it.
    board.goto(f"{app_server.url}/visits/{visit_id}")
    score_before = board.locator(".big-score").inner_text()
    board.get_by_label("What is wrong").select_option("fact_wrong")
    board.get_by_label("Explain").fill("Our staff smiled: the CCTV shows it.")
    board.get_by_role("button", name="Appeal this visit").click()
    expect(board.locator("#appeal")).to_contain_text("The agency is looking at this appeal.")

    review_office, reviewer = office(browser, app_server, "reviewer@demo.test")
    reviewer.goto(f"{app_server.url}/review")
    reviewer.locator(".appeal-queue a").first.click()
    answer = reviewer.locator("#q-eye_contact + dd")
    answer.get_by_text("Correct this answer").click()
    answer.get_by_label("Answer", exact=True).fill("4")
    answer.get_by_label("Reason for the correction").fill("The CCTV shows a smile.")
    answer.get_by_role("button", name="Save the correction").click()
    reviewer.get_by_label("upheld", exact=True).check()
    reviewer.get_by_label("Reason for the decision").fill("The CCTV shows a smile.")
    reviewer.get_by_role("button", name="Decide the appeal").click()
    review_office.close()

    board.reload()
    expect(board.locator("#appeal")).to_contain_text("Decision: upheld")
    expect(board.locator("#q-eye_contact + dd .badge")).to_have_text("corrected by the agency")
    assert board.locator(".big-score").inner_text() != score_before  # rescored
    board.goto(f"{app_server.url}/branches/{branch}")
    expect(board.locator("#appeal-rates")).to_contain_text("Appealed: 1 of")
    own.close()

    manager.goto(f"{app_server.url}/chains/1/compare?from=2026-01&to=2026-12")
    row = manager.locator("tr", has=manager.get_by_role("link", name=branch_name))
    after_score = row.locator("td.num").nth(1).inner_text()
    expect(manager.locator("#fix-rate")).to_contain_text("found 1 of 1 done plans")
    assert re.sub(r"\D", "", after_score) != re.sub(r"\D", "", before_score)
    chain_office.close()
