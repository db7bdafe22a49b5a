"""The shopper app in real Chromium against a real server: recording, offline, sync."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, BrowserType, Page, expect

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
    stamp_button,
    start_visit,
    wait_offline_ready,
)
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import LiveServer, db_rows


def visits_on_server(server: LiveServer) -> list[tuple[Any, ...]]:
    return db_rows(
        server.data_dir,
        "SELECT v.visit_uuid, v.state, count(p.id), count(p.received_at) FROM visits v"
        " LEFT JOIN visit_photos vp ON vp.visit_id = v.id LEFT JOIN photos p"
        " ON p.id = vp.photo_id JOIN users u ON u.id = v.shopper_id"
        " WHERE u.email LIKE 'shopper%' AND v.received_at > '2026-11-23'"
        " GROUP BY v.id ORDER BY v.id",
    )


def test_a_visit_recorded_online_is_sent_and_every_screen_is_accessible(
    page: Page, app_server: LiveServer
) -> None:
    page.goto(app_server.url + "/app/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert_accessible(page, "login")
    log_in(page, app_server)
    assert_accessible(page, "home")
    start_visit(page)
    assert_accessible(page, "timing")
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    for _ in range(5):
        answer_section(page)
        assert_accessible(page, page.locator("h1").inner_text())
        if page.locator("#photo-checkout_photo").count():
            add_photos(page, 1)
        next_section(page)
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    assert_accessible(page, "review")
    page.get_by_role("button", name="Submit visit").click()
    expect_outbox(page, "Sent")
    assert_accessible(page, "outbox")
    ((_visit, state, listed, received),) = visits_on_server(app_server)
    assert (state, listed, received) == ("submitted", 1, 1)


def test_review_lists_what_is_missing_and_blocks_submit(page: Page, app_server: LiveServer) -> None:
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Review", exact=True).click()
    missing = page.get_by_role("alert")
    expect(missing).to_contain_text("Did a member of staff greet you out loud?")
    expect(missing).to_contain_text("Staffed tills open / total")
    expect(page.get_by_role("button", name="Submit visit")).to_be_disabled()
    missing.get_by_role("link", name="Staffed tills open / total").click()
    expect(page.get_by_role("heading", name="Checkout availability", level=1)).to_be_visible()


def test_reload_mid_form_keeps_every_answer_and_photo(page: Page, app_server: LiveServer) -> None:
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Questions", exact=True).click()
    page.get_by_role("group", name="Did a member of staff greet you out loud? *").get_by_text(
        "No", exact=True
    ).click()
    page.get_by_role("group", name="Eye contact and smile *").get_by_text("3", exact=True).click()
    page.locator("#q-eye_contact summary").click()
    page.locator("#c-eye_contact").fill("looked at the phone")
    next_section(page)
    page.locator("#tills-open").fill("1")
    page.locator("#tills-total").fill("15")
    add_photos(page, 2)
    page.reload()
    expect(page.locator("#q-checkout_photo .photos img")).to_have_count(2)
    expect(page.locator("#tills-total")).to_have_value("15")
    page.get_by_role("link", name="Back").click()
    expect(page.locator("#greeted_verbally-false")).to_be_checked()
    expect(page.locator("#eye_contact-3")).to_be_checked()
    expect(page.locator("#c-eye_contact")).to_have_value("looked at the phone")
    page.get_by_role("link", name="Timing", exact=True).click()
    expect(stamp_button(page, "Served")).to_have_attribute("aria-pressed", "true")
    expect(stamp_button(page, "Left")).to_have_count(0)  # no timed question uses it


def test_an_answer_given_while_the_screen_is_drawn_again_is_kept(
    page: Page, app_server: LiveServer
) -> None:
    """The app draws a screen again on its own (sync progress, a session adopted, the
    language): an answer given on the screen still shown, after the new drawing read the
    draft and before it replaced the screen, is neither hidden nor lost by the next one."""
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Questions", exact=True).click()
    page.locator("label[for='greeted_verbally-false']").click()
    expect(page.locator("#greeted_verbally-false")).to_be_checked()
    page.evaluate(
        """async () => {
            const shown = document.querySelector('#view > *');
            window.dispatchEvent(new HashChangeEvent('hashchange'));  // drawn again
            await new Promise((resolve) => setTimeout(resolve, 0));  // its draft is read
            shown.querySelector("label[for='eye_contact-3']").click();
            window.drawnAgain = () => !shown.isConnected;
        }"""
    )
    page.wait_for_function("window.drawnAgain()")
    page.locator("label[for='thanked-true']").click()
    expect(page.locator("#thanked-true")).to_be_checked()
    expect(page.locator("#eye_contact-3")).to_be_checked()
    page.reload()
    expect(page.locator("#greeted_verbally-false")).to_be_checked()
    expect(page.locator("#eye_contact-3")).to_be_checked()
    expect(page.locator("#thanked-true")).to_be_checked()


def test_a_visit_submitted_in_another_tab_is_not_brought_back_by_the_first(
    page: Page, app_server: LiveServer
) -> None:
    """Two tabs of the app on one phone: the visit is submitted in the second while the
    first still shows it. An answer changed in the first does not make the visit a draft
    again (it would be sent twice, or stay on the phone as a visit in progress): the
    first tab says it is no longer here."""
    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    for _ in range(5):
        answer_section(page)
        next_section(page)
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("button", name="Submit visit").click()
    expect(other.get_by_role("heading", name="Outbox")).to_be_visible()
    page.get_by_label("Anything else about this visit").fill("a word more")  # the first tab
    expect(page.get_by_role("heading", name="This visit is not on this phone")).to_be_visible()
    assert (
        page.evaluate("async () => (await (await import('/app/db.js')).all('drafts')).length") == 0
    )
    other.goto(other.url.split("#")[0] + "#/")
    expect(other.get_by_role("heading", name="Your assignments")).to_be_visible()
    expect(other.get_by_role("heading", name="Visits in progress")).to_have_count(0)


def test_a_relaunched_browser_with_no_network_opens_the_shell_and_the_draft(
    browser_type: BrowserType, app_server: LiveServer, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    args: dict[str, Any] = {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}
    first = browser_type.launch_persistent_context(profile, **args)
    page = first.new_page()
    log_in(page, app_server)
    wait_offline_ready(page)
    start_visit(page)
    page.get_by_role("link", name="Questions", exact=True).click()
    page.get_by_role("group", name="Were you thanked at the end? *").get_by_text(
        "Yes", exact=True
    ).click()
    expect(page.locator("#thanked-true")).to_be_checked()
    first.close()

    again = browser_type.launch_persistent_context(profile, **args)
    try:
        again.set_offline(True)
        page = again.new_page()
        page.goto(app_server.url + "/app/")
        expect(page.get_by_role("heading", name="Visits in progress")).to_be_visible()
        expect(page.get_by_text("You are offline")).to_be_visible()
        page.get_by_role("link", name="Continue").click()
        page.get_by_role("link", name="Questions", exact=True).click()
        expect(page.locator("#thanked-true")).to_be_checked()
        # Prove the network really was cut: an address never cached cannot be fetched.
        outcome = page.evaluate(
            "fetch('/healthz?uncached=' + Date.now()).then(() => 'fetched', () => 'failed')"
        )
        assert outcome == "failed"
    finally:
        again.close()


def test_logging_out_with_unsent_visits_warns_and_keeps_them(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    record_offline(page, context, app_server)
    expect_outbox(page, "Waiting to send")
    # Keep it unsent for now. The route goes first: back online, the page syncs at once
    # (its "online" handler), and under load that PUT could leave before a later route.
    page.route("**/api/v1/visits/**", lambda route: route.abort())
    context.set_offline(False)
    page.goto(app_server.url + "/app/#/")
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert "1 visits are not sent yet" in dialogs[0]
    page.unroute("**/api/v1/visits/**")
    log_in(page, app_server)
    expect_outbox(page, "Sent")


def test_the_outbox_exports_to_a_file_with_its_photos_while_offline(
    page: Page, context: BrowserContext, app_server: LiveServer
) -> None:
    import base64
    import hashlib
    import json

    record_offline(page, context, app_server, photos=2)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export to a file").click()
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["format"] == "visitscore-outbox"
    (item,) = exported["visits"]
    assert item["state"] == "waiting" and len(item["body"]["photos"]) == 2
    assert len(exported["photos"]) == 2
    for photo in exported["photos"]:
        data = base64.b64decode(photo["data_base64"])
        assert hashlib.sha256(data).hexdigest() == photo["sha256"]


def test_big_photos_are_made_smaller_on_the_phone_keeping_the_capture_time(
    page: Page, app_server: LiveServer
) -> None:
    from tests.browser.app_helpers import jpeg_file

    log_in(page, app_server)
    start_visit(page)
    page.get_by_role("link", name="Questions", exact=True).click()
    next_section(page)
    big = jpeg_file(7, size=(4000, 3000))
    page.locator("#photo-checkout_photo").set_input_files([big])
    expect(page.locator("#q-checkout_photo .photos img")).to_have_count(1, timeout=20000)
    stored = page.evaluate("""async () => {
        const r = indexedDB.open('visitscore'); await new Promise((ok) => r.onsuccess = ok);
        const tx = r.result.transaction(['drafts']);
        const q = tx.objectStore('drafts').getAll();
        await new Promise((ok) => q.onsuccess = ok);
        return q.result[0].photos[0];
    }""")
    assert stored["bytes"] < len(big["buffer"])
    width, height = page.evaluate(
        """async (id) => {
        const r = indexedDB.open('visitscore'); await new Promise((ok) => r.onsuccess = ok);
        const q = r.result.transaction(['photos']).objectStore('photos').get(id);
        await new Promise((ok) => q.onsuccess = ok);
        const bitmap = await createImageBitmap(q.result.blob);
        return [bitmap.width, bitmap.height];
    }""",
        stored["photo_id"],
    )
    assert (width, height) == (2048, 1536)
    assert stored["content_type"] == "image/jpeg"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", stored["captured_at"])


def test_review_round_trip_return_resubmit_approve_and_the_owner_reads_it(
    page: Page, browser: Browser, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    record_visit(page, photos=1)
    expect_outbox(page, "Sent")
    visit_id = reviewer_decides(
        browser, app_server, "return", "Please say how many tills were open."
    )
    page.goto(app_server.url + "/app/#/")
    page.reload()
    expect(page.get_by_role("heading", name="Returned for changes")).to_be_visible()
    expect(page.get_by_text("Please say how many tills were open.")).to_be_visible()
    page.get_by_role("button", name="Edit and send again").click()
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("Please say how many tills were open.")
    page.get_by_label("Anything else about this visit").fill("3 of 12 tills were open at 10:12.")
    page.get_by_role("button", name="Submit visit").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()  # the app went there
    expect(page.locator(".outbox-item")).to_contain_text("revision 2")
    expect_outbox(page, "Sent")
    assert reviewer_decides(browser, app_server, "approve") == visit_id
    rows = db_rows(
        app_server.data_dir,
        "SELECT revision, state, comment FROM visits WHERE visit_uuid = ? ORDER BY revision",
        (visit_id,),
    )
    assert rows == [(1, "returned", ""), (2, "approved", "3 of 12 tills were open at 10:12.")]
    owner = browser.new_context()  # type: ignore[attr-defined]
    try:
        owner_page = owner.new_page()
        owner_page.goto(app_server.url + "/login")
        owner_page.get_by_label("Email").fill("owner@demo.test")
        owner_page.get_by_label("Password").fill("visitscore-demo")
        owner_page.get_by_role("button", name="Log in").click()
        owner_page.goto(f"{app_server.url}/visits/{visit_id}")
        expect(owner_page.get_by_text("3 of 12 tills were open at 10:12.")).to_be_visible()
        expect(owner_page.get_by_text("Sari Shopper")).to_have_count(0)
    finally:
        owner.close()


def test_the_app_speaks_indonesian_and_french(page: Page, app_server: LiveServer) -> None:
    log_in(page, app_server)
    page.get_by_label("Language").select_option("id")
    expect(page.get_by_role("heading", name="Penugasan Anda")).to_be_visible()
    expect(page.get_by_role("button", name="Sinkronkan sekarang")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Penugasan Anda")).to_be_visible()
    page.get_by_label("Bahasa").select_option("fr")
    expect(page.get_by_role("heading", name="Vos missions")).to_be_visible()
    page.get_by_role("button", name="Commencer la visite à").first.click()
    expect(page.get_by_role("heading", name="Chronométrage", level=1)).to_be_visible()
    page.get_by_role("link", name="Questions", exact=True).click()
    expect(page.get_by_role("heading", name="Accueil")).to_be_visible()  # the section's title


def test_a_stamp_corrected_afterwards_changes_the_measured_delay(
    page: Page, app_server: LiveServer
) -> None:
    log_in(page, app_server)
    start_visit(page)
    page.get_by_text("Correct the times").click()
    for stamp, time in (("entered", "10:00:00"), ("greeted", "10:00:45")):
        page.locator(f"#fix-{stamp}").fill(time)
        page.locator(f"#fix-{stamp}").dispatch_event("change")
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.locator(".facts")).to_contain_text("45 s")
