"""Action plans: what an owner will change at a branch, and whether it helped."""

from __future__ import annotations

from typing import Any

from .. import zones
from ..db import Reader, Transaction, utcnow
from ..db.sql import placeholders
from . import audit, events, programme, questionnaires, rollups, summaries


async def create(
    tx: Transaction,
    *,
    branch_id: int,
    author_id: int,
    text: str,
    responsible: str,
    due_date: str | None,
    section_key: str | None,
    visit_id: int | None,
) -> int:
    now = utcnow()
    plan_id = await tx.insert(
        "INSERT INTO action_plans (branch_id, visit_id, section_key, text, responsible,"
        " due_date, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (branch_id, visit_id, section_key, text, responsible, due_date, author_id, now, now),
    )
    await rollups.start_plan_progress(tx, plan_id, branch_id, section_key, now)
    await audit.record(
        tx,
        author_id,
        "actionplan.created",
        "action_plan",
        plan_id,
        {"branch_id": branch_id, "section": section_key},
    )
    return plan_id


async def open_for_approval(
    tx: Transaction, visit_uuid: str, setting: str | None = None, known: bool = False
) -> list[int]:
    """When the programme opens plans itself (its ``plans`` setting is ``open``): a plan
    with no author for each section the newly approved visit scored below its target,
    unless the branch has one open or in progress for that section already. Runs in the
    approval's transaction; ``setting`` is the stored value when the caller has read it
    (``known``), so a programme that only proposes costs no read here. Answers the ids."""
    if known and programme.plans_setting(setting) != "open":
        return []
    chosen, visit_rows, planned = await tx.fetch_each(
        [
            (
                "SELECT key, value FROM programme_settings WHERE key IN ('plans', 'targets')",
                (),
            ),
            (
                "SELECT id, branch_id, scores, questionnaire_id, questionnaire_version"
                " FROM visits WHERE visit_uuid = ? AND state = 'approved'",
                (visit_uuid,),
            ),
            (
                "SELECT DISTINCT section_key FROM action_plans WHERE branch_id ="
                " (SELECT branch_id FROM visits WHERE visit_uuid = ? LIMIT 1)"
                " AND state IN ('open', 'in_progress') AND section_key IS NOT NULL",
                (visit_uuid,),
            ),
        ]
    )
    stored = {str(r[0]): r[1] for r in chosen}
    targets = programme.targets_setting(stored.get("targets"))["sections"]
    if programme.plans_setting(stored.get("plans")) != "open" or not targets or not visit_rows:
        return []
    visit = visit_rows[0]
    kept = await summaries.stored_section_scores(tx, visit)
    if kept is None:
        return []
    busy = {str(r[0]) for r in planned}
    opened = []
    now = utcnow()
    for key, score in sorted(kept.items()):
        target = targets.get(key)
        if target is None or score is None or score >= target or key in busy:
            continue
        plan_id = await tx.insert(
            "INSERT INTO action_plans (branch_id, visit_id, section_key, text, created_at,"
            " updated_at, opened_score, opened_target) VALUES (?, ?, ?, '', ?, ?, ?, ?)",
            (visit["branch_id"], visit["id"], key, now, now, score, target),
        )
        await rollups.start_plan_progress(tx, plan_id, visit["branch_id"], key, now)
        await audit.record(
            tx,
            None,
            "actionplan.created",
            "action_plan",
            plan_id,
            {
                "branch_id": visit["branch_id"],
                "section": key,
                "visit": visit_uuid,
                "opened": "approval",
            },
        )
        await events.plan_changed(tx, plan_id, "created")
        opened.append(plan_id)
    return opened


STEPS: dict[str, tuple[frozenset[str], str, str]] = {
    # step: (the states it leaves, the state it makes, the permission it needs)
    "start": (frozenset({"open"}), "in_progress", "actionplan.write"),
    "done": (frozenset({"open", "in_progress"}), "done", "actionplan.write"),
    "verify": (frozenset({"done"}), "verified", "actionplan.verify"),
    "return": (frozenset({"done"}), "in_progress", "actionplan.verify"),
}
"""A plan goes open → in progress → done → verified; the manager may return a done plan
to in progress with a note."""


EDITABLE = ("text", "responsible", "due_date", "evidence_key")
"""What the owner may set while taking a step: what will change, who, by when (a plan
the programme opened has none of these yet) and, marking it done, an evidence photo."""


async def advance(
    tx: Transaction,
    plan_id: int,
    branch_id: int,
    step: str,
    actor_id: int,
    note: str = "",
    fields: dict[str, str | None] | None = None,
) -> bool:
    """Take one step (see STEPS), setting ``fields`` (of EDITABLE) with it; answers False
    when the plan is not in a state the step leaves (or not this branch's)."""
    leaves, makes, _permission = STEPS[step]
    marks = placeholders(list(leaves))
    now = utcnow()
    sets, params = {
        "done": (", done_at = ?", [now]),
        "verify": (", verified_at = ?, verified_by = ?, return_note = NULL", [now, actor_id]),
        "return": (", return_note = ?", [note]),
    }.get(step, ("", []))
    for name, value in (fields or {}).items():
        assert name in EDITABLE, name
        sets += f", {name} = ?"
        params.append(value)
        if name == "evidence_key":
            sets += ", evidence_at = ?"
            params.append(now)
    changed = await tx.execute(
        f"UPDATE action_plans SET state = ?, updated_at = ?{sets}"
        f" WHERE id = ? AND branch_id = ? AND state IN ({marks})",
        (makes, now, *params, plan_id, branch_id, *sorted(leaves)),
    )
    if changed:
        details: dict[str, Any] = {"step": step, **({"note": note} if note else {})}
        for name, value in (fields or {}).items():
            details[name] = value
        await audit.record(tx, actor_id, f"actionplan.{makes}", "action_plan", plan_id, details)
    return changed > 0


async def get(db: Reader, plan_id: int, branch_id: int) -> dict[str, Any] | None:
    """One plan of a branch (None when the branch has no such plan)."""
    row = await db.fetchone(
        "SELECT id, state, text, evidence_key FROM action_plans WHERE id = ? AND branch_id = ?",
        (plan_id, branch_id),
    )
    return dict(row) if row else None


async def sections_to_plan_for(db: Reader) -> dict[str, dict[str, str]]:
    """The sections a plan may name, with their titles: every section of every published
    questionnaire, as reports line them up by key. The form offers exactly these and
    saving accepts exactly these."""
    definition, _default_keys = await questionnaires.report_definition(db)
    return {s["key"]: s.get("title", {}) for s in definition["sections"]}


OPEN_STATES = ("open", "in_progress")


async def for_branches(
    db: Reader,
    branch_ids: list[int],
    only_open: bool = False,
    targets: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Plans of some branches, open first, soonest due first, each with the section's
    average score before the plan and since (from approved visits), and, once done, what
    the next visit found against the section's target (``targets`` by section key)."""
    if not branch_ids:
        return []
    marks = placeholders(branch_ids)
    rows = await db.fetchall(
        "SELECT p.*, v.visit_uuid, v.local_date AS visit_date, b.timezone FROM action_plans p"
        " JOIN branches b ON b.id = p.branch_id LEFT JOIN visits v ON v.id = p.visit_id"
        f" WHERE p.branch_id IN ({marks}) AND p.state <> 'cancelled'"
        + (" AND p.state IN ('open', 'in_progress')" if only_open else "")
        + " ORDER BY p.state IN ('done', 'verified'), coalesce(p.due_date, '9999'), p.id",
        branch_ids,
    )
    firsts = await _first_visits_after_done(db, branch_ids) if targets else {}
    plans = []
    for r in rows:
        today = zones.today_in(r["timezone"]).isoformat()  # due dates are the branch's days
        plan = {
            "id": r["id"],
            "branch_id": r["branch_id"],
            "section_key": r["section_key"],
            "visit_id": r["visit_uuid"],
            "text": r["text"],
            "responsible": r["responsible"],
            "due_date": r["due_date"],
            "state": r["state"],
            "created_at": r["created_at"],
            "overdue": r["state"] in OPEN_STATES and bool(r["due_date"]) and r["due_date"] < today,
            "done_at": r["done_at"],
            "verified_at": r["verified_at"],
            "return_note": r["return_note"],
            "opened_by_programme": r["created_by"] is None,
            "opened": (
                {"score": r["opened_score"], "target": r["opened_target"], "day": r["visit_date"]}
                if r["created_by"] is None
                else None
            ),
            "evidence": bool(r["evidence_key"]),
            "before": None,
            "since": None,
            "next_visit": None,
        }
        if r["section_key"]:
            plan["before"] = await _before(db, r["branch_id"], r["section_key"], r["created_at"])
            scored = int(r["since_scored"])
            if scored:
                plan["since"] = {"mean": float(r["since_score_sum"]) / scored, "visits": scored}
        if r["section_key"]:
            target = (targets or {}).get(r["section_key"])
            if r["done_at"] and target is not None:
                plan["next_visit"] = await _judge(db, r, firsts.get(r["id"]), target)
        plans.append(plan)
    return plans


async def open_for_branches(db: Reader, branch_ids: list[int]) -> list[dict[str, Any]]:
    """The open plans of some branches, soonest due first (as :func:`for_branches` orders
    them): what a comparison lists, read without the rest of each plan."""
    if not branch_ids:
        return []
    rows = await db.fetchall(
        "SELECT p.id, p.branch_id, p.section_key, p.text, p.due_date, b.timezone"
        " FROM action_plans p JOIN branches b ON b.id = p.branch_id"
        f" WHERE p.branch_id IN ({placeholders(branch_ids)})"
        f" AND p.state IN ({placeholders(OPEN_STATES)})"
        " ORDER BY coalesce(p.due_date, '9999'), p.id",
        (*branch_ids, *OPEN_STATES),
    )
    today: dict[str, str] = {}  # due dates are the branch's days: today in each zone once
    plans = []
    for plan_id, branch_id, section_key, text, due_date, timezone in rows:
        if timezone not in today:
            today[timezone] = zones.today_in(timezone).isoformat()
        plans.append(
            {
                "id": plan_id,
                "branch_id": branch_id,
                "section_key": section_key,
                "text": text,
                "due_date": due_date,
                "overdue": bool(due_date) and due_date < today[timezone],
            }
        )
    return plans


async def fixed_by_branch(
    db: Reader, branch_ids: list[int], targets: dict[str, float]
) -> dict[int, tuple[int, int]]:
    """{branch: (fixed, judged)}: of its done plans the next visit judged against their
    section's target (as :func:`for_branches` judges each), how many it found fixed.
    Branches with none judged are left out."""
    if not branch_ids:
        return {}
    out: dict[int, tuple[int, int]] = {}
    for plan in (await _first_visits_after_done(db, branch_ids)).values():
        target = targets.get(plan["section_key"])
        if target is None:
            continue
        found = await _judge(db, plan, plan, target)
        if found is not None:
            fixed, judged = out.get(plan["branch_id"], (0, 0))
            out[plan["branch_id"]] = (fixed + int(found["fixed"]), judged + 1)
    return out


async def _first_visits_after_done(db: Reader, branch_ids: list[int]) -> dict[int, Any]:
    """For every done plan of these branches, the first approved visit to its branch
    started after it was done (by plan id), in one read: a comparison judges hundreds of
    plans and must not ask once per plan."""
    rows = await db.fetchall(
        "SELECT p.id AS plan_id, p.branch_id, p.section_key, p.done_at, v.visit_uuid,"
        " v.scores, v.questionnaire_id, v.questionnaire_version"
        " FROM action_plans p JOIN visits v ON v.id ="
        " (SELECT w.id FROM visits w WHERE w.branch_id = p.branch_id AND w.state = 'approved'"
        "  AND w.started_utc >= p.done_at ORDER BY w.started_utc, w.id LIMIT 1)"
        f" WHERE p.branch_id IN ({placeholders(branch_ids)}) AND p.done_at IS NOT NULL"
        " AND p.section_key IS NOT NULL AND p.state <> 'cancelled'",
        branch_ids,
    )
    return {int(r["plan_id"]): r for r in rows}


async def _judge(db: Reader, plan: Any, first: Any, target: float) -> dict[str, Any] | None:
    """What the next visit found for a done plan, from the first visit after it (read
    for all plans at once); only when that visit did not score the section (another
    questionnaire, or not applicable) are the following ones read."""
    if first is None:
        return None
    section = plan["section_key"]
    kept = await summaries.stored_section_scores(db, first)
    score = kept.get(section) if kept is not None else None
    if score is not None:
        return {"visit_id": first["visit_uuid"], "score": score, "fixed": score >= target}
    return await _next_visit(db, plan["branch_id"], section, plan["done_at"], target)


async def _next_visit(
    db: Reader, branch_id: int, section: str, since: str, target: float
) -> dict[str, Any] | None:
    """The first approved visit after the plan was done that scored the section: its
    score, and whether it reached the target (the plan is then fixed). None: no such
    visit yet."""
    rows = await db.fetchall(
        "SELECT visit_uuid, scores, questionnaire_id, questionnaire_version FROM visits"
        " WHERE branch_id = ? AND state = 'approved' AND started_utc >= ?"
        " ORDER BY started_utc, id LIMIT 25",
        (branch_id, since),
    )
    for row in rows:
        kept = await summaries.stored_section_scores(db, row)
        score = kept.get(section) if kept is not None else None
        if score is not None:
            return {"visit_id": row["visit_uuid"], "score": score, "fixed": score >= target}
    return None


def fix_rate(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """Of the plans the next visit has judged, how many it found fixed: a share with its
    n (``plans``; the share is None while none is judged)."""
    judged = [p for p in plans if p.get("next_visit") is not None]
    return fix_share(sum(1 for p in judged if p["next_visit"]["fixed"]), len(judged))


def fix_share(fixed: int, judged: int) -> dict[str, Any]:
    """A fix rate from its counts (see :func:`fix_rate`)."""
    return {"fixed": fixed, "plans": judged, "share": fixed / judged if judged else None}


async def _before(db: Reader, branch_id: int, section: str, since: str) -> dict[str, Any] | None:
    """The section's mean over the 5 approved visits before the plan (its mean since is
    kept on the plan's row as visits are approved, see ``rollups.approval_statements``)."""
    # The 5 latest visits that have the section (another questionnaire may not).
    before = await db.fetchall(
        "SELECT scores, questionnaire_id, questionnaire_version FROM visits"
        " WHERE branch_id = ? AND state = 'approved' AND started_utc < ?"
        " ORDER BY started_utc DESC LIMIT 25",
        (branch_id, since),
    )
    last = [s for s in (await _section_scores(db, before, section))[:5] if s is not None]
    return {"mean": sum(last) / len(last), "visits": len(last)} if last else None


async def _section_scores(db: Reader, rows: list[Any], section: str) -> list[float | None]:
    """The section's score in each visit that has the section (None: not applicable)."""
    having: list[float | None] = []
    for row in rows:
        kept = await summaries.stored_section_scores(db, row)
        if kept is not None and section in kept:
            having.append(kept[section])
    return having


PROPOSAL_VISITS = 10
"""Proposals come from the branch's newest approved visits, this many."""


async def proposals(
    db: Reader, branch_id: int, targets: dict[str, float], plans: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Plans the branch's recent visits ask for: for each section with a target, the
    newest of the last PROPOSAL_VISITS approved visits that scored it below the target
    and came after the section's newest plan (a plan already answers the visits before
    it; whether it worked, the next visit says)."""
    if not targets:
        return []
    planned: dict[str, str] = {}
    for plan in plans:
        key = plan["section_key"]
        if key and plan["created_at"] > planned.get(key, ""):
            planned[key] = plan["created_at"]
    rows = await db.fetchall(
        "SELECT visit_uuid, local_date, started_utc, scores, questionnaire_id,"
        " questionnaire_version FROM visits WHERE branch_id = ? AND state = 'approved'"
        " ORDER BY started_utc DESC, id DESC LIMIT ?",
        (branch_id, PROPOSAL_VISITS),
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept = await summaries.stored_section_scores(db, row)
        if kept is None:
            continue
        for key, score in kept.items():
            target = targets.get(key)
            if key in found or target is None or score is None:
                continue
            if key in planned and (row["started_utc"] or "") <= planned[key]:
                continue
            if score < target:
                found[key] = {
                    "section_key": key,
                    "visit_id": row["visit_uuid"],
                    "local_date": row["local_date"],
                    "score": score,
                    "target": target,
                }
    return sorted(found.values(), key=lambda p: p["score"] - p["target"])
