"""``/admin/questionnaires``: write, preview, publish, import and export questionnaires.

A questionnaire has numbered versions. At most one is a draft, edited here one change
at a time; publishing freezes it (a trigger keeps published versions as they are), and
visits keep the version they were made with. Every form carries the fingerprint of the
draft it was made from, so two people editing at once cannot overwrite each other.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from .. import auth, condition_edit, conditions, json_input, questionnaire_edit
from ..db import Database, Transaction
from ..errors import ApiError
from ..i18n import N_, _, current_locale
from ..queries import questionnaires
from ..question_types import TYPES
from ..questionnaire import (
    LANGUAGES,
    STAMPS,
    Definition,
    export_document,
    is_required,
    is_scored,
    iter_questions,
    localized,
    parse_document,
    validate_definition,
    weight,
)
from ..scoring import possible_points, section_maxima
from ..templating import render

QUESTIONNAIRE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_UPLOAD = 2 * 1024 * 1024
TYPE_ORDER = tuple(TYPES)  # the registry's order


def _home(qid: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(
        f"/admin/questionnaires/{qid}" + (f"#{anchor}" if anchor else ""), status_code=303
    )


def maxima(definition: Definition) -> list[dict[str, Any]]:
    """Per section: the most it can earn and its share of the whole visit's points."""
    per_section = section_maxima(definition)
    total = sum(points for _, points in per_section)
    return [
        {
            "key": section.get("key"),
            "points": points,
            "share": points / total * 100 if total else None,
        }
        for section, points in per_section
    ]


async def list_page(request: Request, problems: list[str] | None = None) -> Response:
    """Every questionnaire (a programme has tens, not thousands), searched by its
    identifier or its title in any language."""
    auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    wanted = (request.query_params.get("q") or "").strip().lower()[:100]
    every = await questionnaires.list_all(db)
    rows = [
        r
        for r in every
        if not wanted
        or wanted in r["id"].lower()
        or any(wanted in str(t).lower() for t in (r["title"] or {}).values())
    ]
    return await render(
        request,
        "questionnaires.html",
        {
            "rows": rows,
            "total": len(every),
            "search": wanted,
            "problems": problems or [],
            "langs": LANGUAGES,
        },
        status_code=422 if problems else 200,
    )


async def create(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    db: Database = request.app.state.db
    qid = form.get("id", "").strip()
    title = questionnaire_edit.texts_from(form, "title")
    problems = []
    if not QUESTIONNAIRE_ID.fullmatch(qid):
        problems.append(
            _("The identifier is 1 to 64 lower-case letters, digits, - or _ (e.g. retail-2027).")
        )
    elif await questionnaires.exists(db, qid):
        problems.append(_("There is already a questionnaire %(id)s.") % {"id": qid})
    if not title.get("en"):
        problems.append(_("Give the questionnaire an English title."))
    source = form.get("copy_from", "")
    definition = questionnaire_edit.blank(qid, title)
    if source:
        base = await questionnaires.latest_published(db, source)
        if base is None:
            problems.append(_("Choose a published questionnaire to start from."))
        else:
            definition = {**base, "id": qid, "title": title}
            definition.pop("version", None)
    if problems:
        return await list_page(request, problems)
    async with db.transaction() as tx:
        await questionnaires.store_version(tx, definition, publish=False, actor_id=actor.id)
    return _home(qid)


async def import_file(request: Request) -> Response:
    form = await request.form(max_files=1, max_part_size=MAX_UPLOAD)
    await auth.checked_form(request)  # forms check their token before anything else
    actor = auth.require(await auth.current_user(request), "programme.manage")
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await list_page(request, [_("Choose a questionnaire file (.json) to import.")])
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return await list_page(request, [_("The file is larger than 2 MB.")])
    try:
        document = json_input.parse(raw)
    except json_input.BadJson as exc:
        reason = _(exc.reason)
        return await list_page(
            request, [_("The file was refused: %(reason)s.") % {"reason": reason}]
        )
    definition, problems = parse_document(document)
    if definition is None:
        shown = [f"{p.path or '(top)'}: {p.message}" for p in problems]
        header = _("Nothing was imported. Fix these problems in the file and try again:")
        return await list_page(request, [header, *shown])
    async with request.app.state.db.transaction() as tx:
        await questionnaires.store_version(
            tx, definition, publish=bool(form.get("publish")), actor_id=actor.id
        )
    return _home(definition["id"])


async def _lookup(request: Request) -> str:
    """The questionnaire named in the path (404 if there is none), for an admin."""
    # The programme's pages: the permission decides first (see views/lookups.py).
    auth.require(await auth.current_user(request), "programme.manage")
    qid = request.path_params["questionnaire_id"]
    if not await questionnaires.exists(request.app.state.db, qid):
        raise ApiError(404, "not_found", _("There is no such questionnaire."))
    return str(qid)


def _sections_view(definition: Definition) -> list[dict[str, Any]]:
    tops = {m["key"]: m for m in maxima(definition)}
    locale = current_locale()

    def words(condition: dict[str, Any] | None) -> str:
        return condition_edit.describe(condition, definition, locale)

    return [
        {
            "section": section,
            "points": tops[section.get("key")]["points"],
            "share": tops[section.get("key")]["share"],
            "shown_when": words(section.get("show_if")),
            "show": condition_edit.form_state(section.get("show_if")),
            "before": list(
                questionnaire_edit.questions_before(definition, section_key=section["key"]).values()
            ),
            "questions": [
                {
                    "q": q,
                    "points": possible_points(q),
                    "weight": weight(q),
                    "scored": is_scored(q),
                    "required": is_required(q),
                    "shown_when": words(q.get("show_if")),
                    "rule": words(conditions.rule_condition(q["rule"])) if q.get("rule") else "",
                }
                for q in section.get("questions", [])
            ],
        }
        for section in definition.get("sections", [])
    ]


async def editor_page(
    request: Request, error: str | None = None, status_code: int = 200
) -> Response:
    qid = await _lookup(request)
    db: Database = request.app.state.db
    draft = await questionnaires.get_draft(db, qid)
    shown = draft or await questionnaires.latest_version(db, qid)
    assert shown is not None  # a questionnaire always has a version
    definition = shown["definition"]
    return await render(
        request,
        "questionnaire.html",
        {
            "qid": qid,
            "definition": definition,
            "version": shown["version"],
            "draft": draft is not None,
            "base": questionnaire_edit.fingerprint(definition) if draft else "",
            "problems": validate_definition(definition) if draft else [],
            "sections": _sections_view(definition),
            "scenarios": definition.get("scenarios", []),
            "versions": await questionnaires.versions(db, qid),
            "error": error,
            "langs": LANGUAGES,
            "types": TYPE_ORDER,
        },
        status_code=status_code,
    )


STALE = N_(
    "This draft was changed (or published) by someone else since you opened it. Nothing"
    " was saved: look at the draft as it is now and make your change again."
)


async def _change(
    tx: Transaction, qid: str, values: dict[str, str], actor_id: int
) -> Response | tuple[str, int]:
    """Apply one change inside the writer's transaction: a redirect, or (error, status)."""
    op = values.get("op", "")
    draft = await questionnaires.get_draft(tx, qid)
    if op == "start":
        if draft is None:
            latest = await questionnaires.latest_version(tx, qid)
            assert latest is not None  # a questionnaire always has a version
            base = {k: v for k, v in latest["definition"].items() if k != "version"}
            await questionnaires.store_version(tx, base, publish=False, actor_id=actor_id)
        return _home(qid)
    if draft is None or values.get("base") != questionnaire_edit.fingerprint(draft["definition"]):
        return _(STALE), 409
    if op == "discard":
        still = await questionnaires.discard_draft(tx, qid, actor_id)
        return _home(qid) if still else RedirectResponse("/admin/questionnaires", 303)
    try:
        changed = questionnaire_edit.apply(draft["definition"], op, values)
    except questionnaire_edit.EditError as exc:
        return exc.message, 422
    changed.pop("version", None)
    await questionnaires.store_version(tx, changed, publish=False, actor_id=actor_id)
    if values.get("question") and op != "delete_question":
        return _home(qid, f"q-{values['question']}")
    if values.get("section") and op != "delete_section":
        return _home(qid, f"s-{values['section']}")
    return _home(qid)


async def edit(request: Request) -> Response:
    """One change to the draft (``op``), ``start`` a draft from the newest version, or
    ``discard`` the draft."""
    form = await auth.checked_form(request)  # forms check their token before anything else
    qid = await _lookup(request)
    actor = auth.require(await auth.current_user(request), "programme.manage")
    async with request.app.state.db.transaction() as tx:
        outcome = await _change(tx, qid, form, actor.id)
    if isinstance(outcome, Response):
        return outcome
    error, status = outcome
    if form.get("op") == "update_question" and status == 422:
        return await question_page(request, error=error, values=form)
    return await editor_page(request, error, status_code=status)


async def question_page(
    request: Request, error: str | None = None, values: dict[str, str] | None = None
) -> Response:
    qid = await _lookup(request)
    key = request.path_params.get("question_key") or (values or {}).get("question", "")
    draft = await questionnaires.get_draft(request.app.state.db, qid)
    if draft is None:
        return _home(qid)
    try:
        section, question = questionnaire_edit.find_question(draft["definition"], key)
    except questionnaire_edit.EditError as exc:
        raise ApiError(404, "not_found", exc.message) from exc
    return await render(
        request,
        "question_edit.html",
        {
            "qid": qid,
            "definition": draft["definition"],
            "section": section,
            "q": question,
            "rows": questionnaire_edit.question_rows(question),
            "before": [
                q
                for key, q in questionnaire_edit.questions_before(
                    draft["definition"], question_key=question["key"]
                ).items()
                if key != question["key"]
            ],
            "show": condition_edit.form_state(question.get("show_if")),
            "show_words": condition_edit.describe(
                question.get("show_if"), draft["definition"], current_locale()
            ),
            "rule": condition_edit.form_state(
                conditions.rule_condition(question["rule"]) if question.get("rule") else None
            ),
            "rule_words": condition_edit.describe(
                conditions.rule_condition(question["rule"]) if question.get("rule") else None,
                draft["definition"],
                current_locale(),
            ),
            "scenarios": draft["definition"].get("scenarios", []),
            "values": values or {},
            "required": is_required(question),
            "base": questionnaire_edit.fingerprint(draft["definition"]),
            "error": error,
            "langs": LANGUAGES,
            "types": TYPE_ORDER,
            "stamps": STAMPS,
        },
        status_code=422 if error else 200,
    )


async def publish(request: Request) -> Response:
    form = await auth.checked_form(request)  # forms check their token before anything else
    qid = await _lookup(request)
    actor = auth.require(await auth.current_user(request), "programme.manage")
    async with request.app.state.db.transaction() as tx:
        draft = await questionnaires.get_draft(tx, qid)
        fresh = draft is not None and form.get("base") == questionnaire_edit.fingerprint(
            draft["definition"]
        )
        problems = validate_definition(draft["definition"]) if draft and fresh else []
        if fresh and not problems:
            assert draft is not None
            await questionnaires.publish_draft(tx, qid, draft["version"], actor.id)
            return _home(qid)
    if not fresh:
        return await editor_page(request, _(STALE), status_code=409)
    return await editor_page(
        request, _("Fix the problems listed below before publishing."), status_code=422
    )


async def _version(request: Request) -> tuple[str, dict[str, Any]]:
    qid = await _lookup(request)
    found = await questionnaires.version_row(
        request.app.state.db, qid, int(request.path_params["version"])
    )
    if found is None:
        raise ApiError(404, "not_found", _("There is no such questionnaire version."))
    return qid, found


async def preview(request: Request) -> Response:
    """The questionnaire as a shopper will see it, in a chosen language, with the most
    each section can earn."""
    qid, found = await _version(request)
    lang = request.query_params.get("lang", current_locale())
    lang = lang if lang in LANGUAGES else current_locale()
    definition = found["definition"]
    sections = _sections_view(definition)
    tried = conditions.referenced(definition)
    return await render(
        request,
        "questionnaire_preview.html",
        {
            "qid": qid,
            "definition": definition,
            "found": found,
            "lang": lang,
            "langs": LANGUAGES,
            "text": lambda texts: localized(texts, lang),
            "sections": sections,
            "total_points": sum(s["points"] for s in sections),
            "problems": validate_definition(definition),
            # What the editor can try live: the answers conditions depend on, a scenario.
            "try_questions": [q for _s, q in iter_questions(definition) if q["key"] in tried],
            "uses_conditions": conditions.uses_conditions(definition),
        },
    )


async def export(request: Request) -> Response:
    qid, found = await _version(request)
    document = export_document(found["definition"], found["published_at"] is not None)
    return JSONResponse(
        document,
        headers={
            "content-disposition": f'attachment; filename="{qid}-v{found["version"]}.json"',
            "cache-control": "no-store",
        },
    )
