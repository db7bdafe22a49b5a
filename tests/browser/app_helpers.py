"""Driving the shopper app like a shopper: log in, record a visit, read the outbox."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from server.settings import ROOT
from tests.conftest import LiveServer, copy_data

PASSWORD = "visitscore-demo"


def jpeg_file(n: int, size: tuple[int, int] = (1200, 900)) -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", size, ((40 * n) % 255, 120, (70 * n) % 255)).save(out, "JPEG", quality=80)
    return {"name": f"photo-{n}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def log_in(page: Page, server: LiveServer, email: str = "shopper@demo.test") -> None:
    page.goto(server.url + "/app/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your assignments")).to_be_visible()


def wait_offline_ready(page: Page) -> None:
    """The service worker controls the page and has the whole shell cached."""
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20000)
    page.wait_for_function(
        """async () => {
            const names = await caches.keys();
            const shell = names.find((n) => n.startsWith('visitscore-shell-'));
            if (!shell) return false;
            return (await (await caches.open(shell)).match('/app/app.js')) !== undefined;
        }""",
        timeout=20000,
    )


STAMPS_SHOWN = ("Entered", "Greeted", "Joined queue", "Served")
"""The default questionnaire's timed questions use these; the timing screen shows only them."""


def start_visit(page: Page, nth: int = 0) -> None:
    page.get_by_role("button", name="Start visit at").nth(nth).click()
    expect(page.get_by_role("heading", name="Timing", level=1)).to_be_visible()
    for stamp in STAMPS_SHOWN:
        page.get_by_role("button", name=stamp, exact=True).click()
        expect(stamp_button(page, stamp)).to_have_attribute("aria-pressed", "true")


def stamp_button(page: Page, stamp: str) -> Locator:
    """A timing button; once pressed, its name also carries the time it was pressed."""
    return page.locator(".stamp", has=page.locator(".label", has_text=re.compile(f"^{stamp}$")))


def answer_section(page: Page) -> None:
    """Pick the first option of every question on the screen; counts are 1 of 2."""
    for fieldset in page.locator("fieldset.choices").all():
        if "pair" in (fieldset.get_attribute("class") or ""):
            fieldset.get_by_label("Open", exact=True).fill("1")
            fieldset.get_by_label("Total", exact=True).fill("2")
        elif fieldset.locator(".choice label").count():
            fieldset.locator(".choice label").first.click()


def next_section(page: Page) -> None:
    """The pager's forward button, then wait until the next screen is shown."""
    heading = page.locator("h1").inner_text()
    page.locator(".pager a.primary").click()
    expect(page.locator("h1")).not_to_have_text(heading)


def add_photos(page: Page, count: int) -> None:
    page.locator("#photo-checkout_photo").set_input_files([jpeg_file(n) for n in range(count)])
    expect(page.locator("#q-checkout_photo .photos img")).to_have_count(count, timeout=20000)


def record_visit(page: Page, photos: int = 0, nth: int = 0) -> None:
    """Start the nth open assignment, answer everything, add photos, submit."""
    start_visit(page, nth)
    page.get_by_role("link", name="Go to the questions").click()
    expect(page.get_by_role("heading", name="Greeting", level=1)).to_be_visible()
    for _ in range(5):
        answer_section(page)
        if photos and page.locator("#photo-checkout_photo").count():
            add_photos(page, photos)
        next_section(page)
    expect(page.get_by_role("heading", name="Review and submit")).to_be_visible()
    page.get_by_role("button", name="Submit visit").click()
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()


def record_offline(
    page: Page, context: BrowserContext, server: LiveServer, photos: int = 0
) -> None:
    """Log in, let the app get ready for offline use, cut the network, record a visit."""
    log_in(page, server)
    wait_offline_ready(page)
    context.set_offline(True)
    record_visit(page, photos=photos)


def outbox_states(page: Page) -> list[str]:
    page.goto(page.url.split("#")[0] + "#/outbox")
    return page.locator(".outbox-item .sync-state").all_inner_texts()


def expect_outbox(page: Page, *states: str, timeout: float = 20000) -> None:
    if not page.url.endswith("#/outbox"):
        page.goto(page.url.split("#")[0] + "#/outbox")
    expect(page.locator(".outbox-item .sync-state")).to_have_text(list(states), timeout=timeout)


def count_requests(context: BrowserContext, method: str, pattern: str) -> list[int]:
    """Statuses of finished requests matching a method and URL part, as they happen."""
    statuses: list[int] = []

    def seen(request: Any) -> None:
        if request.method == method and pattern in request.url:
            response = request.response()
            statuses.append(response.status if response else 0)

    context.on("requestfinished", seen)
    return statuses


def assert_accessible(page: Page, name: str) -> None:
    results = Axe().run(
        page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
        },
    )
    violations = results.response["violations"]
    assert not violations, f"{name}: " + "; ".join(
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in violations
    )


def reviewer_decides(
    browser: Browser,
    server: LiveServer,
    decision: str,
    note: str = "",
    point_at: tuple[str, ...] = (),
) -> str:
    """A reviewer, in a browser of their own, takes the newest visit in the queue: approves,
    rejects (``note`` is the reason) or returns it with a note, pointing at answers."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/login")
        page.get_by_label("Email").fill("reviewer@demo.test")
        page.get_by_label("Password").fill("visitscore-demo")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Review queue").click()
        page.get_by_label("Order").select_option("newest")
        page.get_by_role("button", name="Show").click()
        newest = page.locator("table.queue tbody th a").first  # the shopper's, sent last
        visit_id = (newest.get_attribute("href") or "").split("?")[0].rsplit("/", 1)[1]
        newest.click()
        assert_accessible(page, "visit under review")
        if decision == "return":
            page.get_by_label("Note for the shopper").fill(note)
            if point_at:
                page.locator(".point-at summary").click()
                for question in point_at:
                    page.locator(".point-at").get_by_role("checkbox", name=question).check()
            page.get_by_role("button", name="Return to the shopper").click()
        elif decision == "reject":
            page.get_by_label("Reason for rejecting").fill(note)
            page.once("dialog", lambda dialog: dialog.accept())  # rejecting asks first
            page.get_by_role("button", name="Reject").click()
        else:
            page.get_by_role("button", name="Approve", exact=True).click()
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        return visit_id
    finally:
        context.close()


def sign_in(page: Page, server: LiveServer, email: str) -> None:
    """Log in on the website (not the app) and land on the role's start page."""
    page.goto(server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()


@contextmanager
def server_with_own_app(demo_template: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """A server of its own whose shopper app is a copy the test may change (a release)."""
    pwa = tmp_path / "pwa"
    shutil.copytree(ROOT / "pwa", pwa)
    server = LiveServer(
        copy_data(demo_template, tmp_path / "data"), env={"VISITSCORE_PWA_DIR": str(pwa)}
    )
    try:
        yield server, pwa
    finally:
        server.stop()


def release_new_version(page: Page, pwa: Path) -> None:
    """A new release of the app reaches the server, and the open app looks for it."""
    views = pwa / "views.js"
    views.write_text(views.read_text() + "\n// release 2\n")
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
