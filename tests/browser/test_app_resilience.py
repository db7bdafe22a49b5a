"""Unsent work and nobody sending means a retry is scheduled, in every browser: without
Web Locks, when the sending tab dies mid-upload, and through Background Sync while a
visit waits out its backoff. And the update toast never covers the visit's buttons."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.app_helpers import (
    expect_outbox,
    log_in,
    next_section,
    record_visit,
    release_new_version,
    server_with_own_app,
    start_visit,
    wait_offline_ready,
)
from tests.browser.test_app import visits_on_server
from tests.browser.test_app_sync import PHOTO_PUT, VISIT_PUT
from tests.conftest import LiveServer

NO_WEB_LOCKS = "Object.defineProperty(Navigator.prototype, 'locks', {get: () => undefined});"


def test_without_web_locks_visits_are_still_sent(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    """Safari before 15.4 and older WebViews: the IndexedDB lease takes the lock."""
    context.add_init_script(NO_WEB_LOCKS)
    log_in(page, app_server)
    assert page.evaluate("navigator.locks") is None
    record_visit(page, photos=2)
    expect_outbox(page, "Sent", timeout=30000)
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 2, 2)


def test_when_the_sending_tab_dies_another_tab_takes_over(
    context: BrowserContext, app_server: LiveServer
) -> None:
    sender = context.new_page()
    log_in(sender, app_server)
    wait_offline_ready(sender)
    watcher = context.new_page()
    watcher.goto(app_server.url + "/app/#/outbox")
    expect(watcher.get_by_role("heading", name="Outbox")).to_be_visible()
    stalled: list[Route] = []
    # Photo uploads wait, whichever tab sends first (either may win the lock).
    context.route(PHOTO_PUT, lambda route: stalled.append(route))
    record_visit(sender, photos=2)
    expect(watcher.get_by_text(re.compile("Uploading photo 1 of 2"))).to_be_visible(timeout=20000)
    sender.close()  # the tab dies mid-upload; its lock goes with it
    context.unroute(PHOTO_PUT)
    for route in stalled:  # the watcher's own upload, had it won, goes on; the dead tab's cannot
        try:
            route.continue_()
        except PlaywrightError:
            pass
    expect_outbox(watcher, "Sent", timeout=40000)
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 2, 2)


def _registration_id(context: BrowserContext, page: Page) -> tuple[Any, str]:
    cdp = context.new_cdp_session(page)
    found: list[str] = []

    def updated(event: dict[str, Any]) -> None:
        found.extend(r["registrationId"] for r in event["registrations"] if not r["isDeleted"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not found:
        assert time.monotonic() < deadline, "no service worker registration"
        page.wait_for_timeout(100)
    return cdp, found[0]


def test_background_sync_sends_a_visit_that_waits_out_its_backoff(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    wait_offline_ready(page)
    page.route(VISIT_PUT, lambda route: route.abort("internetdisconnected"))
    record_visit(page)
    expect_outbox(page, "Waiting to send")
    # The visit is in backoff for an hour, and no page of the app is open any more.
    page.evaluate(
        """async () => {
            const db = await import('/app/db.js');
            await db.update('outbox', (await db.all('outbox'))[0].visit_id,
                            (item) => ({...item, attempts: 9, next_try: Date.now() + 3600e3}));
        }"""
    )
    page.unroute(VISIT_PUT)
    page.goto("about:blank")
    cdp, registration = _registration_id(context, page)
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": app_server.url,
            "registrationId": registration,
            "tag": "visitscore-outbox",
            "lastChance": False,
        },
    )
    deadline = time.monotonic() + 20
    while not visits_on_server(app_server):
        assert time.monotonic() < deadline, "Background Sync did not send the visit"
        page.wait_for_timeout(200)
    page.goto(app_server.url + "/app/#/outbox")
    expect_outbox(page, "Sent")


def test_the_update_toast_never_covers_the_visit_buttons_and_can_be_closed(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    with server_with_own_app(demo_template, tmp_path) as (server, pwa):
        page.set_viewport_size({"width": 412, "height": 915})
        log_in(page, server)
        wait_offline_ready(page)
        start_visit(page)
        page.get_by_role("link", name="Go to the questions").click()
        next_section(page)
        release_new_version(page, pwa)
        toast = page.locator(".toast")
        expect(toast.get_by_text("Update ready.")).to_be_visible(timeout=20000)
        page.mouse.wheel(0, 5000)
        page.wait_for_timeout(300)
        for button in page.locator(".pager a").all():
            box = button.bounding_box()
            assert box is not None
            hit = page.evaluate(
                "([x, y]) => document.elementFromPoint(x, y)?.closest('.pager a')?.textContent",
                [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
            )
            assert hit == button.inner_text(), f"the toast covers {button.inner_text()!r}"
        page.get_by_role("button", name="Close").click()
        expect(toast).to_have_count(0)
