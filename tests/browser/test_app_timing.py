"""Timing that cannot flatter a shop, and a location that is real: the stamp rules in
the app (the same cases as the server), out-of-order stamps flagged before submit, an
event that never happened, and the phone's position asked at "Entered"."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect

from server.questionnaire import load_default, resolved
from tests.browser.app_helpers import (
    PASSWORD,
    answer_section,
    expect_outbox,
    log_in,
    next_section,
    record_visit,
    stamp_button,
)
from tests.conftest import LiveServer, db_rows, visit_scores

CASES = json.loads((Path(__file__).parent.parent / "cases" / "timing.json").read_text())["cases"]


def test_the_app_applies_the_same_stamp_rules_as_the_server(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/app/")
    results = page.evaluate(
        """async ([cases, definition]) => {
            const timing = await import('/app/timing.js');
            return cases.map((c) => {
                const stamps = Object.fromEntries(Object.entries(c.stamps)
                    .map(([k, v]) => [k, `2026-11-24T${v}+07:00`]));
                return timing.problems(stamps, c.answers, definition)
                    .map((p) => [p.path, p.code]).sort();
            });
        }""",
        [CASES, resolved(load_default())],
    )
    for case, found in zip(CASES, results, strict=True):
        assert found == sorted(case["expect"]), case["name"]


def test_stamps_out_of_order_are_flagged_and_block_submit(
    page: Page, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    page.get_by_role("button", name="Start visit at").first.click()
    for stamp in ("Entered", "Greeted", "Joined queue", "Served"):
        page.get_by_role("button", name=stamp, exact=True).click()
        expect(stamp_button(page, stamp)).to_have_attribute("aria-pressed", "true")
    joined = page.locator("#fix-joined_queue")
    page.get_by_text("Correct the times").click()
    hh, mm, ss = (int(x) for x in joined.input_value().split(":"))
    total = hh * 3600 + mm * 60 + ss - 60  # served a minute before joining the queue
    earlier = f"{total // 3600 % 24:02d}:{total // 60 % 60:02d}:{total % 60:02d}"
    page.locator("#fix-served").fill(earlier)
    page.locator("#fix-served").dispatch_event("change")
    expect(page.locator(".flags")).to_contain_text("Served is before")
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.locator(".missing")).to_contain_text("Served is before")
    expect(page.get_by_role("button", name="Submit visit")).to_be_disabled()


def test_an_event_that_never_happened_is_said_and_scores_zero(
    page: Page, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    page.get_by_role("button", name="Start visit at").first.click()
    for stamp in ("Entered", "Joined queue", "Served"):  # nobody greeted the shopper
        page.get_by_role("button", name=stamp, exact=True).click()
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.locator(".missing")).to_contain_text(
        "Greeted is not stamped: stamp it, or say it never happened."
    )
    page.get_by_role("link", name="Greeted is not stamped").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    answer_section(page)
    page.locator("#q-greeting_delay").get_by_text("Greeted: never happened").click()
    for _ in range(4):
        next_section(page)
        answer_section(page)
    next_section(page)
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Greeted: never happened")
    page.get_by_role("button", name="Submit visit").click()
    expect_outbox(page, "Sent")
    ((answers,),) = db_rows(
        app_server.data_dir, "SELECT answers FROM visits WHERE received_at > '2026-11-30'"
    )
    assert json.loads(answers)["greeting_delay"] == {"never": True}
    (visit,) = visit_scores(app_server.data_dir, "WHERE received_at > '2026-11-30'")
    assert visit["questions"]["greeting_delay"][0] == 0  # scored, and no points


def _record_with(browser: Browser, server: LiveServer, **context_options: Any) -> None:
    context = browser.new_context(**context_options)
    try:
        page = context.new_page()
        page.goto(server.url + "/app/")
        page.get_by_label("Email").fill("shopper@demo.test")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        record_visit(page)
        expect_outbox(page, "Sent")
    finally:
        context.close()


def test_the_position_at_entered_goes_with_the_visit(
    browser: Browser, app_server: LiveServer
) -> None:
    _record_with(
        browser,
        app_server,
        permissions=["geolocation"],
        geolocation={"latitude": -6.1963, "longitude": 106.8324, "accuracy": 15},
    )
    ((lat, lon, accuracy),) = db_rows(
        app_server.data_dir,
        "SELECT geo_lat, geo_lon, geo_accuracy_m FROM visits WHERE received_at > '2026-11-30'",
    )
    assert (lat, lon, accuracy) == (-6.1963, 106.8324, 15)


def test_a_refused_position_still_sends_the_visit_and_the_reviewer_sees_no_location(
    browser: Browser, page: Page, app_server: LiveServer
) -> None:
    _record_with(browser, app_server, permissions=[])
    ((visit_id, lat),) = db_rows(
        app_server.data_dir,
        "SELECT visit_uuid, geo_lat FROM visits WHERE received_at > '2026-11-30'",
    )
    assert lat is None
    page.goto(app_server.url + "/login")
    page.get_by_label("Email").fill("reviewer@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{app_server.url}/visits/{visit_id}")
    expect(page.get_by_text("No location: the phone did not give one")).to_be_visible()


def test_a_questionnaire_kept_from_before_the_server_resolved_required_is_fetched_again(
    page: Page, live_server: LiveServer
) -> None:
    """An app updated on a phone that holds a definition without `required` and `scored`
    (as servers sent them before) gets the resolved one at its next sync."""
    log_in(page, live_server)
    key = "q:default@1"
    kept = """async (key) => {
        const db = await import('/app/db.js');
        const d = await db.kvGet(key);
        return d ? d.sections.flatMap((s) => s.questions).map((q) => q.scored) : null;
    }"""

    def flags(until: Any) -> list[Any]:
        deadline = time.monotonic() + 20
        while not until(found := page.evaluate(kept, key)):
            assert time.monotonic() < deadline, found
            page.wait_for_timeout(100)
        return list(found)

    flags(lambda f: f is not None)  # the app keeps the definition it downloaded
    page.evaluate(
        """async ([key, plain]) => {
            const db = await import('/app/db.js');
            await db.kvSet(key, plain);
        }""",
        [key, load_default()],
    )
    assert set(page.evaluate(kept, key)) == {None}
    page.reload()
    resolved_flags = flags(lambda f: f is not None and all(isinstance(s, bool) for s in f))
    assert True in resolved_flags and False in resolved_flags
