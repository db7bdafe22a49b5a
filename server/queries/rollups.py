"""The rollups reports read, kept in the transaction that changes what they sum: per
branch and month, scores, questions, answers, score bands, weekday × time-of-day slots
and appeals; per action plan, its sums since it was made.

:func:`count_approval` (and the withdrawal and correction statements, and
:func:`recount_appeals`) run inside the transaction that changes the visit or appeal, so
a rollup never disagrees with what it sums; :func:`rebuild` counts them all again.
:mod:`.summaries` reads them.
"""

from __future__ import annotations

from typing import Any

from .. import reports, visit_record
from ..db import Reader, Transaction
from ..db.sql import placeholders
from ..i18n import STATE_NAMES
from ..scoring import StoredScore
from . import questionnaires
from .summaries import (
    BAND_COLUMNS,
    BANDS,
    SLOT_COLUMNS,
    SLOTS,
    stored_scores,
    stored_section_scores,
)

_UPSERT = (
    "INSERT INTO branch_month_scores (branch_id, month, section_key, visits, scored, score_sum)"
    " VALUES (?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (branch_id, month, section_key) DO UPDATE SET"
    " visits = branch_month_scores.visits + 1,"
    " scored = branch_month_scores.scored + excluded.scored,"
    " score_sum = branch_month_scores.score_sum + excluded.score_sum"
)


_UPSERT_QUESTION = (
    "INSERT INTO branch_month_questions (branch_id, month, question_key, visits, earned,"
    " possible) VALUES (?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (branch_id, month, question_key) DO UPDATE SET"
    " visits = branch_month_questions.visits + 1,"
    " earned = branch_month_questions.earned + excluded.earned,"
    " possible = branch_month_questions.possible + excluded.possible"
)


Statement = tuple[str, tuple[Any, ...]]


_UPSERT_ANSWER = (
    "INSERT INTO branch_month_answers (branch_id, month, question_key, answer, visits)"
    " VALUES (?, ?, ?, ?, 1) ON CONFLICT (branch_id, month, question_key, answer)"
    " DO UPDATE SET visits = branch_month_answers.visits + 1"
)


def answer_statements(
    branch_id: int, local_date: str | None, counted: list[tuple[str, str]]
) -> list[Statement]:
    """What adding one approved visit's answers (``reports.counted_answers``) to its
    branch's month writes."""
    if not local_date:
        return []
    return [(_UPSERT_ANSWER, (branch_id, local_date[:7], key, answer)) for key, answer in counted]


def _band_upsert(band: int) -> str:
    assert 0 <= band < BANDS
    return (
        f"INSERT INTO branch_month_bands (branch_id, month, visits, band_{band})"
        " VALUES (?, ?, 1, 1) ON CONFLICT (branch_id, month) DO UPDATE SET"
        " visits = branch_month_bands.visits + 1,"
        f" band_{band} = branch_month_bands.band_{band} + 1"
    )


def _band_withdraw(band: int) -> str:
    assert 0 <= band < BANDS
    return (
        f"UPDATE branch_month_bands SET visits = visits - 1, band_{band} = band_{band} - 1"
        " WHERE branch_id = ? AND month = ?"
    )


def _slot_upsert(slot: int) -> str:
    assert 0 <= slot < SLOTS
    return (
        f"INSERT INTO branch_month_slots (branch_id, month, visits, visits_{slot},"
        f" scored_{slot}, score_sum_{slot}) VALUES (?, ?, 1, 1, ?, ?)"
        " ON CONFLICT (branch_id, month) DO UPDATE SET"
        " visits = branch_month_slots.visits + 1,"
        f" visits_{slot} = branch_month_slots.visits_{slot} + 1,"
        f" scored_{slot} = branch_month_slots.scored_{slot} + excluded.scored_{slot},"
        f" score_sum_{slot} = branch_month_slots.score_sum_{slot} + excluded.score_sum_{slot}"
    )


def _slot_withdraw(slot: int) -> str:
    assert 0 <= slot < SLOTS
    return (
        f"UPDATE branch_month_slots SET visits = visits - 1, visits_{slot} = visits_{slot} - 1,"
        f" scored_{slot} = scored_{slot} - ?, score_sum_{slot} = score_sum_{slot} - ?"
        " WHERE branch_id = ? AND month = ?"
    )


def _plan_progress(
    branch_id: int, started_utc: str | None, sections: dict[str, float | None], sign: int
) -> list[Statement]:
    """Adding (``sign`` 1) or taking out (-1) one approved visit's section scores in the
    "since" sums of its branch's plans made before it started: one statement for all its
    sections. A plan's mean since it was made is then read from its own row."""
    scored = {key: score for key, score in sorted(sections.items()) if score is not None}
    if not started_utc or not scored:
        return []
    cases = " ".join("WHEN ? THEN ?" for _ in scored)
    return [
        (
            "UPDATE action_plans SET since_scored = since_scored + ?,"
            f" since_score_sum = since_score_sum + CASE section_key {cases} ELSE 0 END"
            " WHERE branch_id = ? AND created_at <= ?"
            f" AND section_key IN ({placeholders(list(scored))})",
            (
                sign,
                *(v for key, score in scored.items() for v in (key, sign * score)),
                branch_id,
                started_utc,
                *scored,
            ),
        )
    ]


def _when(
    branch_id: int, local_date: str, started_at: str | None, total: float | None, add: bool
) -> list[Statement]:
    """A visit's score band and its weekday and part of the day, added or taken out."""
    month = local_date[:7]
    out: list[Statement] = []
    band = reports.score_band(total)
    if band is not None:
        out.append(((_band_upsert if add else _band_withdraw)(band), (branch_id, month)))
    part = reports.daypart(started_at)
    if part is not None:
        slot = reports.weekday(local_date) * 3 + part
        scored, score_sum = int(total is not None), total or 0
        out.append(
            (_slot_upsert(slot), (branch_id, month, scored, score_sum))
            if add
            else (_slot_withdraw(slot), (scored, score_sum, branch_id, month))
        )
    return out


def approval_statements(
    branch_id: int,
    local_date: str | None,
    total: float | None,
    scores: StoredScore | None,
    started_at: str | None = None,
    started_utc: str | None = None,
) -> list[Statement]:
    """What adding one approved visit to its branch's month writes: its total, its
    sections and its scored questions, its score band and, given when it started, its
    weekday and part of the day (none when it has no local day), and its sections in the
    progress of the branch's plans made before it started (``started_utc``)."""
    if not local_date:
        return []
    month = local_date[:7]  # the month at the branch
    out: list[Statement] = [(_UPSERT, (branch_id, month, "", int(total is not None), total or 0))]
    out += _when(branch_id, local_date, started_at, total, add=True)
    if scores is None:
        return out
    out += _plan_progress(branch_id, started_utc, scores.sections, 1)
    for key, score in scores.sections.items():
        out.append((_UPSERT, (branch_id, month, key, int(score is not None), score or 0)))
    out += [
        (_UPSERT_QUESTION, (branch_id, month, key, earned, possible))
        for key, (earned, possible) in scores.questions.items()
        if possible > 0
    ]
    return out


_WITHDRAW = (
    "UPDATE branch_month_scores SET visits = visits - 1, scored = scored - ?,"
    " score_sum = score_sum - ? WHERE branch_id = ? AND month = ? AND section_key = ?"
)
_WITHDRAW_QUESTION = (
    "UPDATE branch_month_questions SET visits = visits - 1, earned = earned - ?,"
    " possible = possible - ? WHERE branch_id = ? AND month = ? AND question_key = ?"
)
_WITHDRAW_ANSWER = (
    "UPDATE branch_month_answers SET visits = visits - 1"
    " WHERE branch_id = ? AND month = ? AND question_key = ? AND answer = ?"
)


async def withdrawal_statements(db: Reader, row: Any) -> list[Statement]:
    """What taking one approved visit (a row of ``visits`` with its ``scenario_key``) out
    of its branch's month writes: the reverse of :func:`approval_statements` and
    :func:`answer_statements`, read from what the row holds now. Rows left with no visit
    go, as if the visit had never been counted."""
    if not row["local_date"]:
        return []
    branch, month = row["branch_id"], row["local_date"][:7]
    total = row["score_total"]
    out: list[Statement] = [(_WITHDRAW, (int(total is not None), total or 0, branch, month, ""))]
    out += _when(branch, row["local_date"], row["started_at"], total, add=False)
    scores = await stored_scores(db, row)
    if scores is not None:
        out += _plan_progress(branch, row["started_utc"], scores.sections, -1)
        for key, score in scores.sections.items():
            out.append((_WITHDRAW, (int(score is not None), score or 0, branch, month, key)))
        out += [
            (_WITHDRAW_QUESTION, (earned, possible, branch, month, key))
            for key, (earned, possible) in scores.questions.items()
            if possible > 0
        ]
    out += [
        (_WITHDRAW_ANSWER, (branch, month, key, answer)) for key, answer in await _counted(db, row)
    ]
    out += [
        (f"DELETE FROM {table} WHERE branch_id = ? AND month = ? AND visits = 0", (branch, month))
        for table in (
            "branch_month_scores",
            "branch_month_questions",
            "branch_month_answers",
            "branch_month_bands",
            "branch_month_slots",
        )
    ]
    return out


VISIT_STATES = tuple(STATE_NAMES)
"""Every state of a visit row (the CHECK on ``visits.state``; tests/test_schema.py)."""

_APPEALS_COUNTED = (
    "SELECT count(DISTINCT a.visit_id),"
    " count(DISTINCT CASE WHEN a.decision IN ('upheld', 'partly_upheld') THEN a.visit_id END),"
    " count(DISTINCT CASE WHEN a.voided = 1 THEN a.visit_id END)"
    " FROM appeals a JOIN visits v ON v.id = a.visit_id"
)


async def recount_appeals(tx: Transaction, branch_id: int, local_date: str | None) -> None:
    """The appeals of one branch's visits of one month (the month of ``local_date``, the
    visit's day at the branch) counted again, in the transaction that opened or decided
    one: visits appealed, upheld (fully or partly) and voided, each visit once."""
    if not local_date:
        return
    month = local_date[:7]
    # Every state a visit can be in, named so the branch's index by state and day
    # answers it (an appealed visit may be approved, rejected by the appeal, or
    # reopened): one short range per state instead of every visit of the branch.
    row = await tx.fetchone(
        _APPEALS_COUNTED + " WHERE v.branch_id = ?"
        f" AND v.state IN ({placeholders(VISIT_STATES)})"
        " AND v.local_date >= ? AND v.local_date <= ?",
        (branch_id, *VISIT_STATES, f"{month}-01", f"{month}-31"),
    )
    appealed, upheld, voided = (int(n) for n in row) if row else (0, 0, 0)
    if not appealed:
        await tx.execute(
            "DELETE FROM branch_month_appeals WHERE branch_id = ? AND month = ?",
            (branch_id, month),
        )
        return
    await tx.execute(
        "INSERT INTO branch_month_appeals (branch_id, month, appealed, upheld, voided)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (branch_id, month) DO UPDATE SET"
        " appealed = excluded.appealed, upheld = excluded.upheld, voided = excluded.voided",
        (branch_id, month, appealed, upheld, voided),
    )


async def count_approval(tx: Transaction, visit_id: int) -> None:
    """Add one approved visit (a row of ``visits``) to its branch's month."""
    row = await tx.fetchone(
        "SELECT branch_id, local_date, started_at, started_utc, score_total, scores, answers,"
        " questionnaire_id, questionnaire_version, (SELECT scenario_key FROM assignments a"
        "  WHERE a.id = visits.assignment_id) AS scenario_key FROM visits WHERE id = ?",
        (visit_id,),
    )
    if row is None:
        return
    await tx.batch(
        approval_statements(
            row["branch_id"],
            row["local_date"],
            row["score_total"],
            await stored_scores(tx, row),
            row["started_at"],
            row["started_utc"],
        )
        + answer_statements(row["branch_id"], row["local_date"], await _counted(tx, row))
    )


async def _counted(db: Reader, row: Any) -> list[tuple[str, str]]:
    definition = await questionnaires.get_published(
        db, row["questionnaire_id"], row["questionnaire_version"]
    )
    answers = visit_record.unpack_answers(row["answers"]) if row["answers"] else {}
    return reports.counted_answers(definition or {}, answers, row["scenario_key"])


REBUILD_PAGE = 5000


async def rebuild(tx: Transaction) -> None:
    """Recount every branch-month from the approved visits (after local dates changed),
    reading them in pages; the sums are made here, as approvals make them."""
    sections: dict[tuple[int, str, str], list[float]] = {}
    questions: dict[tuple[int, str, str], list[float]] = {}
    answers: dict[tuple[int, str, str, str], int] = {}
    bands: dict[tuple[int, str], list[int]] = {}  # visits, then each band's
    slots: dict[tuple[int, str], list[float]] = {}  # visits, then each slot's 3 sums
    after = 0
    while True:
        # Every row in id order (the primary key), the approved ones kept here: a state
        # filter in SQL would walk the state index and sort it again for every page.
        rows = await tx.fetchall(
            "SELECT id, state, branch_id, local_date, started_at, score_total, scores,"
            " answers, questionnaire_id, questionnaire_version,"
            " (SELECT scenario_key FROM assignments a"
            "  WHERE a.id = visits.assignment_id) AS scenario_key"
            " FROM visits WHERE id > ? ORDER BY id LIMIT ?",
            (after, REBUILD_PAGE),
        )
        if not rows:
            break
        after = rows[-1]["id"]
        for row in rows:
            if row["state"] != "approved" or not row["local_date"]:
                continue
            month = row["local_date"][:7]
            total = row["score_total"]
            _add(sections, (row["branch_id"], month, ""), total)
            band = reports.score_band(total)
            if band is not None:
                counts = bands.setdefault((row["branch_id"], month), [0] * (1 + BANDS))
                counts[0] += 1
                counts[1 + band] += 1
            part = reports.daypart(row["started_at"])
            if part is not None:
                slot = reports.weekday(row["local_date"]) * 3 + part
                grid = slots.setdefault((row["branch_id"], month), [0] * (1 + 3 * SLOTS))
                grid[0] += 1
                grid[1 + 3 * slot] += 1
                if total is not None:
                    grid[2 + 3 * slot] += 1
                    grid[3 + 3 * slot] += total
            for key, answer in await _counted(tx, row):
                counted = (row["branch_id"], month, key, answer)
                answers[counted] = answers.get(counted, 0) + 1
            scores = await stored_scores(tx, row)
            if scores is None:
                continue
            for key, score in scores.sections.items():
                _add(sections, (row["branch_id"], month, key), score)
            for key, (earned, possible) in scores.questions.items():
                if possible > 0:
                    sums = questions.setdefault((row["branch_id"], month, key), [0, 0.0, 0.0])
                    sums[0] += 1
                    sums[1] += earned
                    sums[2] += possible
    await tx.execute("DELETE FROM branch_month_scores")
    await tx.executemany(
        "INSERT INTO branch_month_scores (branch_id, month, section_key, visits, scored,"
        " score_sum) VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, int(v[0]), int(v[1]), v[2]) for key, v in sections.items()],
    )
    await tx.execute("DELETE FROM branch_month_questions")
    await tx.executemany(
        "INSERT INTO branch_month_questions (branch_id, month, question_key, visits, earned,"
        " possible) VALUES (?, ?, ?, ?, ?, ?)",
        [(*key, int(v[0]), v[1], v[2]) for key, v in questions.items()],
    )
    await tx.execute("DELETE FROM branch_month_bands")
    await tx.executemany(
        f"INSERT INTO branch_month_bands (branch_id, month, visits, {BAND_COLUMNS})"
        f" VALUES (?, ?, ?, {placeholders(range(BANDS))})",
        [(*key, *counts) for key, counts in bands.items()],
    )
    await tx.execute("DELETE FROM branch_month_slots")
    await tx.executemany(
        f"INSERT INTO branch_month_slots (branch_id, month, visits, {SLOT_COLUMNS})"
        f" VALUES (?, ?, ?, {placeholders(range(3 * SLOTS))})",
        [(*key, *grid) for key, grid in slots.items()],
    )
    await tx.execute("DELETE FROM branch_month_answers")
    await tx.executemany(
        "INSERT INTO branch_month_answers (branch_id, month, question_key, answer, visits)"
        " VALUES (?, ?, ?, ?, ?)",
        [(*key, n) for key, n in answers.items()],
    )
    await tx.execute("DELETE FROM branch_month_appeals")
    await tx.execute(
        "INSERT INTO branch_month_appeals (branch_id, month, appealed, upheld, voided)"
        " SELECT v.branch_id, substr(v.local_date, 1, 7),"
        + _APPEALS_COUNTED.removeprefix("SELECT")
        + " WHERE v.local_date IS NOT NULL GROUP BY v.branch_id, substr(v.local_date, 1, 7)"
    )
    await recount_plan_progress(tx)


async def plan_progress(
    db: Reader, branch_id: int, plans: list[tuple[int, str, str]]
) -> dict[int, tuple[int, float]]:
    """For plans of one branch (id, section key, made at): the approved visits started
    since each was made that scored its section, and the sum of those scores, read visit
    by visit in one pass (a recount, or a plan being made)."""
    if not plans:
        return {}
    sums = {plan_id: [0, 0.0] for plan_id, _key, _made in plans}
    rows = await db.fetchall(
        "SELECT started_utc, scores, questionnaire_id, questionnaire_version FROM visits"
        " WHERE branch_id = ? AND state = 'approved' AND started_utc >= ?"
        " AND local_date IS NOT NULL",  # as approvals count them
        (branch_id, min(made for _id, _key, made in plans)),
    )
    for row in rows:
        kept = await stored_section_scores(db, row)
        for plan_id, key, made in plans:
            score = kept.get(key) if kept else None
            if score is not None and row["started_utc"] >= made:
                sums[plan_id][0] += 1
                sums[plan_id][1] += score
    return {plan_id: (int(n), float(total)) for plan_id, (n, total) in sums.items()}


async def recount_plan_progress(tx: Transaction) -> None:
    """Every plan's "since" sums counted again from the visits (an upgrade, a rebuild)."""
    by_branch: dict[int, list[tuple[int, str, str]]] = {}
    for r in await tx.fetchall(
        "SELECT id, branch_id, section_key, created_at FROM action_plans"
        " WHERE section_key IS NOT NULL ORDER BY id"
    ):
        by_branch.setdefault(r["branch_id"], []).append(
            (r["id"], r["section_key"], r["created_at"])
        )
    await tx.execute("UPDATE action_plans SET since_scored = 0, since_score_sum = 0")
    for branch_id, plans in by_branch.items():
        counted = await plan_progress(tx, branch_id, plans)
        changed = [(n, total, plan_id) for plan_id, (n, total) in counted.items() if n]
        if changed:
            await tx.executemany(
                "UPDATE action_plans SET since_scored = ?, since_score_sum = ? WHERE id = ?",
                changed,
            )


async def start_plan_progress(
    tx: Transaction, plan_id: int, branch_id: int, section_key: str | None, made: str
) -> None:
    """A new plan's "since" sums: the visits already approved that started after it was
    made (none, unless a phone's clock ran ahead); approvals add the rest."""
    if not section_key:
        return
    ((n, total),) = (await plan_progress(tx, branch_id, [(plan_id, section_key, made)])).values()
    if n:
        await tx.execute(
            "UPDATE action_plans SET since_scored = ?, since_score_sum = ? WHERE id = ?",
            (n, total, plan_id),
        )


def _add(sums: dict[Any, list[float]], key: tuple[Any, ...], score: float | None) -> None:
    """One more visit in a branch-month's sum: visits, scored visits, sum of scores."""
    entry = sums.setdefault(key, [0, 0, 0.0])
    entry[0] += 1
    if score is not None:
        entry[1] += 1
        entry[2] += score
