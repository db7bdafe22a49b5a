"""The outbox against a bad network and a difficult server: nothing lost, nothing twice."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.app_helpers import (
    PASSWORD,
    expect_outbox,
    log_in,
    record_offline,
    record_visit,
    release_new_version,
    server_with_own_app,
    wait_offline_ready,
)
from tests.browser.test_app import visits_on_server
from tests.conftest import LiveServer, db_rows

VISIT_PUT = re.compile(r"/api/v1/visits/[0-9a-f-]{36}$")
PHOTO_PUT = re.compile(r"/api/v1/visits/[0-9a-f-]{36}/photos/[0-9a-f-]{36}$")


def successful_puts(context: BrowserContext) -> dict[str, list[str]]:
    """URLs of PUTs that reached the server and got a 2xx, as they happen."""
    seen: dict[str, list[str]] = {"visits": [], "photos": []}

    def finished(request: Any) -> None:
        response = request.response()
        if request.method != "PUT" or response is None or not 200 <= response.status < 300:
            return
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        if PHOTO_PUT.search("/" + path):
            seen["photos"].append(f"{request.url} {response.status}")
        elif VISIT_PUT.search("/" + path):
            seen["visits"].append(f"{request.url} {response.status}")

    context.on("requestfinished", finished)
    return seen


def wait_until(check: Callable[[], bool], page: Page, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def test_a_five_photo_visit_made_offline_is_sent_once_when_the_network_returns(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    wait_offline_ready(page)
    puts = successful_puts(context)
    context.set_offline(True)
    record_visit(page, photos=5)
    expect_outbox(page, "Waiting to send")
    context.set_offline(False)  # no click: the app notices the network
    expect_outbox(page, "Sent", timeout=30000)
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 5, 5)
    assert [p.split()[1] for p in puts["visits"]] == ["201"]
    assert sorted(p.split()[1] for p in puts["photos"]) == ["201"] * 5


def test_a_network_cut_during_photo_3_of_5_ends_with_all_5_on_the_server(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    wait_offline_ready(page)
    calls: list[str] = []

    def cut_at_third(route: Route) -> None:
        calls.append(route.request.url)
        if len(calls) == 3:
            context.set_offline(True)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(PHOTO_PUT, cut_at_third)
    record_visit(page, photos=5)
    wait_until(lambda: len(calls) >= 3, page)
    expect_outbox(page, "Waiting to send")
    ((_visit, state, _listed, received),) = visits_on_server(app_server)
    assert (state, received) == ("incomplete", 2)
    page.unroute(PHOTO_PUT)
    context.set_offline(False)
    expect_outbox(page, "Sent", timeout=30000)
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 5, 5)


def test_a_server_error_and_a_captive_portal_keep_the_visit_queued(
    page: Page, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    answers: list[str] = []

    def broken(route: Route) -> None:
        answers.append("500")
        route.fulfill(status=500, json={"error": {"code": "internal", "message": "boom"}})

    def portal(route: Route) -> None:
        answers.append("portal")
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<html><body>Log in to the shop's free Wi-Fi</body></html>",
        )

    page.route(VISIT_PUT, broken)
    record_visit(page)
    wait_until(lambda: "500" in answers, page)
    expect_outbox(page, "Waiting to try again")
    page.unroute(VISIT_PUT)
    page.route(VISIT_PUT, portal)
    page.get_by_role("button", name="Sync now").click()
    wait_until(lambda: "portal" in answers, page)
    expect_outbox(page, "Waiting to try again")
    assert visits_on_server(app_server) == []
    page.unroute(VISIT_PUT)
    page.get_by_role("button", name="Sync now").click()
    expect_outbox(page, "Sent")
    assert len(visits_on_server(app_server)) == 1


def test_a_422_needs_attention_and_the_next_visit_still_goes(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    record_offline(page, context, app_server)
    page.goto(app_server.url + "/app/#/")
    record_visit(page)
    expect_outbox(page, "Waiting to send", "Waiting to send")
    refused: list[str] = []
    network = {"on": False}

    def refuse_first(route: Route) -> None:
        # Routes see requests even while the context is offline (a backoff retry may
        # fire then): those must fail as they would on the phone.
        if not network["on"]:
            route.abort("internetdisconnected")
        elif not refused:
            refused.append(route.request.url)
            route.fulfill(
                status=422,
                json={
                    "error": {
                        "code": "invalid",
                        "message": "assignment_id: this assignment is no longer open",
                        "details": [
                            {
                                "path": "assignment_id",
                                "message": "this assignment is no longer open",
                            }
                        ],
                    }
                },
            )
        else:
            route.continue_()

    page.route(VISIT_PUT, refuse_first)
    network["on"] = True
    context.set_offline(False)
    # Whichever visit the server refused needs attention; the other one was sent.
    expect(page.locator(".outbox-item.state-attention")).to_have_count(1, timeout=30000)
    expect(page.locator(".outbox-item.state-synced")).to_have_count(1, timeout=30000)
    attention = page.locator(".outbox-item.state-attention")
    expect(attention).to_contain_text("this assignment is no longer open")
    refused_id = refused[0].rsplit("/", 1)[1]
    expect(attention).to_have_attribute("data-visit", refused_id)
    ((sent_id, _state, _listed, _received),) = visits_on_server(app_server)
    assert sent_id != refused_id


def test_two_tabs_syncing_at_once_send_each_visit_once(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    record_offline(page, context, app_server, photos=2)
    second = context.new_page()
    second.goto(app_server.url + "/app/#/outbox")
    expect(second.locator(".outbox-item .sync-state")).to_have_text(["Waiting to send"])
    puts = successful_puts(context)
    attempts: list[str] = []
    context.on("request", lambda r: attempts.append(r.url) if r.method == "PUT" else None)
    context.set_offline(False)  # both tabs hear "online" at the same moment
    expect_outbox(page, "Sent", timeout=30000)
    expect(second.locator(".outbox-item .sync-state")).to_have_text(["Sent"], timeout=30000)
    assert len(puts["visits"]) == 1 and len(puts["photos"]) == 2
    assert len(attempts) == 3, attempts  # not even a refused duplicate was sent
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 2, 2)


def test_a_401_mid_sync_pauses_and_resumes_after_login_with_nothing_lost(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    record_offline(page, context, app_server, photos=3)
    expired: list[str] = []

    def session_expires(route: Route) -> None:
        if not expired:
            expired.append(route.request.url)
            context.clear_cookies()
            route.fulfill(
                status=401, json={"error": {"code": "not_logged_in", "message": "Please log in."}}
            )
        else:
            route.continue_()

    page.route(PHOTO_PUT, session_expires)
    context.set_offline(False)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible(timeout=20000)
    expect(page.get_by_text("Your session ended.")).to_be_visible()
    ((_visit, state, _listed, received),) = visits_on_server(app_server)
    assert (state, received) == ("incomplete", 0)
    page.get_by_label("Email").fill("shopper@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your assignments")).to_be_visible()
    expect_outbox(page, "Sent", timeout=30000)
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 3, 3)


def sw_version(page: Page) -> str:
    return page.evaluate("""() => new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data.version);
        navigator.serviceWorker.controller.postMessage({type: 'version'}, [channel.port2]);
    })""")


def test_an_update_keeps_visits_queued_by_the_old_version_and_sends_them(
    page: Page, demo_template: Path, tmp_path: Path
) -> None:
    with server_with_own_app(demo_template, tmp_path) as (server, pwa):
        log_in(page, server)
        wait_offline_ready(page)
        old = sw_version(page)
        page.route(VISIT_PUT, lambda route: route.abort("internetdisconnected"))
        record_visit(page)
        expect_outbox(page, "Waiting to send")
        release_new_version(page, pwa)
        expect(page.get_by_text("Update ready.")).to_be_visible(timeout=20000)
        with page.expect_event("load"):
            page.get_by_role("button", name="Update now").click()
        page.wait_for_function("navigator.serviceWorker.controller !== null")
        new = sw_version(page)
        assert new != old
        assert f'"{new}"' in page.request.get(server.url + "/service-worker.js").text()
        expect_outbox(page, "Waiting to send")
        page.unroute(VISIT_PUT)
        page.get_by_role("button", name="Sync now").click()
        expect_outbox(page, "Sent")
        assert (
            len(
                db_rows(
                    server.data_dir, "SELECT 1 FROM visits WHERE received_at > ?", ("2026-11-23",)
                )
            )
            == 1
        )
