"""``GET /api/v1/me/pay``: what the shopper earned: their statements (newest first), each
with its lines, and the lines not on a statement yet. Only ever the caller's own."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import auth, money
from ..db import Database
from ..queries import pay
from .common import ok


def _line(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "visit_id": row["visit_uuid"],
        "branch": row["branch_name"],
        "local_date": row["local_date"],
        "kind": row["kind"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "month": row["month"],
        "note": row["note"],
    }


async def my_pay(request: Request) -> Response:
    user = await auth.require_user(request, "pay.read_own")
    db: Database = request.app.state.db
    found = await pay.for_shopper(db, user.id)
    currencies = {s["currency"] for s in found["statements"]} | {
        line["currency"] for line in found["pending"]
    }
    return ok(
        {
            "statements": [
                {
                    "id": s["id"],
                    "month": s["month"],
                    "currency": s["currency"],
                    "total_minor": s["total_minor"],
                    "state": s["state"],
                    "paid_on": s["paid_on"],
                    "reference": s["reference"],
                    "lines": [_line(line) for line in s["lines"]],
                }
                for s in found["statements"]
            ],
            "pending": [_line(line) for line in found["pending"]],
            "minor_digits": {c: money.digits(c) for c in sorted(currencies)},
        }
    )
