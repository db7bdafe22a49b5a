"""``/api/v1/openapi.json``: the API described for other clients (OpenAPI 3.1).

Written by hand beside the handlers; ``tests/api/test_openapi.py`` fails when a route
and this document disagree.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..i18n import STATE_NAMES, SUPPORTED
from ..queries.programme import EARLY_VISITS
from ..questionnaire import STAMPS

UUID = {"type": "string", "format": "uuid"}
MOMENT = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with its UTC offset, e.g. 2026-11-20T10:00:03+07:00",
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "description": "stable, for programs"},
                    "message": {"type": "string", "description": "in the request's language"},
                    "details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                },
            }
        },
    },
    "User": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "email": {"type": "string"},
            "name": {"type": "string"},
            "role": {"enum": ["admin", "reviewer", "manager", "owner", "shopper"]},
            "locale": {"enum": [*SUPPORTED, None]},
            "branch_ids": {"type": "array", "items": {"type": "integer"}},
            "chain_ids": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Answer": {
        "type": "object",
        "properties": {
            "value": {
                "description": "yes_no: boolean; scale, number: number; choice: option"
                " key; multi_choice: a list of option keys; count_pair: {open, total};"
                " nps: integer 0-10; money: number >= 0,"
                " at most two decimals; text: string"
            },
            "na": {"const": True},
            "never": {
                "const": True,
                "description": "timed questions only: the event never happened (earns 0)",
            },
            "comment": {"type": "string", "maxLength": 5000},
        },
        "additionalProperties": False,
    },
    "PhotoManifestEntry": {
        "type": "object",
        "required": ["photo_id", "sha256", "bytes", "content_type"],
        "properties": {
            "photo_id": UUID,
            "question": {"type": ["string", "null"]},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "bytes": {"type": "integer", "minimum": 1},
            "content_type": {"enum": ["image/jpeg", "image/png", "image/webp"]},
            "captured_at": {
                **MOMENT,
                "description": "when the phone took it; used when the photo itself has no"
                " EXIF time (e.g. after the phone made it smaller)",
            },
        },
    },
    "Visit": {
        "type": "object",
        "required": ["assignment_id", "questionnaire", "revision", "started_at"],
        "additionalProperties": False,
        "properties": {
            "assignment_id": {"type": "integer"},
            "questionnaire": {
                "type": "object",
                "required": ["id", "version"],
                "properties": {"id": {"type": "string"}, "version": {"type": "integer"}},
            },
            "revision": {"type": "integer", "minimum": 1},
            "started_at": MOMENT,
            "ended_at": MOMENT,
            "stamps": {
                "type": "object",
                "additionalProperties": False,
                "properties": {name: MOMENT for name in STAMPS},
            },
            "answers": {
                "type": "object",
                "additionalProperties": {"$ref": "#/components/schemas/Answer"},
            },
            "comment": {"type": "string", "maxLength": 5000},
            "geo": {
                "type": "object",
                "required": ["lat", "lon"],
                "properties": {
                    "lat": {"type": "number", "minimum": -90, "maximum": 90},
                    "lon": {"type": "number", "minimum": -180, "maximum": 180},
                    "accuracy_m": {"type": "number", "minimum": 0},
                },
            },
            "photos": {
                "type": "array",
                "maxItems": 60,
                "items": {"$ref": "#/components/schemas/PhotoManifestEntry"},
            },
        },
    },
    "VisitStatus": {
        "type": "object",
        "required": [
            "visit_id",
            "revision",
            "state",
            "photos_expected",
            "photos_present",
            "complete",
        ],
        "properties": {
            "visit_id": UUID,
            "revision": {"type": "integer"},
            "state": {"enum": list(STATE_NAMES)},
            "photos_expected": {"type": "integer"},
            "photos_present": {"type": "integer"},
            "photos_missing": {"type": "array", "items": UUID},
            "complete": {
                "type": "boolean",
                "description": "the server holds the visit and all its photos",
            },
            "received_at": {"type": "string", "format": "date-time"},
            "review_note": {"type": "string", "description": "only when returned"},
        },
    },
    "Assignment": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "branch_id": {"type": "integer"},
            "questionnaire": {"type": "object"},
            "window": {
                "type": "object",
                "properties": {
                    "start": {"type": "string", "format": "date"},
                    "end": {"type": "string", "format": "date"},
                },
                "description": "local dates in the branch's time zone (branch.timezone)",
            },
            "scenario": {"type": "string", "description": "a free-text note for the shopper"},
            "scenario_key": {
                "type": ["string", "null"],
                "description": "one of the questionnaire version's declared scenarios (its"
                " texts are in the definition), which show_if conditions may test; null: none",
            },
            "scenario_texts": {
                "type": "object",
                "description": "the declared scenario's texts by language (empty: none)",
            },
            "state": {"type": "string"},
            "branch": {"type": "object"},
            "distance_km": {
                "type": "number",
                "description": "only in `claimable`: from the shopper's home, when both are"
                " known (the list is nearest first)",
            },
            "pay": {
                "type": ["object", "null"],
                "description": "what the visit pays (null: nothing): `fee_minor` and"
                " `reimburse_max_minor` (a purchase reimbursed up to it, with a receipt"
                " photo) in minor units of `currency`, which has `minor_digits` decimals",
            },
        },
    },
    "PayLine": {
        "type": "object",
        "required": ["visit_id", "kind", "amount_minor", "currency", "month"],
        "properties": {
            "visit_id": UUID,
            "branch": {"type": ["string", "null"]},
            "local_date": {"type": ["string", "null"], "format": "date"},
            "kind": {"type": "string", "enum": ["fee", "reimbursement"]},
            "amount_minor": {"type": "integer", "description": "in minor units of currency"},
            "currency": {"type": "string", "description": "ISO 4217 code"},
            "month": {"type": "string", "description": "YYYY-MM it became payable (UTC)"},
            "note": {
                "type": ["string", "null"],
                "description": "why a rejected visit was paid all the same",
            },
        },
    },
    "ShopperPay": {
        "type": "object",
        "required": ["statements", "pending", "minor_digits"],
        "properties": {
            "statements": {
                "type": "array",
                "description": "newest first",
                "items": {
                    "type": "object",
                    "required": ["month", "currency", "total_minor", "state", "lines"],
                    "properties": {
                        "id": {"type": "integer"},
                        "month": {"type": "string", "description": "YYYY-MM"},
                        "currency": {"type": "string"},
                        "total_minor": {"type": "integer", "description": "the sum of lines"},
                        "state": {"type": "string", "enum": ["to_approve", "approved", "paid"]},
                        "paid_on": {"type": ["string", "null"], "format": "date"},
                        "reference": {"type": ["string", "null"]},
                        "lines": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/PayLine"},
                        },
                    },
                },
            },
            "pending": {
                "type": "array",
                "description": "lines earned and not on a statement yet",
                "items": {"$ref": "#/components/schemas/PayLine"},
            },
            "minor_digits": {
                "type": "object",
                "description": "decimals of each currency named (amount = minor / 10^digits)",
            },
        },
    },
    "ShopperVisits": {
        "type": "object",
        "properties": {
            "quality": {
                "type": "object",
                "description": "the shopper's visit quality: `quality` (mean mark out of 10),"
                " `trend` (`recent`, `before`: the last 90 days and the 90 before), `visits`,"
                " `returned`, `rejected`, `appeals_upheld`, `average_rating`, `rated`",
            },
            "visits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["visit_id", "revision", "branch", "local_date", "state"],
                    "properties": {
                        "visit_id": UUID,
                        "revision": {"type": "integer"},
                        "branch": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "integer"},
                                "name": {"type": "string"},
                                "city": {"type": "string"},
                            },
                        },
                        "local_date": {
                            "type": "string",
                            "format": "date",
                            "description": "the day of the visit at the branch",
                        },
                        "started_at": {"type": "string", "format": "date-time"},
                        "state": {
                            "type": "string",
                            "enum": list(STATE_NAMES),
                            "description": "incomplete: photos still to come; submitted:"
                            " waiting for review",
                        },
                        "note": {
                            "type": "string",
                            "description": "returned: what the reviewer asks to change",
                        },
                        "reason": {
                            "type": "string",
                            "description": "rejected: why the reviewer rejected it",
                        },
                    },
                },
            },
            "limit": {"type": "integer", "description": "the most visits listed"},
        },
    },
    "Claimed": {
        "type": "object",
        "properties": {"assignment": {"$ref": "#/components/schemas/Assignment"}},
    },
    "Assignments": {
        "type": "object",
        "properties": {
            "assignments": {"type": "array", "items": {"$ref": "#/components/schemas/Assignment"}},
            "claimable": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Assignment"},
                "description": "left open for any shopper; claim one with POST .../claim",
            },
            "returned_visits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "visit_id": UUID,
                        "revision": {"type": "integer"},
                        "assignment_id": {"type": "integer"},
                        "review_note": {"type": "string"},
                        "branch": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "integer"},
                                "name": {"type": "string"},
                            },
                        },
                        "local_date": {"type": "string", "format": "date"},
                        "questions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "the answers the reviewer points at (question keys)",
                        },
                    },
                },
            },
            "early_visits": {
                "type": "string",
                "enum": list(EARLY_VISITS),
                "description": "the programme's rule for a visit started before its window"
                " opens: start it silently, say when the window opens and let the shopper"
                " start anyway, or wait for the window (the server refuses such a visit)",
            },
        },
    },
}

VISIT_ID = {
    "name": "visit_id",
    "in": "path",
    "required": True,
    "schema": UUID,
    "description": "the UUID the app made when the visit began",
}
PHOTO_ID = {"name": "photo_id", "in": "path", "required": True, "schema": UUID}

PATHS: dict[str, Any] = {
    "/api/v1/session": {
        "get": {
            "summary": "Who is logged in",
            "responses": {"200": {"description": "the user"}, "401": _error("not logged in")},
        },
        "post": {
            "summary": "Log in",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["email", "password"],
                            "properties": {
                                "email": {"type": "string"},
                                "password": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": {"description": "logged in; sets the vs_session cookie"},
                "401": _error("wrong email or password"),
                "422": _error("email or password missing"),
                "429": _error("too many failed logins; see Retry-After"),
            },
        },
        "delete": {"summary": "Log out", "responses": {"200": {"description": "logged out"}}},
    },
    "/api/v1/assignments": {
        "get": {
            "summary": "The shopper's open assignments and returned visits",
            "responses": {
                "200": _json("Assignments", "for offline use"),
                "401": _error("not logged in"),
                "403": _error("not a shopper"),
            },
        },
    },
    "/api/v1/me/visits": {
        "get": {
            "summary": "The shopper's own visits, newest first, and what became of each",
            "responses": {
                "200": _json("ShopperVisits", "the newest visits (at most `limit`)"),
                "401": _error("not logged in"),
                "403": _error("not a shopper"),
            },
        },
    },
    "/api/v1/me/pay": {
        "get": {
            "summary": "The shopper's own pay: monthly statements with their lines, and lines"
            " not on a statement yet",
            "responses": {
                "200": _json("ShopperPay", "only the caller's own"),
                "401": _error("not logged in"),
                "403": _error("not a shopper"),
            },
        },
    },
    "/api/v1/assignments/{assignment_id}/claim": {
        "post": {
            "summary": "Claim an assignment left open for any shopper",
            "parameters": [
                {
                    "name": "assignment_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                }
            ],
            "responses": {
                "200": _json("Claimed", "now the shopper's own assignment"),
                "401": _error("not logged in"),
                "403": _error("not a shopper"),
                "404": _error("no such open assignment"),
                "409": _error(
                    "taken: claimed by someone else first; too_soon: same branch;"
                    " not_qualified: a qualification it requires is missing or runs out;"
                    " not_active: the shopper is an applicant, paused or left"
                ),
            },
        },
    },
    "/api/v1/questionnaires/{questionnaire_id}/versions/{version}": {
        "get": {
            "summary": "A published questionnaire version (immutable, cache for good)",
            "parameters": [
                {
                    "name": "questionnaire_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {"name": "version", "in": "path", "required": True, "schema": {"type": "integer"}},
            ],
            "responses": {
                "200": {
                    "description": "the definition (docs/questionnaire-format.md); every"
                    " question also carries `required` and `scored`, resolved by the server"
                },
                "401": _error("not logged in"),
                "404": _error("no such version"),
            },
        },
    },
    "/api/v1/visits/{visit_id}": {
        "put": {
            "summary": "Send a visit (create, retry, or a new revision after a return)",
            "parameters": [VISIT_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Visit"}}},
            },
            "responses": {
                "201": _json("VisitStatus", "stored"),
                "200": _json("VisitStatus", "the same content again (a retry)"),
                "400": _error("not a JSON object"),
                "401": _error("not logged in"),
                "403": _error("not a shopper"),
                "404": _error("another shopper's visit, or not a UUID"),
                "409": _error(
                    "same id and revision with different content, or a revision"
                    " the server does not expect"
                ),
                "413": _error("body too large"),
                "422": _error("invalid content; `details` lists every problem by path"),
            },
        },
        "get": {
            "summary": "What the server holds; the phone marks a visit synced only when"
            " `complete` is true",
            "parameters": [VISIT_ID],
            "responses": {
                "200": _json("VisitStatus", "the newest revision"),
                "401": _error("not logged in"),
                "404": _error("no such visit, or not yours to see"),
            },
        },
    },
    "/api/v1/visits/{visit_id}/photos/{photo_id}": {
        "put": {
            "summary": "Send one photo's bytes (write-once)",
            "parameters": [VISIT_ID, PHOTO_ID],
            "requestBody": {
                "required": True,
                "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
            },
            "responses": {
                "201": {"description": "stored"},
                "200": {"description": "the same bytes were already stored"},
                "401": _error("not logged in"),
                "403": _error("not a shopper"),
                "404": _error("no such visit of yours, or the photo is not in its list"),
                "409": _error("already stored with other bytes"),
                "413": _error("over the size limit"),
                "422": _error(
                    "bytes do not match the list's SHA-256, or not an acceptable"
                    " image (code says why)"
                ),
            },
        },
    },
    "/api/v1/photos/{photo_id}/{size}": {
        "get": {
            "summary": "A photo, for those who may see its visit",
            "parameters": [
                PHOTO_ID,
                {
                    "name": "size",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": ["display", "thumb", "original"]},
                },
            ],
            "responses": {
                "200": {"description": "image/jpeg (original: its own type)"},
                "304": {"description": "not modified"},
                "401": _error("not logged in"),
                "404": _error("no such photo, or not yours to see"),
            },
        },
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}},
    },
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Visitscore API",
        "version": "1",
        "description": 'Errors always answer {"error": {"code", "message"}}.'
        " See docs/api.md and docs/sync-protocol.md.",
    },
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "vs_session"}},
    },
    "security": [{"session": []}],
    "paths": PATHS,
}


async def openapi_json(request: Request) -> Response:
    return JSONResponse(DOCUMENT, headers={"cache-control": "no-cache"})
