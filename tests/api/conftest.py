"""Helpers for the sync API tests: a valid visit for an assignment, photos to send."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from tests.conftest import login

YES = [
    "greeted_verbally",
    "thanked",
    "farewell",
    "asked_needs",
    "tailored_suggestion",
    "offered_options",
    "would_return",
]
NO = ["staff_idle", "sounded_scripted"]


def visit_body(
    assignment: dict[str, Any], photos: list[dict[str, Any]] | None = None, **changes: Any
) -> dict[str, Any]:
    """A complete, valid visit for one of the default questionnaire's assignments."""
    answers: dict[str, Any] = {k: {"value": True} for k in YES}
    answers |= {k: {"value": False} for k in NO}
    answers |= {
        "eye_contact": {"value": 3, "comment": "smiled, busy"},
        "tills": {"value": {"open": 1, "total": 15}},
        "self_checkouts": {"na": True},
        "used_name": {"na": True},
        "took_ownership": {"value": True},
        "resolution": {"value": "partly"},
        "stayed_courteous": {"value": 4},
        "friendliness": {"value": 4},
        "people_ahead": {"value": 3},
        "overall_comment": {"value": "Queue was long."},
    }
    body = {
        "assignment_id": assignment["id"],
        "questionnaire": assignment["questionnaire"],
        "revision": 1,
        "started_at": "2026-11-24T10:00:00+07:00",
        "ended_at": "2026-11-24T10:21:40+07:00",
        "stamps": {
            "entered": "2026-11-24T10:00:03+07:00",
            "greeted": "2026-11-24T10:00:41+07:00",
            "joined_queue": "2026-11-24T10:12:00+07:00",
            "served": "2026-11-24T10:15:30+07:00",
            "paid": "2026-11-24T10:17:00+07:00",
            "left": "2026-11-24T10:18:00+07:00",
        },
        "answers": answers,
        "comment": "free text",
        "geo": {"lat": -6.1963, "lon": 106.8324, "accuracy_m": 12},
        "photos": photos or [],
    }
    body.update(changes)
    return body


def jpeg_bytes(
    size: tuple[int, int] = (800, 600),
    color: tuple[int, int, int] = (20, 160, 40),
    exif: Image.Exif | None = None,
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(
        out, "JPEG", quality=85, exif=exif.tobytes() if exif else b""
    )
    return out.getvalue()


def manifest(
    data: bytes,
    question: str | None = "checkout_photo",
    content_type: str = "image/jpeg",
    photo_id: str | None = None,
) -> dict[str, Any]:
    return {
        "photo_id": photo_id or str(uuid.uuid4()),
        "question": question,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "content_type": content_type,
    }


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def shopper(demo_client: TestClient) -> TestClient:
    login(demo_client, "shopper@demo.test")
    return demo_client


def open_assignments(client: TestClient) -> list[dict[str, Any]]:
    response = client.get("/api/v1/assignments")
    assert response.status_code == 200, response.text
    return response.json()["assignments"]  # type: ignore[no-any-return]


@pytest.fixture
def assignment(shopper: TestClient) -> dict[str, Any]:
    return open_assignments(shopper)[0]
