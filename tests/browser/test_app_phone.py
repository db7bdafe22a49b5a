"""The shopper app on a phone-sized screen (360 × 740), issue "The shopper app on real
phones": where a screen opens, what the review's links lead to, and the small words."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.app_helpers import (
    add_photos,
    answer_section,
    assert_accessible,
    expect_outbox,
    log_in,
    next_section,
    record_offline,
    record_visit,
    reviewer_decides,
    sign_in,
    start_visit,
    wait_offline_ready,
)
from tests.conftest import LiveServer, copy_data, db_rows, db_write

PHONE = {"width": 360, "height": 740}


def test_the_next_section_opens_at_its_top(page: Page, app_server: LiveServer) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    page.locator(".pager a.primary").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 300  # the pager is far down a phone's screen
    next_section(page)
    assert page.evaluate("window.scrollY") == 0
    expect(page.get_by_role("heading", level=1)).to_be_in_viewport()


def test_a_still_missing_link_opens_its_question(page: Page, app_server: LiveServer) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Review").click()
    missing = page.locator(".missing a")
    expect(missing.first).to_be_visible()
    # One far down its section: the app scrolls to it and puts the focus in it.
    link = page.locator(".missing a", has_text="Did staff say goodbye as you left?")
    link.click()
    question = page.locator("#q-farewell")
    expect(question).to_be_in_viewport()
    focused = page.evaluate("document.activeElement.closest('.question')?.id")
    assert focused == "q-farewell"


def test_the_home_screen_says_only_what_is_true(
    page: Page, context: BrowserContext, demo_template: Path, tmp_path: Path
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    (shopper,) = db_rows(data, "SELECT id FROM users WHERE email = 'shopper@demo.test'")[0]
    (branch,) = db_rows(
        data,
        "SELECT branch_id FROM assignments WHERE shopper_id = ? AND state = 'open'"
        " ORDER BY window_start, id LIMIT 1",
        (shopper,),
    )[0]
    db_write(data, [("UPDATE branches SET address = '' WHERE id = ?", (branch,))])
    server = LiveServer(data)
    try:
        page.set_viewport_size(PHONE)
        log_in(page, server)
        first = page.locator("ul.cards li").first
        expect(first).to_be_visible()
        card = first.inner_text()
        assert ", \n" not in card and not any(line.startswith(",") for line in card.splitlines())
        # The questionnaire, the window relative to today, and the branch in the map app.
        expect(first.locator(".questionnaire")).to_have_text("Store visit")
        expect(first.locator(".when")).to_have_text(re.compile(r"^(Starts|Ends|Ended) "))
        href = first.locator(".map-link").get_attribute("href") or ""
        assert href.startswith("geo:") and "?q=" in href
        # Nothing unsent: the storage line is no warning.
        expect(page.locator("#storage-status")).not_to_have_class("notice")
        expect(page.locator("#storage-status")).not_to_contain_text("may clear its storage")
        # "Sync now" with no connection says why nothing happens.
        context.set_offline(True)
        page.get_by_role("button", name="Sync now").click()
        expect(page.locator("#toast")).to_contain_text(
            "You are offline. Everything you record is kept"
        )
    finally:
        context.set_offline(False)
        server.stop()


def test_a_window_is_said_relative_to_the_branchs_today(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/app/")
    said = page.evaluate(
        """async () => {
            const util = await import('/app/util.js');
            const noonUtc = new Date('2026-12-02T12:00:00Z');
            return {
                jakarta: util.todayIn('Asia/Jakarta', noonUtc),
                auckland: util.todayIn('Pacific/Auckland', noonUtc),
                four: util.daysBetween('2026-12-02', '2026-12-06'),
                words: ['en', 'id', 'fr'].map((l) => util.relativeDays(1, l)),
            };
        }"""
    )
    assert said == {
        "jakarta": "2026-12-02",
        "auckland": "2026-12-03",  # already tomorrow there
        "four": 4,
        "words": ["tomorrow", "besok", "demain"],
    }


def test_the_review_shows_the_whole_visit_with_a_way_back_to_each_item(
    page: Page, app_server: LiveServer
) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    answer_section(page)
    question = page.locator("#q-greeted_verbally")
    question.locator("summary", has_text="Comment").click()
    question.get_by_label("Comment").fill("Said hello from the till")
    next_section(page)  # checkout: answered, with a photo
    answer_section(page)
    add_photos(page, 1)
    next_section(page)  # personalization: left unanswered
    page.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()

    whole = page.locator(".whole-visit")
    expect(whole.locator("h3")).to_have_text(
        [
            "Timing",
            "Greeting",
            "Checkout availability",
            "Personalization",
            "Problem handling",
            "Overall",
        ]
    )
    # The stamps with their times, the measured waits, where the phone was.
    timing = whole.locator(".review-section", has=page.locator("h3", has_text="Timing"))
    expect(timing.locator("dt").first).to_have_text("Entered")
    expect(timing.locator("dd").first).to_have_text(re.compile(r"\d{1,2}[:.]\d{2}[:.]\d{2}"))
    expect(timing).to_contain_text("Time waiting in the queue")
    expect(whole.locator(".location")).to_contain_text("No location")

    def item(text: str) -> Locator:
        return whole.locator("dt", has_text=text).locator("xpath=following-sibling::dd[1]")

    expect(item("Did a member of staff greet you out loud?")).to_contain_text("Yes")
    expect(item("Did a member of staff greet you out loud?")).to_contain_text(
        "Comment: Said hello from the till"
    )
    expect(item("Eye contact and smile")).to_contain_text("0 on a scale of 0 to 4")
    expect(item("Staffed tills open / total")).to_contain_text("1 of 2 open")
    expect(item("Photo of the checkout area").locator("img")).to_have_count(1)
    expect(item("Did staff ask what you needed?")).to_contain_text("Not answered")
    assert_accessible(page, "review with the whole visit")
    assert (
        page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    )  # no sideways scroll

    # Each item leads back to its question.
    page.get_by_role("link", name="Change: Did staff ask what you needed?").click()
    expect(page.locator("#q-asked_needs")).to_be_in_viewport()
    focused = page.evaluate("document.activeElement.closest('.question')?.id")
    assert focused == "q-asked_needs"


def test_a_visit_before_its_window_is_allowed_warned_or_refused_as_the_programme_says(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    data = copy_data(demo_template, tmp_path / "data")
    (shopper,) = db_rows(data, "SELECT id FROM users WHERE email = 'shopper@demo.test'")[0]
    early = db_rows(
        data,
        "SELECT a.id, b.name FROM assignments a JOIN branches b ON b.id = a.branch_id"
        " WHERE a.shopper_id = ? AND a.state = 'open' ORDER BY a.window_start, a.id LIMIT 2",
        (shopper,),
    )
    ((_, branch), (_, other)) = early
    opens = date.today() + timedelta(days=4)
    db_write(
        data,
        [
            (
                "UPDATE assignments SET window_start = ?, window_end = ? WHERE id = ?",
                [(opens.isoformat(), (opens + timedelta(days=6)).isoformat(), a) for a, _ in early],
            )
        ],
    )
    said = f"This visit's window opens on {opens:%b} {opens.day}, {opens.year}."
    choose = "UPDATE programme_settings SET value = ? WHERE key = ?"
    db_write(
        data,
        [
            (
                "INSERT INTO programme_settings (key, value, updated_at) VALUES"
                " ('early_visits', '\"refuse\"', '2026-12-02T00:00:00Z')",
                (),
            )
        ],
    )
    server = LiveServer(data)
    try:
        page.set_viewport_size(PHONE)
        log_in(page, server)
        # Refuse: the app waits for the window.
        card = page.locator("ul.cards li", has_text=branch).filter(has_text="window opens")
        expect(card).to_contain_text(said + " You can start it from that day.")
        expect(card.get_by_role("button", name="Start visit at")).to_be_disabled()

        # Warn (the default): one more question first, which can be declined.
        db_write(data, [(choose, ('"warn"', "early_visits"))])
        page.reload()
        expect(card).to_contain_text(said)
        expect(card).not_to_contain_text("You can start it from that day.")
        card.get_by_role("button", name="Start visit at").click()
        expect(card.get_by_role("alert")).to_contain_text("may not be accepted")
        expect(card.get_by_role("button", name="Start anyway")).to_be_focused()
        assert_accessible(page, "a visit before its window")
        card.get_by_role("button", name="Not yet").click()
        expect(card.get_by_role("button", name="Start visit at")).to_be_visible()
        card.get_by_role("button", name="Start visit at").click()
        card.get_by_role("button", name="Start anyway").click()
        expect(page.get_by_role("heading", name="Timing", level=1)).to_be_visible()

        # Allow: the card only says when the window is ("Starts in 4 days") and starts.
        db_write(data, [(choose, ('"allow"', "early_visits"))])
        page.goto(server.url + "/app/#/")
        page.reload()
        card = page.locator("ul.cards li", has_text=other).filter(has_text="Start visit at")
        expect(card.locator(".when")).to_have_text(re.compile(r"^Starts in \d days$"))
        expect(card).not_to_contain_text("window opens")
        card.get_by_role("button", name="Start visit at").click()
        expect(page.get_by_role("heading", name="Timing", level=1)).to_be_visible()
    finally:
        server.stop()


def test_the_shopper_learns_what_became_of_each_visit_and_a_returned_one_opens_where_pointed(
    page: Page, context: BrowserContext, browser: Browser, app_server: LiveServer
) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, app_server)
    wait_offline_ready(page)
    record_visit(page)
    page.get_by_role("link", name="Home").click()
    record_visit(page)
    expect_outbox(page, "Sent", "Sent")
    expect(page.locator(".outbox-item .server-state")).to_have_text(["Waiting for review"] * 2)
    reviewer_decides(browser, app_server, "reject", "The receipt is from another shop.")
    reviewer_decides(
        browser,
        app_server,
        "return",
        "Say whether they asked what you needed.",
        point_at=("Did staff ask what you needed?",),
    )

    page.goto(app_server.url + "/app/#/visits")
    page.get_by_role("button", name="Sync now").click()
    items = page.locator(".history-item")
    expect(items.locator(".visit-state").nth(1)).to_have_text("Returned to you for changes")
    returned = items.filter(has_text="Returned to you for changes")
    expect(returned).to_contain_text("Say whether they asked what you needed.")
    rejected = items.filter(has_text="Rejected")
    expect(rejected).to_contain_text("Why it was rejected: The receipt is from another shop.")
    expect(returned.locator("strong").first).not_to_be_empty()  # the branch
    assert_accessible(page, "the shopper's visits")

    # Offline, the list reads the same, and says it is the last one received.
    context.set_offline(True)
    page.goto(app_server.url + "/app/#/")
    page.get_by_role("link", name="Your visits").click()
    expect(page.locator(".notice")).to_contain_text("You are offline")
    expect(page.locator(".history-item").filter(has_text="Rejected")).to_have_count(1)
    # The home screen's returned card says which branch and day it is.
    page.get_by_role("link", name="Home").click()
    card = page.locator("section", has=page.get_by_role("heading", name="Returned for changes"))
    expect(card.locator("li strong").first).not_to_be_empty()
    expect(card.locator("li .muted").first).to_have_text(re.compile(r"\d{4}"))

    # The returned visit opens on the answer the reviewer pointed at.
    page.get_by_role("button", name="Edit and send again").click()
    question = page.locator("#q-asked_needs")
    expect(question).to_be_in_viewport()
    expect(question.locator(".pointed-note")).to_have_text("The reviewer asks about this answer.")
    assert page.evaluate("document.activeElement.closest('.question')?.id") == "q-asked_needs"
    page.get_by_role("link", name="Review").click()
    note = page.get_by_role("note")
    expect(note).to_contain_text("The reviewer asks about these answers:")
    expect(note.get_by_role("link", name="Did staff ask what you needed?")).to_be_visible()
    assert_accessible(page, "a returned visit's review")


def test_a_shared_phone_keeps_each_shoppers_work_apart_until_its_owner_sends_it(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    page.set_viewport_size(PHONE)
    data = app_server.data_dir
    # Sari records a visit and starts another with no signal, then logs out.
    log_in(page, app_server)
    wait_offline_ready(page)
    context.set_offline(True)
    record_visit(page)
    expect_outbox(page, "Waiting to send")
    sent_id = page.locator(".outbox-item").get_attribute("data-visit")
    page.get_by_role("link", name="Home").click()
    start_visit(page)
    draft_url = page.url
    page.goto(app_server.url + "/app/#/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#others-work")).to_contain_text(
        "This phone keeps unsent visits of Sari Shopper (2)."
    )

    # Sam logs in on the same phone: none of Sari's work is his to see or send.
    context.set_offline(False)
    log_in(page, app_server, "shopper2@demo.test")
    expect(page.locator("#others-work")).to_contain_text("sent when Sari Shopper logs in again")
    expect(page.get_by_role("heading", name="Visits in progress")).to_have_count(0)
    expect(page.locator("#net-status")).to_contain_text("Not sent: 0")
    assert_accessible(page, "a shared phone")
    page.goto(draft_url)
    expect(
        page.get_by_role("heading", name="This visit belongs to another shopper")
    ).to_be_visible()
    page.goto(app_server.url + "/app/#/")
    record_visit(page)  # Sam's own visit is sent; Sari's, older, stays where it was
    expect_outbox(page, "Sent")
    expect(page.locator("#others-work")).to_be_visible()
    assert db_rows(data, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (sent_id,)) == [(0,)]

    # Sari logs in again: her visit goes, under her account, and her draft is back.
    page.goto(app_server.url + "/app/#/")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(page, app_server)
    expect(page.get_by_role("heading", name="Visits in progress")).to_be_visible()
    expect_outbox(page, "Sent")
    assert db_rows(
        data,
        "SELECT u.email FROM visits v JOIN users u ON u.id = v.shopper_id WHERE v.visit_uuid = ?",
        (sent_id,),
    ) == [("shopper@demo.test",)]


def test_an_exported_outbox_is_imported_by_the_agency_and_the_phone_then_finds_it_sent(
    page: Page, context: BrowserContext, browser: Browser, app_server: LiveServer, tmp_path: Path
) -> None:
    page.set_viewport_size(PHONE)
    record_offline(page, context, app_server, photos=2)
    expect_outbox(page, "Waiting to send")
    visit_id = page.locator(".outbox-item").get_attribute("data-visit")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export to a file").click()
    exported = tmp_path / "outbox.json"
    download.value.save_as(exported)

    admin = browser.new_context()
    office = admin.new_page()
    try:
        sign_in(office, app_server, "admin@demo.test")
        office.get_by_role("link", name="Import a phone's outbox").click()
        office.get_by_label("Outbox file (.json)").set_input_files(exported)
        office.get_by_role("button", name="Import").click()
        row = office.locator("#outcomes tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("th")).to_have_text(visit_id or "")
        expect(row.locator("td").nth(1)).to_have_text("stored")
        assert_accessible(office, "outbox import")
    finally:
        admin.close()
    assert db_rows(
        app_server.data_dir,
        "SELECT v.state, (SELECT count(*) FROM visit_photos vp JOIN photos p"
        " ON p.id = vp.photo_id WHERE vp.visit_id = v.id AND p.received_at IS NOT NULL)"
        " FROM visits v WHERE v.visit_uuid = ?",
        (visit_id,),
    ) == [("submitted", 2)]

    # The phone gets its signal back: the server already holds the visit, so it is sent.
    context.set_offline(False)
    page.get_by_role("button", name="Sync now").click()
    expect_outbox(page, "Sent")
    assert db_rows(
        app_server.data_dir, "SELECT count(*) FROM visits WHERE visit_uuid = ?", (visit_id,)
    ) == [(1,)]
