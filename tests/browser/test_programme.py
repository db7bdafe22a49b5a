"""The agency runs a programme in a real browser: a new questionnaire is written,
previewed and published, visits are assigned to a set of branches, a shopper records one
in the app, a reviewer returns it, the shopper resubmits, the reviewer approves, and the
owner reads it. And a visit left open is claimed in the app."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from tests.browser.app_helpers import (
    answer_section,
    assert_accessible,
    expect_outbox,
    log_in,
    next_section,
    reviewer_decides,
    sign_in,
)
from tests.conftest import DEMO_TODAY, LiveServer, db_rows

# Far enough after the demo's assignments that no branch is "too soon" for anyone.
START = DEMO_TODAY + timedelta(days=90)
END = START + timedelta(days=6)


def write_and_publish(page: Page, server: LiveServer) -> None:
    """Admin: a new questionnaire with one section and two questions, then publish it."""
    page.get_by_role("link", name="Questionnaires").click()
    assert_accessible(page, "questionnaire list")
    page.get_by_label("Identifier").fill("quick-check")
    page.get_by_label("Title (English)").fill("Quick check")
    page.get_by_label("Title (Bahasa Indonesia)").fill("Cek cepat")
    page.get_by_role("button", name="Create the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quick check")
    expect(page.locator("#draft-problems")).to_contain_text("at least one section")
    page.get_by_label("Section title (English)").fill("Welcome")
    page.get_by_role("button", name="Add the section").click()
    for kind, text in (("yes_no", "Were you greeted within a minute?"), ("scale", "How warm?")):
        section = page.locator("#s-welcome")
        section.get_by_label("Type").select_option(kind)
        section.get_by_label("Question (English)").fill(text)
        section.get_by_role("button", name="Add the question").click()
        expect(page.locator("#s-welcome")).to_contain_text(text)
    assert_accessible(page, "questionnaire draft")
    page.get_by_role("link", name="Edit how_warm").click()
    expect(page.get_by_role("heading", name="Edit a question")).to_be_visible()
    assert_accessible(page, "question editor")
    page.get_by_label("Question (Bahasa Indonesia)").fill("Seberapa hangat?")
    page.get_by_label("Weight").fill("3")
    page.get_by_label("Highest answer").fill("5")
    page.get_by_role("button", name="Save the question").click()
    expect(page.locator("#q-how_warm")).to_contain_text("3")
    page.get_by_role("link", name="Preview as the shopper sees it").click()
    expect(page.locator("#maxima tbody tr").first).to_contain_text("4")  # weights 1 + 3
    page.get_by_role("link", name="Bahasa Indonesia").click()
    expect(page.get_by_text("Seberapa hangat?")).to_be_visible()
    assert_accessible(page, "questionnaire preview")
    page.goto(server.url + "/admin/questionnaires/quick-check")
    page.once("dialog", lambda dialog: dialog.accept())  # publishing asks first
    page.get_by_role("button", name="Publish version 1").click()
    expect(page.get_by_text("Version 1, published")).to_be_visible()


def assign(page: Page, server: LiveServer, shopper: str, branches: list[str]) -> None:
    page.goto(server.url + "/admin/assignments")
    page.get_by_label("Shopper", exact=True).select_option(label=shopper)
    page.get_by_label("Questionnaire").select_option("quick-check")
    for branch in branches:  # a searchable list of checkboxes
        page.get_by_label("Branches").fill(branch.split(" (")[0])
        page.get_by_role("checkbox", name=branch).check()
    page.get_by_label("Window starts").fill(START.isoformat())
    page.get_by_label("Window ends").fill(END.isoformat())
    page.get_by_label("Note for the shopper").fill("Ask for a birthday cake for 20 people.")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("heading", name="Open assignments")).to_be_visible()


def test_from_a_new_questionnaire_to_the_owners_report(
    page: Page, browser: Browser, app_server: LiveServer
) -> None:
    agency = browser.new_context()
    try:
        admin = agency.new_page()
        sign_in(admin, app_server, "admin@demo.test")
        write_and_publish(admin, app_server)
        assign(
            admin,
            app_server,
            "Sari Shopper",
            ["Toko Contoh Menteng (Jakarta)", "Toko Contoh Kemang (Jakarta)"],
        )
    finally:
        agency.close()
    made = db_rows(
        app_server.data_dir,
        "SELECT b.name, a.questionnaire_id, a.questionnaire_version FROM assignments a"
        " JOIN branches b ON b.id = a.branch_id WHERE a.window_start = ? ORDER BY b.name",
        (START.isoformat(),),
    )
    assert made == [
        ("Toko Contoh Kemang", "quick-check", 1),
        ("Toko Contoh Menteng", "quick-check", 1),
    ]

    log_in(page, app_server)  # Sari, in the shopper app
    card = page.locator(".cards li", has_text="Toko Contoh Menteng").filter(has_text="2027")
    expect(card).to_contain_text("Western Indonesia Time")  # the branch's time zone
    expect(card).to_contain_text("birthday cake")
    card.get_by_role("button", name="Start visit at").click()
    # The window opens in the future: the app says so and asks once more (the default).
    expect(card.get_by_role("alert")).to_contain_text("This visit's window opens on")
    card.get_by_role("button", name="Start anyway").click()
    # Nothing in this questionnaire is timed: no timing screen, straight to the questions.
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(page.get_by_role("link", name="Timing", exact=True)).to_have_count(0)
    answer_section(page)
    next_section(page)
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    # No greeting or queue lines: nothing in this visit is timed.
    expect(page.locator(".whole-visit h3")).to_have_text(["Welcome"])
    expect(page.locator(".whole-visit .facts")).to_have_count(0)
    page.get_by_role("button", name="Submit visit").click()
    expect_outbox(page, "Sent")

    note = "Say whether they offered a tasting."
    visit_id = reviewer_decides(browser, app_server, "return", note)
    page.goto(app_server.url + "/app/#/")
    page.reload()
    expect(page.get_by_text(note)).to_be_visible()
    page.get_by_role("button", name="Edit and send again").click()
    page.get_by_label("Anything else about this visit").fill("They offered a tasting.")
    page.get_by_role("button", name="Submit visit").click()
    expect_outbox(page, "Sent")
    assert reviewer_decides(browser, app_server, "approve") == visit_id
    assert db_rows(
        app_server.data_dir,
        "SELECT revision, state, questionnaire_id, questionnaire_version FROM visits"
        " WHERE visit_uuid = ? ORDER BY revision",
        (visit_id,),
    ) == [(1, "returned", "quick-check", 1), (2, "approved", "quick-check", 1)]

    owner = browser.new_context()
    try:
        owner_page = owner.new_page()
        sign_in(owner_page, app_server, "owner@demo.test")
        owner_page.goto(f"{app_server.url}/visits/{visit_id}")
        expect(owner_page.get_by_text("They offered a tasting.")).to_be_visible()
        expect(owner_page.get_by_text("Were you greeted within a minute?")).to_be_visible()
        expect(owner_page.get_by_text("Sari Shopper")).to_have_count(0)
        owner_page.goto(f"{app_server.url}/chains/1/compare")  # the new section is a column
        expect(owner_page.get_by_role("columnheader", name="Welcome")).to_be_visible()
        owner_page.goto(f"{app_server.url}/branches/1")  # Menteng's dashboard has it too
        expect(owner_page.get_by_role("rowheader", name="Welcome")).to_be_visible()
        owner_page.goto(f"{app_server.url}/branches/1/self-assessment")  # asked as visited
        expect(owner_page.get_by_text("Were you greeted within a minute?")).to_be_visible()
    finally:
        owner.close()


def test_a_visit_left_open_is_claimed_in_the_app(
    page: Page, browser: Browser, app_server: LiveServer
) -> None:
    agency = browser.new_context()
    try:
        admin = agency.new_page()
        sign_in(admin, app_server, "admin@demo.test")
        admin.goto(app_server.url + "/admin/assignments")
        admin.get_by_label("Shopper", exact=True).select_option(
            label="Nobody yet: open for any shopper to claim"
        )
        admin.get_by_role("checkbox", name="Toko Contoh Kuta (Bali)").check()
        admin.get_by_label("Window starts").fill(START.isoformat())
        admin.get_by_label("Window ends").fill(END.isoformat())
        admin.get_by_role("button", name="Create", exact=True).click()
        expect(admin.locator("tr", has_text="open to claim")).to_contain_text("Toko Contoh Kuta")
        assert_accessible(admin, "assignments with one open to claim")
    finally:
        agency.close()
    log_in(page, app_server, "shopper2@demo.test")
    offer = page.locator("#claimable li", has_text="Toko Contoh Kuta")
    expect(offer).to_contain_text("Central Indonesia Time")  # Bali's time zone
    assert_accessible(page, "app home with a visit to claim")
    offer.get_by_role("button", name="Claim the visit to Toko Contoh Kuta").click()
    expect(page.get_by_text("The visit to Toko Contoh Kuta is yours.")).to_be_visible()
    expect(page.locator("#claimable")).to_have_count(0)
    mine = page.locator(".cards li", has_text="Toko Contoh Kuta").filter(has_text="2027")
    expect(mine.get_by_role("button", name="Start visit at Toko Contoh Kuta")).to_be_visible()
    assert db_rows(
        app_server.data_dir,
        "SELECT u.email FROM assignments a JOIN users u ON u.id = a.shopper_id"
        " WHERE a.window_start = ?",
        (START.isoformat(),),
    ) == [("shopper2@demo.test",)]
