"""The visit report, ``/visits/{visit_id}``, and its JSON twin ``/visits/{visit_id}.json``.

Look up → 404 → permission → query → response. Owners and managers see the newest
approved revision of visits at their branches and never the shopper's name; agency
staff see the newest revision and who made it; a shopper sees their own visits.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import auth, reports, visit_record
from ..db import Database, Row
from ..errors import ApiError
from ..i18n import _, current_locale
from ..models import Branch, User
from ..queries import (
    appeals,
    assignments,
    audit,
    chains,
    corrections,
    pay,
    programme,
    questionnaires,
    review,
    review_notes,
    visits,
)
from ..queries import photos as photo_queries
from ..questionnaire import iter_questions, localized, scenario_text
from ..scoring import rebuild, stored
from ..templating import render
from ..visit_payload import is_uuid
from .review import queue_view


def _no_such_visit() -> ApiError:
    return ApiError(404, "not_found", _("There is no such visit."))


async def _visible_revision(db: Database, user: User, visit_uuid: str) -> tuple[Row, Branch] | None:
    rows = await visits.revisions(db, visit_uuid)
    if not rows:
        return None
    branch = await chains.get_branch(db, rows[0]["branch_id"])
    assert branch is not None
    for row in rows:
        if auth.can_see_visit(
            user, shopper_id=row["shopper_id"], branch=branch, state=row["state"]
        ):
            return row, branch
    return None


async def load(request: Request) -> dict[str, Any]:
    """Everything a visit report shows, for the page and its JSON twin alike."""
    user = auth.require_login(await auth.current_user(request))
    visit_uuid: str = request.path_params["visit_id"]
    if not is_uuid(visit_uuid):
        raise _no_such_visit()
    db: Database = request.app.state.db
    found = await _visible_revision(db, user, visit_uuid)
    if found is None:
        raise _no_such_visit()
    row, branch = found
    definition = await questionnaires.get_published(
        db, row["questionnaire_id"], row["questionnaire_version"]
    )
    assert definition is not None
    locale = current_locale()
    answers = visit_record.unpack_answers(row["answers"])
    stamps = visit_record.unpack_stamps(row["stamps"], row["started_at"])
    # The stored numbers count; each question's details and the explanation are made
    # again from the answers (scoring.rebuild), and checked against them.
    kept = stored(definition, json.loads(row["scores"])) if row["scores"] else None
    manifest = await photo_queries.listed_with_details(db, row["id"])
    proof_questions = {
        q["key"]: localized(q.get("text"), locale)
        for _s, q in iter_questions(definition)
        if q["type"] == "photo" and q.get("proof")
    }
    assignment = await assignments.get(db, row["assignment_id"])
    scenario_key = assignment.scenario_key if assignment else None
    rebuilt, same = (
        rebuild(definition, answers, stamps, kept, scenario_key) if kept else (None, True)
    )
    section_details = {s.key: s for s in rebuilt.sections} if rebuilt else {}
    question_details = {q.key: q for q in rebuilt.questions} if rebuilt else {}
    # Answers the agency corrected: everyone sees that they were; staff see the original.
    changes = await corrections.of_visit(db, row["id"])
    originals: dict[str, Any] = {}
    for change in changes:
        originals.setdefault(change["question"], change["before"])
    sections = []
    for section in definition["sections"]:
        items = []
        for q in section["questions"]:
            answer = answers.get(q["key"])
            detail = question_details.get(q["key"])
            points = kept.questions.get(q["key"]) if kept else None
            items.append(
                {
                    "key": q["key"],
                    "type": q["type"],
                    "question": q,  # its definition (the correction form's choices)
                    "text": localized(q.get("text"), locale),
                    "answer": answer,
                    "answer_text": reports.answer_text(q, answer, locale),
                    "corrected": q["key"] in originals,
                    "original_text": reports.answer_text(q, originals[q["key"]], locale)
                    if q["key"] in originals
                    else None,
                    "original_comment": (originals.get(q["key"]) or {}).get("comment"),
                    "comment": (answer or {}).get("comment"),
                    "earned": points[0] if points else (detail.earned if detail else None),
                    "possible": points[1] if points else (detail.possible if detail else None),
                    "status": detail.status if detail else None,
                    "seconds": detail.seconds if detail else None,
                    "critical_failed": detail.critical_failed if detail else None,
                    "photos": [
                        p["photo_id"]
                        for p in manifest
                        if p["question_key"] == q["key"] and p["present"]
                    ],
                }
            )
        info = section_details.get(section["key"])
        sections.append(
            {
                "key": section["key"],
                "title": localized(section.get("title"), locale),
                "score": kept.sections.get(section["key"]) if kept else None,
                "zeroed_by": list(info.zeroed_by) if info else [],
                "questions": items,
            }
        )
    geo = (
        {"lat": row["geo_lat"], "lon": row["geo_lon"], "accuracy_m": row["geo_accuracy_m"]}
        if row["geo_lat"] is not None
        else None
    )
    show_shopper = auth.has(user, "shopper.identity")
    show_location = auth.has(user, "visit.location")
    return {
        "user": user,
        "row": row,
        "branch": branch,
        "definition": definition,
        "visit_id": visit_uuid,
        "revision": row["revision"],
        "state": row["state"],
        "questionnaire": {
            "id": row["questionnaire_id"],
            "version": row["questionnaire_version"],
            "title": localized(definition.get("title"), locale),
        },
        "started_at": row["started_at"],
        "local_date": row["local_date"],
        "ended_at": row["ended_at"],
        "scenario": assignment.scenario if assignment else "",
        "scenario_key": scenario_key,
        "scenario_text": scenario_text(definition, scenario_key, locale),
        "total": row["score_total"] if kept else None,
        "sections": sections,
        "zeroed_by": list(kept.zeroed_by) if kept else [],
        "explanation": reports.explain(list(rebuilt.explanation), definition, locale)
        if rebuilt
        else [],
        # The scoring rules changed after this visit was scored: its stored numbers stand.
        "scored_by_earlier_rules": not same,
        "stamps": stamps,
        "timeline": reports.timeline(definition, stamps, answers, locale),
        "answers": answers,
        "comment": row["comment"],
        # Where the phone was is for the agency's reviewers only.
        "location": reports.location_check(geo, branch.latitude, branch.longitude)
        if show_location
        else None,
        "show_location": show_location,
        "photos": [
            {
                "photo_id": p["photo_id"],
                "question": p["question_key"],
                "captured_at": p["captured_at"],
            }
            for p in manifest
            if p["present"]
        ],
        # Photos that prove the visit (a receipt, the storefront), listed apart.
        "proof": [
            {
                "photo_id": p["photo_id"],
                "question": p["question_key"],
                "question_text": proof_questions[p["question_key"]],
                "captured_at": p["captured_at"],
            }
            for p in manifest
            if p["present"] and p["question_key"] in proof_questions
        ],
        "shopper": (await visits.shopper_name(db, row["id"])) if show_shopper else None,
        "review_note": row["review_note"] if row["state"] == "returned" else None,
        "corrections": changes,
        "appeal": await appeals.latest(db, row["id"]),
        "programme": await programme.name(db),
    }


def _etag(report: dict[str, Any], kind: str) -> str | None:
    """An approved visit changes only by a correction (which moves its ``updated_at``):
    its report is cacheable by revision, language and that time."""
    if report["state"] != "approved":
        return None
    seed = (
        f"{report['visit_id']}:{report['revision']}:{current_locale()}:{kind}:"
        f"{report['shopper'] is not None}:{auth.has(report['user'], 'pay.manage')}:"
        f"{report['row']['updated_at']}:"  # corrections
        f"{(report['appeal'] or {}).get('id')}:{(report['appeal'] or {}).get('state')}"
    )
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:24] + '"'


def _not_modified(request: Request, etag: str | None) -> Response | None:
    if etag and request.headers.get("if-none-match") == etag:
        return Response(
            status_code=304, headers={"etag": etag, "cache-control": "private, no-cache"}
        )
    return None


def to_json(report: dict[str, Any]) -> dict[str, Any]:
    branch: Branch = report["branch"]
    return {
        "visit_id": report["visit_id"],
        "revision": report["revision"],
        "state": report["state"],
        "questionnaire": {k: report["questionnaire"][k] for k in ("id", "version")},
        "branch": {
            "id": branch.id,
            "name": branch.name,
            "region": branch.region,
            "timezone": branch.timezone,
        },
        "started_at": report["started_at"],
        "local_date": report["local_date"],  # the visit's day at the branch
        "ended_at": report["ended_at"],
        "scenario": report["scenario"],
        "scenario_key": report["scenario_key"],
        "stamps": report["stamps"],
        "answers": report["answers"],
        "comment": report["comment"],
        "total": report["total"],
        "not_asked": sum(
            q["status"] == "not_asked" for s in report["sections"] for q in s["questions"]
        ),
        "scored_by_earlier_rules": report["scored_by_earlier_rules"],
        "sections": [
            {
                "key": s["key"],
                "score": s["score"],
                "zeroed_by": s["zeroed_by"],
                # scored, na, unanswered, unscored, or not_asked (its show_if did not hold)
                "questions": [
                    {k: q[k] for k in ("key", "status", "earned", "possible")}
                    for q in s["questions"]
                ],
            }
            for s in report["sections"]
        ],
        "explanation": [
            {k: v for k, v in item.items() if not k.endswith(("_text", "_texts", "_title"))}
            for item in report["explanation"]
        ],
        "timeline": [
            {
                "key": i.key,
                "seconds": i.seconds,
                "over_line": i.over_line,
                "line_seconds": i.line_seconds,
                "never": i.never,
            }
            for i in report["timeline"]
        ],
        "location": report["location"],
        "photos": [
            {
                **p,
                "display": f"/api/v1/photos/{p['photo_id']}/display",
                "thumb": f"/api/v1/photos/{p['photo_id']}/thumb",
            }
            for p in report["photos"]
        ],
        "proof": [
            {
                "photo_id": p["photo_id"],
                "question": p["question"],
                "captured_at": p["captured_at"],
                "display": f"/api/v1/photos/{p['photo_id']}/display",
                "thumb": f"/api/v1/photos/{p['photo_id']}/thumb",
            }
            for p in report["proof"]
        ],
        **({"shopper": report["shopper"]} if report["shopper"] is not None else {}),
        "appeal": appeal_json(report["appeal"]),
        # True when the agency corrected an answer (the answers above are the corrected ones).
        "corrected": bool(report["corrections"]),
        **(
            {"corrections": report["corrections"]}
            if auth.has(report["user"], "visit.review")
            else {}
        ),
    }


def appeal_json(appeal: dict[str, Any] | None) -> dict[str, Any] | None:
    """A visit's newest appeal as the JSON twin shows it (null: never appealed)."""
    if appeal is None:
        return None
    return {
        "state": appeal["state"],  # open or decided
        "category": appeal["category"],
        "text": appeal["text"],
        "opened_at": appeal["opened_at"],
        "decision": appeal["decision"],  # upheld, partly_upheld, rejected (null while open)
        "reason": appeal["reason"],
        "decided_at": appeal["decided_at"],
        "voided": bool(appeal["voided"]),
    }


async def appeal_window(request: Request, report: dict[str, Any]) -> dict[str, Any] | None:
    """Whether this user may appeal this visit now, and until when (None: not theirs to
    appeal, or not approved)."""
    user = report["user"]
    if not auth.has(user, "appeal.write") or report["state"] != "approved":
        return None
    db: Database = request.app.state.db
    until = appeals.appeal_until(
        await appeals.approved_at(db, report["visit_id"]), await programme.appeal_days(db)
    )
    open_now = appeals.is_open(report["appeal"])
    return {
        "until": until,
        "can_appeal": until is not None and not open_now and datetime.now(UTC) <= until,
        "categories": appeals.CATEGORIES,
    }


async def visit_json(request: Request) -> Response:
    report = await load(request)
    etag = _etag(report, "json")
    if (cached := _not_modified(request, etag)) is not None:
        return cached
    headers = {"cache-control": "private, no-cache"}
    if etag:
        headers["etag"] = etag
    return JSONResponse(to_json(report), headers=headers)


async def visit_page(request: Request) -> Response:
    report = await load(request)
    etag = _etag(report, "html")
    if (cached := _not_modified(request, etag)) is not None:
        return cached
    response = await render(
        request,
        "visit.html",
        {
            "report": report,
            "staff": await _staff_view(request, report),
            "appealing": await appeal_window(request, report),
            "can_plan": auth.has(report["user"], "actionplan.write")
            and auth.can_see_branch(report["user"], report["branch"]),
        },
    )
    response.headers["cache-control"] = "private, no-cache"
    if etag:
        response.headers["etag"] = etag
    return response


async def _staff_view(request: Request, report: dict[str, Any]) -> dict[str, Any] | None:
    """For agency staff: warnings, the decisions they may take, and the visit's history."""
    user = report["user"]
    if not auth.has(user, "visit.review"):
        return None
    db: Database = request.app.state.db
    history = await audit.visit_history(db, report["visit_id"])
    return {
        "warnings": await review.warnings(db, report["row"]),
        "history": history,
        "can_decide": report["state"] == "submitted",
        # Answers may be corrected while the visit waits for review or once it is approved.
        "can_correct": corrections.correctable(report["state"], report["appeal"]),
        "can_decide_appeal": report["state"] == "approved" and appeals.is_open(report["appeal"]),
        "saved_notes": await review_notes.list_active(db),
        # The queue the reviewer came from (its filters), to go back to or on from.
        "queue": queue_view(request.query_params, await programme.review_hours(db)).query(),
        "pay": (
            await pay.visit_lines(db, report["visit_id"]) if auth.has(user, "pay.manage") else None
        ),
    }
