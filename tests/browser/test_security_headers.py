"""Every page and the app run under the Content-Security-Policy: no inline script,
style or handler is needed (but the app's own stylesheet, allowed by its hash), an
injected one does not run, and every file a page names (icon, style, scripts) is there."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page

from server.app import create_app
from server.settings import Settings
from tests.browser.app_helpers import sign_in
from tests.conftest import LiveServer, db_rows

INLINE = """() => [...document.querySelectorAll("*")].flatMap(el => [
    ...[...el.attributes].filter(a => a.name.startsWith("on") || a.name === "style")
        .map(a => `${el.tagName}[${a.name}]`),
    // A JSON data block (the app's strings) is data the browser never runs; anything
    // else inline would be code.
    ...(el.tagName === "SCRIPT" && !el.src && el.type !== "application/json"
        ? ["inline <script>"] : []),
    ...(el.tagName === "STYLE" ? ["<style>"] : []),
])"""
"""What the policy would block: inline handlers, style attributes, inline scripts."""
DATA_BLOCKS = """() => [...document.querySelectorAll('script[type="application/json"]')]
    .map(el => { try { JSON.parse(el.textContent); return null; } catch { return el.id; } })
    .filter(Boolean)"""
"""Data blocks that are not JSON (there should be none)."""

PARTS = """() => [...document.querySelectorAll("link[href], script[src], img[src]")]
    .filter(el => !(el.tagName === "LINK" && ["alternate", "canonical"].includes(el.rel)))
    .map(el => new URL(el.href || el.src, location.href))
    .filter(url => url.origin === location.origin && url.protocol.startsWith("http"))
    .map(url => url.href)"""
"""The files a page names for itself: icon, stylesheets, scripts, manifest, images."""

STYLED = "() => getComputedStyle(document.querySelector('header.bar')).display"
"""How the app's stylesheet lays out its top bar (a flex row)."""

PARAMS = {"branch_id": "1", "chain_id": "1", "user_id": "1", "qid": "default"}


def _pages() -> list[str]:
    """Every GET page of the server (not the API), with ids from the demo."""
    found = []
    for route in create_app(Settings()).routes:
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", None) or set()
        if "GET" not in methods or path.startswith(("/api/", "/static", "/app")):
            continue
        if path.endswith((".json", ".csv", ".xlsx", ".js")) or (  # downloads, not pages
            "{" in path
            and not all(name in PARAMS for name in re.findall(r"\{(\w+)(?::\w+)?\}", path))
        ):
            continue
        found.append(re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMS[m.group(1)], path))
    return found


def test_every_page_sends_the_policy_and_runs_under_it(page: Page, live_server: LiveServer) -> None:
    pages = _pages()
    assert len(pages) > 10
    (visit,) = db_rows(
        live_server.data_dir, "SELECT visit_uuid FROM visits WHERE state = 'approved' LIMIT 1"
    )[0]
    pages.append(f"/visits/{visit}")
    sign_in(page, live_server, "admin@demo.test")
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    parts: dict[str, str] = {}  # each file a page names for itself, and the first page
    for path in [*pages, "/app/"]:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status < 500, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, path
        inline = page.evaluate(INLINE)
        if path == "/app/":
            # The app's stylesheet comes inside its page, allowed by its hash alone, and
            # the browser applies it (a refused style would leave the bar a block).
            assert "'sha256-" in policy and inline == ["<style>"], (path, inline, policy)
            assert page.evaluate(STYLED) == "flex"
        else:
            assert not inline, (path, inline)
        assert not page.evaluate(DATA_BLOCKS), path
        for url in page.evaluate(PARTS):
            parts.setdefault(url, path)
    assert not errors
    # Every icon, stylesheet, script, manifest and image named is there: a browser loads
    # some of them (the icon) too late for the page's own events to tell.
    assert len(parts) > 5
    broken = [(url, path) for url, path in parts.items() if not page.request.get(url).ok]
    assert not broken, broken


def test_an_injected_inline_script_does_not_run(
    page: Page, live_server: LiveServer, no_csp_violations: list[str]
) -> None:
    page.goto(live_server.url + "/login")
    ran = page.evaluate(
        """() => new Promise(resolve => {
            window.__ran = false;
            const s = document.createElement("script");
            s.textContent = "window.__ran = true";
            document.body.append(s);
            setTimeout(() => resolve(window.__ran), 100);
        })"""
    )
    assert ran is False
    page.wait_for_timeout(100)
    assert no_csp_violations, "the browser reported the refused script"
    no_csp_violations.clear()
