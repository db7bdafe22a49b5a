"""The shopper app on a phone-sized screen (360 × 740), issue "The shopper app on real
phones": where a screen opens, what the review's links lead to, and the small words."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.app_helpers import log_in, next_section, start_visit
from tests.conftest import LiveServer, copy_data, db_rows, db_write

PHONE = {"width": 360, "height": 740}


def test_the_next_section_opens_at_its_top(page: Page, app_server: LiveServer) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting")).to_be_visible()
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
