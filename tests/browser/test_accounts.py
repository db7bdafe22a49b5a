"""Accounts in Chromium (issue "Telling people"): a forgotten password and an invitation,
end to end through the mail a real SMTP server on loopback received from the server's
own job runner."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.app_helpers import assert_accessible, sign_in
from tests.conftest import LiveServer, copy_data
from tests.smtp import Received, SmtpServer

NEW = "a brand new password"


@pytest.fixture
def mailing_server(demo_template: Path, tmp_path: Path) -> Iterator[tuple[LiveServer, SmtpServer]]:
    smtp = SmtpServer().start()
    server = LiveServer(
        copy_data(demo_template, tmp_path / "data"), env={"VISITSCORE_SMTP_URL": smtp.url}
    )
    try:
        yield server, smtp
    finally:
        server.stop()
        smtp.stop()


def mail_to(smtp: SmtpServer, address: str, timeout: float = 30.0) -> Received:
    """The first message to ``address``, as soon as the server's jobs have sent it."""
    deadline = time.monotonic() + timeout
    while not smtp.to(address):
        assert time.monotonic() < deadline, f"no mail to {address} in {timeout} s"
        time.sleep(0.2)
    return smtp.to(address)[0]


def link_in(message: Received, server: LiveServer) -> str:
    found = re.search(rf"{re.escape(server.url)}/password-reset/\S+", message.text())
    assert found, message.text()
    return found.group(0)


def set_password(page: Page) -> None:
    page.get_by_label("New password").fill(NEW)
    page.get_by_label("The same password again").fill(NEW)
    page.get_by_role("button", name="Save the password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is saved")


def log_in_with(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_forgotten_password_is_reset_from_the_mail(
    page: Page, mailing_server: tuple[LiveServer, SmtpServer]
) -> None:
    server, smtp = mailing_server
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    assert_accessible(page, "asking for a reset link")
    page.get_by_label("Email").fill("owner@demo.test")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator("#reset-sent")).to_contain_text("is on its way")
    message = mail_to(smtp, "owner@demo.test")
    assert message.subject == "Choose a new password for Visitscore"
    page.goto(link_in(message, server))
    assert_accessible(page, "choosing a new password")
    set_password(page)
    log_in_with(page, "owner@demo.test", "visitscore-demo")  # the old one no longer works
    expect(page.locator("#login-error")).to_be_visible()
    log_in_with(page, "owner@demo.test", NEW)
    expect(page.get_by_role("heading", name="Welcome")).to_be_visible()
    page.goto(link_in(message, server))  # once only
    expect(page.get_by_text("This link was used already or has expired")).to_be_visible()


def test_an_invited_person_chooses_their_password_and_logs_in(
    page: Page, browser: Browser, mailing_server: tuple[LiveServer, SmtpServer]
) -> None:
    server, smtp = mailing_server
    office = browser.new_context()
    admin = office.new_page()
    sign_in(admin, server, "admin@demo.test")
    admin.goto(server.url + "/admin/users")
    admin.get_by_label("Name", exact=True).fill("Putri Pembeli")
    admin.get_by_label("Email").fill("putri@demo.test")
    admin.get_by_label("Role", exact=True).select_option("shopper")
    admin.get_by_label("Their language (for mail)").select_option("id")
    admin.get_by_label("Send an invitation by e-mail").check()
    admin.get_by_role("button", name="Add", exact=True).click()
    expect(admin.get_by_text("putri@demo.test")).to_be_visible()
    office.close()

    invitation = mail_to(smtp, "putri@demo.test")
    assert invitation.subject == "Akun Visitscore Anda"  # in the language the admin chose
    page.goto(link_in(invitation, server))
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    set_password(page)
    log_in_with(page, "putri@demo.test", NEW)
    # Her pages are in the language the admin chose for her.
    expect(page.get_by_role("heading", name="Selamat datang, Putri Pembeli")).to_be_visible()
