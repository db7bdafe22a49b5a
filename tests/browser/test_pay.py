"""Shopper pay in Chromium (issue "The agency at scale"): the agency puts a fee on an
assignment, the shopper sees it in the app, the approved visit lands on the month's
statement, which the agency approves, marks paid and exports; the shopper reads it in
the app, offline too."""

from __future__ import annotations

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.api.conftest import visit_body
from tests.browser.app_helpers import (
    assert_accessible,
    log_in,
    reviewer_decides,
    sign_in,
    wait_offline_ready,
)
from tests.conftest import LiveServer, db_rows


def office(browser: Browser, server: LiveServer, email: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, server, email)
    return context, page


def test_a_fee_is_earned_stated_paid_exported_and_read_in_the_app(
    page: Page, context: BrowserContext, browser: Browser, app_server: LiveServer
) -> None:
    admin, agency = office(browser, app_server, "admin@demo.test")
    agency.goto(f"{app_server.url}/admin/assignments")
    agency.get_by_label("Shopper", exact=True).select_option(label="Sari Shopper")
    agency.get_by_role("checkbox", name="Toko Contoh Kemang (Jakarta)").check()
    agency.get_by_label("Window starts (branch's local date)").fill("2027-02-01")
    agency.get_by_label("Window ends").fill("2027-02-28")
    agency.get_by_label("Fee for the visit").fill("150,000")
    agency.get_by_role("button", name="Create").click()
    expect(agency.locator("table.data")).to_contain_text("IDR150,000")

    # The shopper sees what the visit pays, in the app.
    log_in(page, app_server)
    wait_offline_ready(page)
    card = page.locator("ul.cards li", has_text="Pays")
    expect(card).to_contain_text("Toko Contoh Kemang")
    expect(card).to_contain_text("Pays IDR 150,000")
    [assignment] = [
        a
        for a in page.request.get(f"{app_server.url}/api/v1/assignments").json()["assignments"]
        if a["pay"]
    ]
    visit_id = "3f1f3c7e-5b1a-4c7e-9d2a-2b1c0d9e8f71"
    sent = page.request.put(
        f"{app_server.url}/api/v1/visits/{visit_id}", data=visit_body(assignment)
    )
    assert sent.status == 201, sent.text()
    reviewer_decides(browser, app_server, "approve")
    [(month,)] = db_rows(app_server.data_dir, "SELECT month FROM pay_lines")

    # The agency makes the month's statements, approves and pays them, and exports.
    agency.goto(f"{app_server.url}/admin/pay")
    expect(agency.get_by_text(f"1 line of pay earned by {month}")).to_be_visible()
    agency.get_by_role("button", name=f"Make the statements of {month}").click()
    expect(agency.get_by_role("status")).to_have_text("1 statement made or brought up to date.")
    row = agency.locator("tr", has_text="Sari Shopper")
    expect(row).to_contain_text("IDR150,000")
    expect(row).to_contain_text("to approve")
    assert_accessible(agency, "shopper pay")
    agency.get_by_label("Choose the statement of Sari Shopper").check()
    agency.once("dialog", lambda dialog: dialog.dismiss())  # asked first: not yet
    agency.get_by_role("button", name="Approve the chosen statements").click()
    expect(row).to_contain_text("to approve")
    agency.once("dialog", lambda dialog: dialog.accept())
    agency.get_by_role("button", name="Approve the chosen statements").click()
    expect(agency.get_by_role("status")).to_have_text("1 statement approved for payment.")
    agency.get_by_label("Choose the statement of Sari Shopper").check()
    agency.get_by_label("Payment reference").fill("BCA 2026-11 batch 1")
    agency.once("dialog", lambda dialog: dialog.accept())
    agency.get_by_role("button", name="Mark paid").click()
    expect(agency.get_by_role("status")).to_have_text("1 statement marked paid.")
    expect(agency.locator("tr", has_text="Sari Shopper")).to_contain_text("BCA 2026-11 batch 1")
    with agency.expect_download() as download:
        agency.get_by_role("link", name="Download as CSV").click()
    exported = open(download.value.path(), encoding="utf-8-sig").read()
    assert "Sari Shopper,shopper@demo.test" in exported and "BCA 2026-11 batch 1" in exported
    admin.close()

    # The shopper reads the statement in the app, and still offline.
    page.get_by_role("button", name="Sync now").click()
    page.get_by_role("link", name="Your earnings").click()
    statement = page.locator(f".statement[data-month='{month}']")
    expect(statement).to_contain_text("IDR 150,000")
    expect(statement).to_contain_text("paid")
    expect(statement).to_contain_text("BCA 2026-11 batch 1")
    expect(statement).to_contain_text("Toko Contoh Kemang")
    assert_accessible(page, "earnings")
    context.set_offline(True)
    page.reload()
    expect(page.locator(f".statement[data-month='{month}']")).to_contain_text("IDR 150,000")
