"""The visit report printed on A4 (issue "Closing the loop for owners and chains"): read
back from Chromium's own PDF, page by page."""

from __future__ import annotations

import io
import re
import unicodedata

from playwright.sync_api import Page
from pypdf import PdfReader

from tests.browser.app_helpers import sign_in
from tests.conftest import LiveServer, db_rows, db_write


def test_the_visit_report_prints_like_a_document(page: Page, app_server: LiveServer) -> None:
    visit_id, owner, branch, address = db_rows(
        app_server.data_dir,
        "SELECT v.visit_uuid, u.email, b.name, b.address FROM visits v"
        " JOIN branch_owners o ON o.branch_id = v.branch_id JOIN users u ON u.id = o.user_id"
        " JOIN branches b ON b.id = v.branch_id"
        " WHERE v.state = 'approved' ORDER BY v.score_total, v.id LIMIT 1",
    )[0]
    db_write(
        app_server.data_dir,
        [
            (
                "INSERT INTO programme_settings (key, value, updated_at) VALUES"
                " ('name', '\"Toko Contoh service audit 2026\"', '2026-12-02T00:00:00Z')",
                (),
            )
        ],
    )
    sign_in(page, app_server, owner)
    page.goto(f"{app_server.url}/visits/{visit_id}")
    sections = page.locator("section[id^='s-'] h2").all_inner_texts()
    first_question = page.locator("section[id^='s-'] dt").first.inner_text()
    pdf = page.pdf(format="A4", print_background=True)
    pages = [
        unicodedata.normalize("NFKC", p.extract_text() or "")  # "ﬁ" and "ﬀ" as letters
        for p in PdfReader(io.BytesIO(pdf)).pages
    ]
    total = len(pages)
    assert total >= 2
    assert branch in pages[0] and address in pages[0]
    assert "Toko Contoh service audit 2026" in pages[0]  # the programme's name
    assert first_question in pages[0]  # the first section's answers start on page 1
    assert "What moved the score" in "\n".join(pages)  # after them
    for n, text in enumerate(pages, 1):
        assert len(text.strip()) > 80, f"page {n} is (nearly) empty"
        assert f"{n} / {total}" in text, f"page {n} has no page number"
        for chrome in ("Log out", "Skip to content", "Language", "This report as JSON", "Print"):
            assert chrome not in text, (n, chrome)
    everything = "\n".join(pages)
    for title in sections:
        assert re.sub(r"\s+\S+$", "", title) in everything
