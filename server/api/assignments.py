"""``GET /api/v1/assignments``: what the shopper's phone needs to work offline."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import auth
from ..db import Database
from ..queries import assignments, visits
from .common import ok


async def list_assignments(request: Request) -> Response:
    """Open assignments with branch details and questionnaire versions, and the visits a
    reviewer returned for another edit (with the reviewer's note)."""
    user = await auth.require_user(request, "assignment.read_own")
    db: Database = request.app.state.db
    returned = [
        {
            "visit_id": row["visit_uuid"],
            "revision": row["revision"],
            "assignment_id": row["assignment_id"],
            "review_note": row["review_note"],
        }
        for row in await visits.returned_for_shopper(db, user.id)
    ]
    return ok(
        {
            "assignments": await assignments.open_for_shopper(db, user.id),
            "returned_visits": returned,
        }
    )
