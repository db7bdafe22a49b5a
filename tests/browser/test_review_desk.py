"""The review desk in Chromium (issue "The agency at scale"): a reviewer filters the
queue to a region, opens its first visit, reads the report and decides after it with
"approve and open the next", lands on the region's next visit, then approves every
visit left without a warning in one go, after a confirmation that names how many."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.app_helpers import assert_accessible, sign_in
from tests.conftest import LiveServer, db_rows


def test_a_reviewer_works_through_a_filtered_queue_then_approves_the_rest_in_bulk(
    page: Page, app_server: LiveServer
) -> None:
    waiting_in_bali = [
        r[0]
        for r in db_rows(
            app_server.data_dir,
            "SELECT v.visit_uuid FROM visits v JOIN branches b ON b.id = v.branch_id"
            " WHERE v.state = 'submitted' AND b.region = 'Bali' ORDER BY v.submitted_at, v.id",
        )
    ]
    [(everything,)] = db_rows(
        app_server.data_dir, "SELECT count(*) FROM visits WHERE state = 'submitted'"
    )
    sign_in(page, app_server, "reviewer@demo.test")
    page.get_by_role("link", name="Review queue").click()
    expect(page.get_by_role("heading", name=f"{everything} visits wait for review")).to_be_visible()
    assert_accessible(page, "review queue")
    page.get_by_label("Region").select_option("Bali")
    page.get_by_role("button", name="Show").click()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(len(waiting_in_bali))
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/visits/{waiting_in_bali[0]}\\?region=Bali$"))
    # The report first; the decision after it.
    decision = page.locator("#decide")
    assert decision.bounding_box()["y"] > page.locator("#total-h").bounding_box()["y"]  # type: ignore[index]
    decision.get_by_label("Rating from 1 to 10").fill("9")
    decision.get_by_label("Why this rating").fill("Every answer explained, clear photos.")
    decision.get_by_role("button", name="Approve and open the next").click()
    expect(page.get_by_role("status")).to_have_text("1 visit approved.")
    expect(page).to_have_url(re.compile(f"/visits/{waiting_in_bali[1]}\\?region=Bali"))
    assert_accessible(page, "the next visit")
    assert db_rows(
        app_server.data_dir,
        "SELECT state, quality_rating FROM visits WHERE visit_uuid = ?"
        " ORDER BY revision DESC LIMIT 1",
        (waiting_in_bali[0],),
    ) == [("approved", 9)]

    # Back at the whole queue: approve everything without a warning at once.
    page.goto(f"{app_server.url}/review")
    left = everything - 1
    bulk = page.get_by_role("button", name=f"Approve the {left} visits without warnings")
    page.once("dialog", lambda dialog: dialog.dismiss())  # the confirmation: not yet
    bulk.click()
    expect(page.locator("table.queue tbody tr")).to_have_count(left)
    asked: list[str] = []

    def confirm(dialog: object) -> None:
        asked.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()  # type: ignore[attr-defined]

    page.once("dialog", confirm)
    bulk.click()
    expect(page.get_by_role("status")).to_have_text(f"{left} visits approved.")
    assert asked == [f"Approve {left} visits that carry no warning?"]
    expect(page.get_by_role("heading", name="Nothing to review.")).to_be_visible()
