"""Logging in and finding your place, in a real browser."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer


def log_in(page: Page, server: LiveServer, email: str, password: str = "visitscore-demo") -> None:
    page.goto(server.url + "/")
    expect(page).to_have_url(server.url + "/login?next=/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_owner_logs_in_sees_own_branches_and_logs_out(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    log_in(page, live_server, "owner@demo.test")
    expect(page.get_by_role("heading", name="Welcome, Oka Owner")).to_be_visible()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(5)  # header + 4 branches
    expect(page.get_by_role("rowheader", name="Toko Contoh Menteng")).to_be_visible()
    expect(page.get_by_text("Toko Contoh Kuta")).to_have_count(0)
    expect(page.get_by_text("Sari Shopper")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "owner-home.png"), full_page=True)
    page.get_by_role("link", name="Toko Contoh Kemang").click()
    expect(page.get_by_role("heading", name="Toko Contoh Kemang")).to_be_visible()
    expect(page.get_by_text("You think")).to_be_visible()
    page.go_back()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(live_server.url + "/login")
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=/")


def test_wrong_password_is_said_plainly(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "manager@demo.test", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match.")
    expect(page.get_by_label("Email")).to_have_value("manager@demo.test")


def test_shopper_sees_open_assignments(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "shopper2@demo.test")
    expect(page.get_by_role("heading", name="Your open assignments")).to_be_visible()
    expect(page.locator(".assignments li")).to_have_count(4)
    page.get_by_role("link", name="Open the shopper app").click()
    # The same session works in the app: no second login.
    expect(page.get_by_role("heading", name="Your assignments")).to_be_visible()


def test_switching_language_translates_the_page(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("Langue").select_option("id")
    page.get_by_role("button", name="Changer").click()
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
