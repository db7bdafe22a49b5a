"""Answers and stamps at rest: shorter, and read back exactly as the phone sent them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.visit_record import pack_answers, pack_stamps, unpack_answers, unpack_stamps
from tests.api.conftest import new_id, open_assignments, visit_body
from tests.conftest import db_rows, login

START = "2026-11-24T10:00:00+07:00"

ANSWERS: list[dict[str, Any]] = [
    {"yes": {"value": True}, "no": {"value": False}, "scale": {"value": 4}},
    {"na": {"na": True}, "never": {"never": True}, "nothing": {"value": None}},
    {"pair": {"value": {"open": 2, "total": 5}}, "many": {"value": ["a", "b"]}},
    {"text": {"value": "Ramah, cepat 🙂"}, "noted": {"value": 3, "comment": "slow till"}},
    {"empty": {}, "odd": {"value": "x", "photos": ["p1"]}},
    {},
]

STAMPS: list[dict[str, Any]] = [
    {"entered": "2026-11-24T10:00:14+07:00", "greeted": "2026-11-24T10:00:24+07:00"},
    {"before": "2026-11-24T09:59:00+07:00", "next_day": "2026-11-25T00:00:01+07:00"},
    {"fraction": "2026-11-24T10:00:24.250+07:00", "utc": "2026-11-24T03:00:24+00:00"},
    {"zulu": "2026-11-24T03:00:24Z", "naive": "2026-11-24T10:00:24", "junk": "soon"},
    {},
]


@pytest.mark.parametrize("answers", ANSWERS)
def test_answers_read_back_exactly(answers: dict[str, Any]) -> None:
    kept = pack_answers(answers)
    assert unpack_answers(kept) == answers
    assert len(kept) <= len(json.dumps(answers, separators=(",", ":"), ensure_ascii=False))


@pytest.mark.parametrize("stamps", STAMPS)
@pytest.mark.parametrize("started_at", [START, None, "2026-11-24T10:00:00.500+07:00"])
def test_stamps_read_back_exactly(stamps: dict[str, Any], started_at: str | None) -> None:
    kept = pack_stamps(stamps, started_at)
    assert unpack_stamps(kept, started_at) == stamps
    assert len(kept) <= len(json.dumps(stamps, separators=(",", ":")))


def test_values_and_stamps_at_the_visits_offset_are_shortened() -> None:
    assert pack_answers({"a": {"value": True}, "b": {"na": True}}) == '{"a":true,"b":{"na":true}}'
    assert pack_stamps(STAMPS[0], START) == '{"entered":14,"greeted":24}'


def test_rows_stored_before_migration_0014_read_the_same() -> None:
    answers, stamps = ANSWERS[0], STAMPS[0]
    assert unpack_answers(json.dumps(answers)) == answers
    assert unpack_stamps(json.dumps(stamps), START) == stamps


def test_a_visit_sent_by_the_app_comes_back_as_it_was_sent(
    demo_client: TestClient, demo_dir: Path
) -> None:
    """Through the API and the report: the answers and stamps the phone sent, exactly."""
    login(demo_client, "shopper@demo.test")
    body = visit_body(open_assignments(demo_client)[0])
    body["answers"]["friendliness"] = {"value": 4, "comment": "smiled"}
    visit_id = new_id()
    assert demo_client.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
    (kept,) = db_rows(
        demo_dir, "SELECT answers, stamps FROM visits WHERE visit_uuid = ?", (visit_id,)
    )
    assert len(kept[0]) < len(json.dumps(body["answers"]))
    login(demo_client, "reviewer@demo.test")
    report = demo_client.get(f"/visits/{visit_id}.json").json()
    assert report["answers"] == body["answers"] and report["stamps"] == body["stamps"]
