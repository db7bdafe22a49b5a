"""Webhooks (issue "Telling people"): signed JSON deliveries to a real receiver on
loopback, sent by the job queue with retries after it answers 500, kept in a log the
admin reads and can send again; payloads never carry a shopper's identity or GPS."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings
from tests.conftest import csrf_token, db_rows, login
from tests.receiver import Receiver
from tests.views.test_mail import run_queue

SECRET = "a-test-secret-of-enough-length"


def settings_for(data: Path) -> Settings:
    return Settings(data_dir=data, run_jobs=False)


def register(client: TestClient, url: str, events: list[str], secret: str = SECRET) -> int:
    login(client, "admin@demo.test")
    answer = client.post(
        "/admin/webhooks",
        data={
            "csrf_token": csrf_token(client, "/admin/webhooks"),
            "url": url,
            "events": events,
            "secret": secret,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]
    return int(answer.headers["location"].rsplit("/", 1)[1])


def approve_one(client: TestClient, data: Path) -> str:
    (visit,) = db_rows(
        data, "SELECT visit_uuid FROM visits WHERE state = 'submitted' ORDER BY id LIMIT 1"
    )[0]
    login(client, "reviewer@demo.test")
    answer = client.post(
        f"/review/{visit}/approve",
        data={"csrf_token": csrf_token(client, "/review")},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return str(visit)


def signed_by(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check, written here from the documented scheme (not our code)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def test_a_delivery_is_signed_retried_after_500_logged_and_resent(demo_dir: Path) -> None:
    settings = settings_for(demo_dir)
    with Receiver(failures=1) as receiver, TestClient(create_app(settings)) as client:
        hook = register(client, receiver.url, ["visit.approved", "visit.returned"])
        visit = approve_one(client, demo_dir)
        assert run_queue(settings) >= 1
        (first,) = receiver.requests
        assert first.answered == 500
        assert db_rows(demo_dir, "SELECT state, attempts, last_status FROM webhook_deliveries") == [
            ("queued", 1, 500)
        ]
        run_queue(settings, due_now=True)  # the retry
        second = receiver.requests[1]
        assert second.answered == 204 and second.body == first.body
        assert db_rows(demo_dir, "SELECT state, attempts, last_status FROM webhook_deliveries") == [
            ("delivered", 2, 204)
        ]
        for request in (first, second):
            assert request.headers["content-type"] == "application/json"
            assert request.headers["visitscore-event"] == "visit.approved"
            assert signed_by(SECRET, request.headers["visitscore-signature"], request.body)
            assert not signed_by(
                "another secret entirely", request.headers["visitscore-signature"], request.body
            )
        body = json.loads(second.body)
        assert body["event"] == "visit.approved" and body["data"]["visit_id"] == visit
        assert body["data"]["state"] == "approved" and body["data"]["chain"]["code"]
        # Never who the shopper was, nor where their phone was.
        shopper = db_rows(
            demo_dir,
            "SELECT u.email, u.name FROM visits v JOIN users u ON u.id = v.shopper_id"
            " WHERE v.visit_uuid = ?",
            (visit,),
        )[0]
        text = second.body.decode()
        for secret_thing in (*shopper, "shopper", "geo", "lat", "lon", "accuracy"):
            assert secret_thing not in text, secret_thing

        # The admin reads the log and sends it again: the same body, signed anew.
        login(client, "admin@demo.test")
        page = client.get(f"/admin/webhooks/{hook}")
        assert "HTTP 204" in page.text and "delivered" in page.text
        (delivery,) = db_rows(demo_dir, "SELECT id FROM webhook_deliveries")[0]
        resent = client.post(
            f"/admin/webhooks/{hook}/deliveries/{delivery}/resend",
            data={"csrf_token": csrf_token(client, f"/admin/webhooks/{hook}")},
            follow_redirects=False,
        )
        assert resent.status_code == 303
        run_queue(settings)
        assert len(receiver.requests) == 3 and receiver.requests[2].body == first.body


def test_a_receiver_that_never_answers_well_fails_the_delivery_in_the_end(demo_dir: Path) -> None:
    settings = settings_for(demo_dir)
    with Receiver(failures=100) as receiver, TestClient(create_app(settings)) as client:
        register(client, receiver.url, ["visit.approved"])
        approve_one(client, demo_dir)
        for _ in range(15):
            run_queue(settings, due_now=True)
        assert db_rows(demo_dir, "SELECT state, attempts FROM webhook_deliveries") == [
            ("failed", 12)
        ]
        assert len(receiver.requests) == 12


def test_only_the_events_a_webhook_asked_for_go_and_a_paused_one_gets_none(demo_dir: Path) -> None:
    settings = settings_for(demo_dir)
    with Receiver() as receiver, TestClient(create_app(settings)) as client:
        hook = register(client, receiver.url, ["visit.returned"])
        approve_one(client, demo_dir)
        run_queue(settings)
        assert receiver.requests == []
        # An action plan written and marked done: two deliveries for a plan hook.
        plans = register(client, receiver.url, ["actionplan.changed"])
        branch = db_rows(demo_dir, "SELECT id FROM branches WHERE code = 'JKT-PLT'")[0][0]
        login(client, "owner@demo.test")
        csrf = csrf_token(client, f"/branches/{branch}")
        client.post(f"/branches/{branch}/action-plans", data={"csrf_token": csrf, "text": "Greet"})
        (plan,) = db_rows(demo_dir, "SELECT max(id) FROM action_plans")[0]
        client.post(f"/branches/{branch}/action-plans/{plan}/done", data={"csrf_token": csrf})
        run_queue(settings)
        steps = [json.loads(r.body)["data"]["step"] for r in receiver.requests]
        assert steps == ["created", "done"]
        login(client, "admin@demo.test")
        client.post(
            f"/admin/webhooks/{plans}/pause",
            data={"csrf_token": csrf_token(client, "/admin/webhooks")},
        )
        login(client, "owner@demo.test")
        client.post(f"/branches/{branch}/action-plans/{plan}/start", data={"csrf_token": csrf})
        run_queue(settings)
        assert len(receiver.requests) == 2
        assert hook != plans


def test_bad_webhooks_are_refused(demo_client: TestClient, demo_dir: Path) -> None:
    login(demo_client, "admin@demo.test")
    csrf = csrf_token(demo_client, "/admin/webhooks")
    for form in (
        {"url": "ftp://example.test/x", "events": ["visit.approved"]},
        {"url": "http://127.0.0.1:9/x", "events": []},
        {"url": "http://127.0.0.1:9/x", "events": ["visit.exploded"]},
        {"url": "http://127.0.0.1:9/x", "events": ["visit.approved"], "secret": "short"},
    ):
        answer = demo_client.post("/admin/webhooks", data={"csrf_token": csrf, **form})
        assert answer.status_code == 422, form
    assert db_rows(demo_dir, "SELECT count(*) FROM webhooks") == [(0,)]
