"""``/api/v1/assignments``: what the shopper's phone needs to work offline, and claiming
an assignment the agency left open for any shopper."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import auth, reports
from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..queries import assignments, programme, roster, visits
from .common import ok


def _earliest_open_day() -> str:
    """Windows are local dates at the branch; a day back from UTC covers every zone."""
    return (datetime.now(UTC) - timedelta(days=1)).date().isoformat()


def nearest_first(offered: list[dict[str, Any]], home: dict[str, Any]) -> list[dict[str, Any]]:
    """Visits open to claim, each with its distance from the shopper's home (km, when
    both are known), nearest first; those whose distance is unknown keep their order
    (soonest first) after them. The app sorts again by where the phone is, when it may."""
    if home.get("home_lat") is None or home.get("home_lon") is None:
        return offered
    for item in offered:
        branch = item["branch"]
        if branch.get("latitude") is not None and branch.get("longitude") is not None:
            metres = reports.distance_m(
                home["home_lat"], home["home_lon"], branch["latitude"], branch["longitude"]
            )
            item["distance_km"] = round(metres / 1000, 1)
    return sorted(offered, key=lambda item: item.get("distance_km", float("inf")))


async def list_assignments(request: Request) -> Response:
    """Open assignments with branch details and questionnaire versions, the visits a
    reviewer returned for another edit (with the reviewer's note), and assignments left
    open for any shopper to claim."""
    user = await auth.require_user(request, "assignment.read_own")
    db: Database = request.app.state.db
    returned = [
        {
            "visit_id": row["visit_uuid"],
            "revision": row["revision"],
            "assignment_id": row["assignment_id"],
            "review_note": row["review_note"],
            "branch": {"id": row["branch_id"], "name": row["branch_name"]},
            "local_date": row["local_date"],
            # The answers the reviewer points at (question keys), in the questionnaire's order.
            "questions": json.loads(row["review_questions"]) if row["review_questions"] else [],
            # The reviewer's note on single answers: {question key: note}.
            "answer_notes": (
                json.loads(row["review_answer_notes"]) if row["review_answer_notes"] else {}
            ),
        }
        for row in await visits.returned_for_shopper(db, user.id)
    ]
    claimable = nearest_first(
        await assignments.claimable(
            db, user.id, _earliest_open_day(), request.app.state.settings.repeat_days
        ),
        await roster.profile(db, user.id),
    )
    return ok(
        {
            "assignments": await assignments.open_for_shopper(db, user.id),
            "returned_visits": returned,
            "claimable": claimable,
            # What the app does with a visit started before its window (allow, warn, refuse).
            "early_visits": await programme.early_visits(db),
        }
    )


async def claim(request: Request) -> Response:
    """Take an assignment left open for shoppers. Two shoppers claiming at once: the first
    gets it, the second a 409."""
    user = await auth.require_user(request, "assignment.read_own")
    db: Database = request.app.state.db
    assignment_id = int(request.path_params["assignment_id"])
    async with db.transaction() as tx:
        outcome = await assignments.claim(
            tx, assignment_id, user.id, request.app.state.settings.repeat_days
        )
    if outcome == "missing":
        raise ApiError(404, "not_found", _("This assignment is no longer open."))
    if outcome == "taken":
        raise ApiError(409, "taken", _("Another shopper claimed this assignment first."))
    if outcome == "inactive":
        raise ApiError(
            409,
            "not_active",
            _("Your shopper account is not active for new visits: ask the agency."),
        )
    if outcome == "unqualified":
        raise ApiError(
            409,
            "not_qualified",
            _("This visit needs a qualification you do not hold (or that has run out)."),
        )
    if outcome == "too_soon":
        raise ApiError(
            409,
            "too_soon",
            _(
                "You have another visit to this branch less than %(days)s days before or after:"
                " staff might recognise you. Choose another assignment."
            )
            % {"days": request.app.state.settings.repeat_days},
        )
    return ok({"assignment": await assignments.with_branch(db, assignment_id)})
