"""E-mail (issue "Telling people"): each event's message reaches a real SMTP server on
loopback once, in the recipient's language, even when that server was down when the
event happened; people choose what they get and can stop a kind from the mail itself."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server import mail, zones
from server.app import create_app
from server.jobs import Runner, run_until_idle
from server.photo_store import FolderStore
from server.settings import Settings
from tests.conftest import csrf_token, db_rows, db_write, login, open_db
from tests.smtp import Received, SmtpServer
from tests.views.conftest import SITE


@pytest.fixture
def office(mail_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(mail_settings)) as client:
        yield client


def run_queue(settings: Settings, due_now: bool = False) -> int:
    """Run every due job, as a server's runner would; ``due_now`` first makes the jobs
    waiting for a retry (or a digest time) due."""
    if due_now:
        db_write(
            settings.data_dir,
            [
                (
                    "UPDATE jobs SET run_after = '2000-01-01T00:00:00+00:00'"
                    " WHERE state = 'queued'",
                    (),
                )
            ],
        )

    async def go() -> int:
        async with open_db(settings.data_dir) as db:
            runner = Runner(
                db,
                FolderStore(settings.data_dir / "photos"),
                settings.data_dir / "uploads" / "t",
                settings=settings,
            )
            return await run_until_idle(runner)

    return asyncio.run(go())


def speak(client: TestClient, email: str, lang: str) -> None:
    """The person chooses their language on the site (kept with their account)."""
    login(client, email)
    client.post(
        "/language", data={"csrf_token": csrf_token(client, "/"), "lang": lang, "next": "/"}
    )


def submitted(data: Path, where: str = "") -> list[tuple[str, int, str]]:
    """Submitted visits: (id, branch, shopper's e-mail)."""
    return [
        (str(u), int(b), str(e))
        for u, b, e in db_rows(
            data,
            "SELECT v.visit_uuid, v.branch_id, u.email FROM visits v JOIN users u"
            f" ON u.id = v.shopper_id WHERE v.state = 'submitted' {where} ORDER BY v.id",
        )
    ]


def decide(client: TestClient, visit_id: str, decision: str, note: str = "") -> None:
    login(client, "reviewer@demo.test")
    answer = client.post(
        f"/review/{visit_id}/{decision}",
        data={"csrf_token": csrf_token(client, "/review"), "note": note},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]


def states(data: Path) -> dict[str, int]:
    return {
        str(s): int(n)
        for s, n in db_rows(data, "SELECT state, count(*) FROM notifications GROUP BY state")
    }


def link_in(message: Received) -> str:
    found = re.search(rf"{re.escape(SITE)}(/\S*)", message.text())
    assert found, message.text()
    return found.group(1)


def test_each_event_arrives_once_in_the_readers_language_after_the_server_was_down(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    speak(office, "owner@demo.test", "fr")  # owner2 reads Indonesian already (the demo)
    smtp.stop()  # the SMTP server is down when the events happen
    first = next(v for v in submitted(demo_dir) if v[1] == 1)  # owner@demo.test's branch
    decide(office, first[0], "approve")
    returned = next(v for v in submitted(demo_dir) if v[1] in (9, 10, 11, 12))
    decide(office, returned[0], "return", note="Add the receipt photo.")
    queued = states(demo_dir)
    assert queued == {"queued": 3}  # owner, manager (the report); the shopper (returned)
    assert run_queue(mail_settings) == 3  # every attempt refused: all kept for later
    assert states(demo_dir) == {"queued": 3} and smtp.received == []
    tried = db_rows(demo_dir, "SELECT attempts, state, error FROM jobs WHERE kind = 'mail'")
    assert all(a == 1 and s == "queued" and e for a, s, e in tried), tried

    smtp.start()  # back: the retries deliver, once each
    assert run_queue(mail_settings, due_now=True) == 3
    assert run_queue(mail_settings, due_now=True) == 0
    assert states(demo_dir) == {"sent": 3}
    (owners,) = smtp.to("owner@demo.test")
    (managers,) = smtp.to("manager@demo.test")
    (shoppers,) = smtp.to(returned[2])
    assert len(smtp.received) == 3
    assert owners.subject.startswith("Nouveau rapport")
    assert owners.message["Content-Language"] == "fr"
    assert managers.subject.startswith("New report")
    assert link_in(owners) == f"/visits/{first[0]}"
    assert "Please look again" in shoppers.subject and "Add the receipt photo." in shoppers.text()
    for message in smtp.received:
        assert message.message["Message-ID"] and message.message["List-Unsubscribe"]
        assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/mail/stop/" in message.text() and "/mail/stop/" in message.html()
        assert message.html().startswith("<!doctype html>")
    assert '<html lang="fr">' in owners.html() and "Bonjour" in owners.text()
    sent = db_rows(demo_dir, "SELECT message_id FROM notifications ORDER BY id")
    assert sorted(m for (m,) in sent) == sorted(str(r.message["Message-ID"]) for r in smtp.received)


def test_a_job_run_again_after_its_message_went_sends_nothing(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    """A worker that dies after the server accepted the message but before its job
    finished: another worker runs the job again, finds the notification sent."""
    visit = next(v for v in submitted(demo_dir) if v[1] == 1)
    decide(office, visit[0], "approve")
    assert run_queue(mail_settings) == 2 and len(smtp.received) == 2
    db_write(demo_dir, [("UPDATE jobs SET state = 'queued', attempts = 1 WHERE kind = 'mail'", ())])
    assert run_queue(mail_settings, due_now=True) == 2
    assert len(smtp.received) == 2


def test_a_permanent_refusal_fails_the_message_at_once(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    smtp.handler.refuse = True
    visit = next(v for v in submitted(demo_dir) if v[1] == 1)
    decide(office, visit[0], "approve")
    assert run_queue(mail_settings) == 2
    assert states(demo_dir) == {"failed": 2}
    errors = db_rows(demo_dir, "SELECT error FROM notifications")
    assert all("550" in e for (e,) in errors)
    assert {s for (s,) in db_rows(demo_dir, "SELECT state FROM jobs WHERE kind = 'mail'")} == {
        "failed"
    }


def test_without_an_smtp_server_mail_goes_to_the_log(
    demo_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=demo_dir, run_jobs=False, public_url=SITE)
    with TestClient(create_app(settings)) as client:
        visit = next(v for v in submitted(demo_dir) if v[1] == 1)
        decide(client, visit[0], "approve")
    with caplog.at_level("INFO", logger="visitscore.mail"):
        assert run_queue(settings) == 2
    assert states(demo_dir) == {"sent": 2}
    assert "mail not sent (no VISITSCORE_SMTP_URL)" in caplog.text and "New report" in caplog.text


def test_a_daily_digest_gathers_the_reports_of_the_day(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    login(office, "owner@demo.test")
    answer = office.post(
        "/account/mail",
        data={"csrf_token": csrf_token(office, "/account/mail"), "kind_report_released": "daily"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    visits = [v for v in submitted(demo_dir) if v[1] in (1, 2, 3, 4)][:3]
    for visit in visits:
        decide(office, visit[0], "approve")
    assert run_queue(mail_settings) == 3  # the manager's three, at once
    assert smtp.to("owner@demo.test") == []  # the owner's wait for 07:00 at the branch
    (due,) = {
        d for (d,) in db_rows(demo_dir, "SELECT due_at FROM notifications WHERE digest = 'daily'")
    }
    assert due.endswith("T00:00:00+00:00")  # 07:00 in Jakarta
    assert db_rows(demo_dir, "SELECT count(*) FROM jobs WHERE kind = 'digest'") == [(1,)]
    assert run_queue(mail_settings, due_now=True) == 1
    (digest,) = smtp.to("owner@demo.test")
    assert digest.subject == "Your day: 3 new reports"
    for visit in visits:
        assert f"{SITE}/visits/{visit[0]}" in digest.text()
    assert states(demo_dir) == {"sent": 6}


def test_the_link_in_the_mail_stops_that_kind_without_logging_in(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    first, second = [v for v in submitted(demo_dir) if v[1] in (1, 2, 3, 4)][:2]
    decide(office, first[0], "approve")
    run_queue(mail_settings)
    (message,) = smtp.to("owner@demo.test")
    stop = link_in_stop(message)
    with TestClient(create_app(mail_settings)) as stranger:  # not logged in
        page = stranger.get(stop)
        assert page.status_code == 200 and "Stop sending this mail to owner@demo.test" in page.text
        assert states(demo_dir) == {"sent": 2}
        assert db_rows(demo_dir, "SELECT count(*) FROM mail_preferences") == [
            (0,)
        ]  # a GET stops nothing
        one_click = stranger.post(
            stop, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False
        )
        assert one_click.status_code == 303
        assert "no longer receives this mail" in stranger.get(stop).text
        forged = stop.rsplit(".", 1)[0] + ".0123456789abcdef0123456789abcdef"
        assert stranger.post(forged).status_code == 404
        assert stranger.get(stop.replace("report_released", "appeal_decided")).status_code == 404
    decide(office, second[0], "approve")
    run_queue(mail_settings)
    assert len(smtp.to("owner@demo.test")) == 1  # stopped
    assert len(smtp.to("manager@demo.test")) == 2


def link_in_stop(message: Received) -> str:
    found = re.search(rf"{re.escape(SITE)}(/mail/stop/\S+)", message.text())
    assert found
    return found.group(1)


def test_people_choose_only_what_their_role_can_get(office: TestClient, demo_dir: Path) -> None:
    login(office, "shopper@demo.test")
    page = office.get("/account/mail").text
    assert "A visit sent back to me" in page and "A new visit report" not in page
    assert 'value="daily"' not in page  # a shopper's mail comes as it happens
    csrf = csrf_token(office, "/account/mail")
    refused = office.post(
        "/account/mail", data={"csrf_token": csrf, "kind_visit_returned": "daily"}
    )
    assert refused.status_code == 422
    elsewhere = office.post(
        "/account/mail", data={"csrf_token": csrf, "kind_report_released": "off"}
    )
    assert elsewhere.status_code == 422  # not a kind a shopper gets
    assert db_rows(demo_dir, "SELECT count(*) FROM mail_preferences") == [(0,)]
    saved = office.post(
        "/account/mail",
        data={"csrf_token": csrf, "kind_visit_returned": "off"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert db_rows(demo_dir, "SELECT kind, choice FROM mail_preferences") == [
        ("visit_returned", "off")
    ]


def test_assignments_and_appeals_and_plans_tell_the_people_they_concern(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    # The admin gives a visit to a shopper, moves it, cancels it.
    login(office, "admin@demo.test")
    csrf = csrf_token(office, "/admin/assignments")
    branch = db_rows(demo_dir, "SELECT id FROM branches WHERE code = 'JKT-PLT'")[0][0]
    shopper = db_rows(demo_dir, "SELECT id FROM users WHERE email = 'shopper2@demo.test'")[0][0]
    made = office.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf,
            "branches": str(branch),
            "shopper": str(shopper),
            "questionnaire": "default",
            "start": "2027-01-04",
            "end": "2027-01-10",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text[:400]
    (assignment,) = db_rows(demo_dir, "SELECT max(id) FROM assignments")[0]
    moved = office.post(
        f"/admin/assignments/{assignment}/window",
        data={"csrf_token": csrf, "start": "2027-01-11", "end": "2027-01-17"},
        follow_redirects=False,
    )
    cancelled = office.post(
        f"/admin/assignments/{assignment}/cancel",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert (moved.status_code, cancelled.status_code) == (303, 303)
    run_queue(mail_settings)
    assert [m.subject for m in smtp.to("shopper2@demo.test")] == [
        "New visit: Toko Contoh Pluit",
        "Visit changed: Toko Contoh Pluit",
        "Visit cancelled: Toko Contoh Pluit",
    ]
    assert "11" in smtp.to("shopper2@demo.test")[1].text()  # the new window
    del smtp.received[:]

    # An owner appeals; reviewers hear of it; the decision goes to the branch's readers.
    visit = next(v for v in submitted(demo_dir) if v[1] == 1)
    decide(office, visit[0], "approve")
    run_queue(mail_settings)
    del smtp.received[:]
    login(office, "owner@demo.test")
    appealed = office.post(
        f"/visits/{visit[0]}/appeal",
        data={
            "csrf_token": csrf_token(office, f"/visits/{visit[0]}"),
            "category": "fact_wrong",
            "text": "No.",
        },
        follow_redirects=False,
    )
    assert appealed.status_code == 303
    run_queue(mail_settings)
    assert sorted(r for m in smtp.received for r in m.recipients) == [
        "admin@demo.test",
        "reviewer@demo.test",
    ]
    assert smtp.received[0].subject.startswith("Appeal:")
    del smtp.received[:]
    login(office, "reviewer@demo.test")
    office.post(
        f"/review/{visit[0]}/appeal",
        data={
            "csrf_token": csrf_token(office, "/review"),
            "decision": "rejected",
            "reason": "The photo.",
        },
    )
    run_queue(mail_settings)
    assert sorted(r for m in smtp.received for r in m.recipients) == [
        "manager@demo.test",
        "owner@demo.test",
    ]
    assert "The photo." in smtp.to("owner@demo.test")[0].text()
    del smtp.received[:]

    # The manager returns a done plan; the owner hears of it with the note.
    login(office, "owner@demo.test")
    csrf = csrf_token(office, f"/branches/{branch}")
    office.post(f"/branches/{branch}/action-plans", data={"csrf_token": csrf, "text": "Greet"})
    (plan,) = db_rows(demo_dir, "SELECT max(id) FROM action_plans")[0]
    office.post(f"/branches/{branch}/action-plans/{plan}/done", data={"csrf_token": csrf})
    login(office, "manager@demo.test")
    office.post(
        f"/branches/{branch}/action-plans/{plan}/return",
        data={"csrf_token": csrf_token(office, f"/branches/{branch}"), "note": "Not yet."},
    )
    run_queue(mail_settings)
    (returned,) = smtp.received
    assert returned.recipients == ["owner@demo.test"] and "Not yet." in returned.text()
    assert link_in(returned) == f"/branches/{branch}#plans-h"


def test_plans_due_tomorrow_or_overdue_are_reminded_once(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    branch = db_rows(demo_dir, "SELECT id FROM branches WHERE code = 'JKT-PLT'")[0][0]
    login(office, "owner@demo.test")
    csrf = csrf_token(office, f"/branches/{branch}")
    tomorrow = zones.today_in("Asia/Jakarta") + timedelta(days=1)
    for text, due in (("Soon", tomorrow), ("Late", date(2026, 1, 5))):
        office.post(
            f"/branches/{branch}/action-plans",
            data={"csrf_token": csrf, "text": text, "due_date": due.isoformat()},
        )

    async def remind() -> int:
        async with open_db(demo_dir) as db:
            return await mail.remind_plans(db)

    asyncio.run(remind())
    assert asyncio.run(remind()) == 0  # each reminder once
    run_queue(mail_settings)
    mine = sorted(
        (m.subject, r)
        for m in smtp.received
        for r in m.recipients
        if "\u201cSoon\u201d" in m.text() or "\u201cLate\u201d" in m.text()
    )
    assert mine == [
        ("Action plan due tomorrow: Toko Contoh Pluit", "owner@demo.test"),
        ("Action plan overdue: Toko Contoh Pluit", "manager@demo.test"),
        ("Action plan overdue: Toko Contoh Pluit", "owner@demo.test"),
    ]


def test_every_kind_of_mail_arrives_once_in_its_readers_language(
    office: TestClient, mail_settings: Settings, smtp: SmtpServer, demo_dir: Path
) -> None:
    """One of each kind the code knows (mail.KINDS), made while the SMTP server is down,
    each arriving once when it is back, in the language of the person it is for."""
    speak(office, "owner@demo.test", "fr")
    speak(office, "shopper2@demo.test", "id")
    smtp.stop()
    branch = db_rows(demo_dir, "SELECT id FROM branches WHERE code = 'JKT-PLT'")[0][0]
    shopper2 = db_rows(demo_dir, "SELECT id FROM users WHERE email = 'shopper2@demo.test'")[0][0]
    # Assignments: made, moved, cancelled.
    login(office, "admin@demo.test")
    csrf = csrf_token(office, "/admin/assignments")
    office.post(
        "/admin/assignments",
        data={
            "csrf_token": csrf,
            "branches": str(branch),
            "shopper": str(shopper2),
            "questionnaire": "default",
            "start": "2027-01-04",
            "end": "2027-01-10",
        },
    )
    (assignment,) = db_rows(demo_dir, "SELECT max(id) FROM assignments")[0]
    office.post(
        f"/admin/assignments/{assignment}/window",
        data={"csrf_token": csrf, "start": "2027-01-11", "end": "2027-01-17"},
    )
    office.post(f"/admin/assignments/{assignment}/cancel", data={"csrf_token": csrf})
    # Visits: approved (a report), returned, rejected; an appeal opened and decided.
    waiting = submitted(demo_dir)
    first = next(v for v in waiting if v[1] == 1)
    decide(office, first[0], "approve")
    returned, rejected = [v for v in waiting if v[0] != first[0]][:2]
    decide(office, returned[0], "return", note="Add the receipt.")
    decide(office, rejected[0], "reject", note="Wrong shop.")
    login(office, "owner@demo.test")
    office.post(
        f"/visits/{first[0]}/appeal",
        data={
            "csrf_token": csrf_token(office, f"/visits/{first[0]}"),
            "category": "other",
            "text": "Unfair.",
        },
    )
    login(office, "reviewer@demo.test")
    office.post(
        f"/review/{first[0]}/appeal",
        data={"csrf_token": csrf_token(office, "/review"), "decision": "rejected", "reason": "No."},
    )
    # Plans: one returned then verified; one due tomorrow, one overdue.
    login(office, "owner@demo.test")
    csrf = csrf_token(office, f"/branches/{branch}")
    tomorrow = zones.today_in("Asia/Jakarta") + timedelta(days=1)
    for text, due in (("Greet", None), ("Soon", tomorrow), ("Late", date(2026, 1, 5))):
        form = {"csrf_token": csrf, "text": text}
        if due:
            form["due_date"] = due.isoformat()
        office.post(f"/branches/{branch}/action-plans", data=form)
    (plan,) = db_rows(demo_dir, "SELECT id FROM action_plans WHERE text = 'Greet'")[0]
    step = f"/branches/{branch}/action-plans/{plan}"
    for email, name, form in (
        ("owner@demo.test", "done", {}),
        ("manager@demo.test", "return", {"note": "Not yet."}),
        ("owner@demo.test", "done", {}),
        ("manager@demo.test", "verify", {}),
    ):
        login(office, email)  # a new session: a new form token
        answer = office.post(
            f"{step}/{name}",
            data={"csrf_token": csrf_token(office, f"/branches/{branch}"), **form},
            follow_redirects=False,
        )
        assert answer.status_code == 303, (name, answer.text[:200])

    async def remind() -> int:
        async with open_db(demo_dir) as db:
            return await mail.remind_plans(db)

    asyncio.run(remind())
    # Accounts: a reset asked for, an invitation.
    office.cookies.clear()
    office.post(
        "/password-reset",
        data={"csrf_token": csrf_token(office, "/password-reset"), "email": "owner2@demo.test"},
    )
    login(office, "admin@demo.test")
    office.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(office, "/admin/users"),
            "name": "Nina",
            "email": "nina@demo.test",
            "role": "shopper",
            "locale": "fr",
            "access": "invite",
        },
    )

    run_queue(mail_settings)  # every attempt fails: the server is down
    assert smtp.received == []
    smtp.start()
    run_queue(mail_settings, due_now=True)
    run_queue(mail_settings, due_now=True)  # nothing more goes out
    made = db_rows(
        demo_dir,
        "SELECT n.kind, n.state, n.message_id, u.email, coalesce(u.locale, 'en')"
        " FROM notifications n JOIN users u ON u.id = n.user_id",
    )
    assert {kind for kind, *_rest in made} == set(mail.KINDS)  # every kind the code has
    assert {state for _kind, state, *_rest in made} == {"sent"}
    by_id = {str(m.message["Message-ID"]): m for m in smtp.received}
    assert len(smtp.received) == len(made) == len(by_id)  # each once
    for kind, _state, message_id, email, locale in made:
        message = by_id[message_id]
        assert message.recipients == [email], kind
        assert message.message["Content-Language"] == locale, (kind, email)
