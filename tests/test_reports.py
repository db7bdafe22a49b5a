"""The pure report helpers: ranking, percentiles, the location hint."""

from __future__ import annotations

import pytest

from server import reports
from server.questionnaire import load_default


def test_ranks_skip_small_samples_and_share_ties() -> None:
    rows = [
        {"id": 1, "visits": 5, "scored": 5, "total": 80.0},
        {"id": 2, "visits": 9, "scored": 9, "total": 90.0},
        {"id": 3, "visits": 2, "scored": 2, "total": 99.0},
        {"id": 4, "visits": 4, "scored": 4, "total": 80.0},
        {"id": 5, "visits": 0, "scored": 0, "total": None},
        # Four visits, but only two have a score (the others all N/A): not enough.
        {"id": 6, "visits": 4, "scored": 2, "total": 95.0},
    ]
    reports.ranks(rows, key="total")
    assert [(r["id"], r["rank"], r["small_sample"]) for r in rows] == [
        (1, 2, False),
        (2, 1, False),
        (3, None, True),
        (4, 2, False),
        (5, None, True),
        (6, None, True),
    ]


def test_percentiles_place_each_value_among_the_others() -> None:
    assert reports.percentile_ranks({1: 50.0, 2: 70.0, 3: 90.0}) == {1: 0.0, 2: 50.0, 3: 100.0}
    assert reports.percentile_ranks({1: 60.0}) == {1: 100.0}
    assert reports.percentile_ranks({1: 60.0, 2: 60.0}) == {1: 50.0, 2: 50.0}
    assert reports.percentile_ranks({}) == {}


def test_distance_and_the_location_hint() -> None:
    assert reports.distance_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-3)
    near = reports.location_check(
        {"lat": -6.1963, "lon": 106.8324, "accuracy_m": 12}, -6.1967, 106.8324
    )
    assert near == {"distance_m": 44, "accuracy_m": 12, "near": True}
    far = reports.location_check(
        {"lat": -6.3, "lon": 106.8324, "accuracy_m": 12}, -6.1967, 106.8324
    )
    assert far is not None and far["near"] is False and far["distance_m"] > 10_000
    assert reports.location_check(None, -6.2, 106.8) is None
    assert reports.location_check({"lat": -6.2, "lon": 106.8}, None, None) is None


def test_timeline_follows_the_questionnaires_timed_questions_and_lines() -> None:
    stamps = {
        "entered": "2026-11-20T10:00:00+07:00",
        "greeted": "2026-11-20T10:00:20+07:00",
        "joined_queue": "2026-11-20T10:05:00+07:00",
        "served": "2026-11-20T10:11:00+07:00",
    }
    definition = load_default()
    greeting, queue = reports.timeline(definition, stamps, {}, "en")
    assert (greeting.seconds, greeting.over_line) == (20, False)
    assert (queue.seconds, queue.over_line, queue.line_seconds) == (360, True, 300)
    never = reports.timeline(definition, {}, {"greeting_delay": {"never": True}}, "en")[0]
    assert never.never and never.seconds is None
    for section in definition["sections"]:
        section["questions"] = [q for q in section["questions"] if q["type"] != "timed"]
    assert reports.timeline(definition, stamps, {}, "en") == []
