"""People and their own passwords (issue "Telling people"): a reset link by e-mail that
never tells whether an address has an account, works once and expires; invitations; and
changing one's password. The mail goes through a real SMTP server on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import PASSWORD, csrf_token, db_rows, db_write, login
from tests.smtp import Received, SmtpServer
from tests.views.conftest import SITE
from tests.views.test_mail import run_queue

NEW = "a brand new password"


@pytest.fixture
def site(mail_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings)) as client:
        yield client


def ask_reset(client: TestClient, email: str) -> str:
    client.cookies.clear()
    answer = client.post(
        "/password-reset",
        data={"csrf_token": csrf_token(client, "/password-reset"), "email": email},
    )
    assert answer.status_code == 200
    return answer.text


def link(message: Received) -> str:
    found = re.search(rf"{re.escape(SITE)}(/password-reset/\S+)", message.text())
    assert found, message.text()
    return found.group(1)


def choose(client: TestClient, path: str, password: str = NEW, again: str | None = None) -> int:
    csrf = csrf_token(client, path)
    return client.post(
        path,
        data={"csrf_token": csrf, "password": password, "password_again": again or password},
        follow_redirects=False,
    ).status_code


def can_log_in(client: TestClient, email: str, password: str) -> bool:
    client.cookies.clear()
    answer = client.post("/api/v1/session", json={"email": email, "password": password})
    return answer.status_code == 201


def test_a_reset_link_arrives_works_once_and_ends_every_session(
    site: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    with TestClient(create_app(mail_settings)) as elsewhere:
        login(elsewhere, "owner@demo.test")  # logged in on another device
        known = ask_reset(site, "owner@demo.test")
        unknown = ask_reset(site, "nobody@demo.test")
        assert "a link to choose a new password is on its way" in known

        def same(page: str, email: str) -> str:  # the page, but for the address and token
            return re.sub(r'value="[0-9a-f]{64}"', "", page.replace(email, "X"))

        assert same(known, "owner@demo.test") == same(unknown, "nobody@demo.test")
        run_queue(mail_settings)
        (message,) = smtp.received  # nothing for the address without an account
        assert message.recipients == ["owner@demo.test"]
        assert message.message["List-Unsubscribe"] is None  # account mail cannot be stopped
        path = link(message)
        site.cookies.clear()
        page = site.get(path)
        assert page.status_code == 200 and "Choose a new password" in page.text
        assert choose(site, path, NEW, "something else entirely") == 422
        assert choose(site, path, "short") == 422
        assert choose(site, path) == 303
        assert elsewhere.get("/account/mail").status_code == 401  # its session ended
    assert can_log_in(site, "owner@demo.test", NEW)
    assert not can_log_in(site, "owner@demo.test", PASSWORD)
    site.cookies.clear()
    assert site.get(path).status_code == 404  # once
    assert choose_after_use(site, path) == 404
    actions = db_rows(
        demo_dir,
        "SELECT action FROM audit_log WHERE entity = 'user' AND action LIKE '%password%'",
    )
    assert actions == [("user.password_reset",)]


def choose_after_use(client: TestClient, path: str) -> int:
    csrf = csrf_token(client, "/password-reset")
    return client.post(
        path, data={"csrf_token": csrf, "password": NEW, "password_again": NEW}
    ).status_code


def test_an_old_or_forged_link_does_nothing(
    site: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    ask_reset(site, "owner@demo.test")
    run_queue(mail_settings)
    path = link(smtp.received[0])
    forged = path[:-1] + ("0" if path[-1] != "0" else "1")
    assert site.get(forged).status_code == 404
    assert site.get("/password-reset/12.abc").status_code == 404
    db_write(demo_dir, [("UPDATE account_tokens SET expires_at = '2000-01-01T00:00:00+00:00'", ())])
    answer = site.get(path)
    assert answer.status_code == 404 and "expired" in answer.text
    assert choose(site, path.replace(path, forged)) == 404
    assert not can_log_in(site, "owner@demo.test", NEW)


def test_a_newer_link_replaces_the_older_and_asking_is_limited(
    site: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    for _ in range(5):
        ask_reset(site, "owner@demo.test")
    # Three links an hour: the fourth and fifth asks send nothing; each link replaced the
    # one before, so only the newest is mailed (the others are skipped when they go).
    assert db_rows(demo_dir, "SELECT count(*) FROM account_tokens") == [(3,)]
    run_queue(mail_settings)
    (message,) = smtp.received
    assert dict(db_rows(demo_dir, "SELECT state, count(*) FROM notifications GROUP BY state")) == {
        "sent": 1,
        "skipped": 2,
    }
    site.cookies.clear()
    assert site.get(link(message)).status_code == 200


def test_an_admin_invites_and_the_person_chooses_their_password(
    site: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    login(site, "admin@demo.test")
    answer = site.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(site, "/admin/users"),
            "name": "Nadia Nouvelle",
            "email": "nadia@demo.test",
            "role": "shopper",
            "locale": "fr",
            "access": "invite",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    assert not can_log_in(site, "nadia@demo.test", "")
    run_queue(mail_settings)
    (invitation,) = smtp.to("nadia@demo.test")
    assert invitation.subject == "Votre compte Visitscore"
    assert "(Client mystère), pour nadia@demo.test" in invitation.text()
    path = link(invitation)
    site.cookies.clear()
    page = site.get(path)
    assert page.status_code == 200 and "Choose your password" in page.text
    assert choose(site, path) == 303
    assert can_log_in(site, "nadia@demo.test", NEW)


def test_an_admin_may_still_type_a_password(
    site: TestClient, smtp: SmtpServer, mail_settings: Settings
) -> None:
    login(site, "admin@demo.test")
    answer = site.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(site, "/admin/users"),
            "name": "Typed",
            "email": "typed@demo.test",
            "role": "shopper",
            "access": "password",
            "password": "short",
        },
    )
    assert answer.status_code == 422 and "at least 10 characters" in answer.text
    answer = site.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(site, "/admin/users"),
            "name": "Typed",
            "email": "typed@demo.test",
            "role": "shopper",
            "access": "password",
            "password": NEW,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    run_queue(mail_settings)
    assert smtp.received == []
    assert can_log_in(site, "typed@demo.test", NEW)


def test_changing_ones_password_keeps_this_session_and_ends_the_others(
    site: TestClient, mail_settings: Settings
) -> None:
    with TestClient(create_app(mail_settings)) as elsewhere:
        login(elsewhere, "shopper@demo.test")
        login(site, "shopper@demo.test")
        csrf = csrf_token(site, "/account/password")

        def change(current: str, new: str, again: str) -> int:
            return site.post(
                "/account/password",
                data={
                    "csrf_token": csrf,
                    "current_password": current,
                    "password": new,
                    "password_again": again,
                },
                follow_redirects=False,
            ).status_code

        assert change("not my password", NEW, NEW) == 422
        assert change(PASSWORD, NEW, NEW + "x") == 422
        assert change(PASSWORD, "short", "short") == 422
        assert elsewhere.get("/account/mail").status_code == 200  # nothing changed yet
        assert change(PASSWORD, NEW, NEW) == 303
        assert "Your password is changed" in site.get("/account/password?done=1").text
        assert elsewhere.get("/account/mail").status_code == 401
    assert can_log_in(site, "shopper@demo.test", NEW)
