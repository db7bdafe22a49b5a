"""Shopper pay: the lines a visit earns when it is approved, and each shopper's monthly
statements (to approve → approved → paid).

Rules, each written once here:

- An approved visit earns its assignment's fee and, when the assignment reimburses a
  purchase, the amount answered in its money question up to the assignment's maximum,
  provided the visit carries a receipt (a photo on a proof photo question). Each line is
  made once per visit and kind, whatever happens later (a voided visit was still done).
- A returned visit earns nothing until it is approved; a rejected one only when the agency
  pays it anyway, with a reason (:func:`pay_rejected`).
- A line belongs to the month (UTC) it became payable. The statement of month M gathers
  every line of M or before not yet on a statement; a statement already approved or paid
  takes no more lines (they wait for the next month's).
- A statement's total is the sum of its lines.
"""

from __future__ import annotations

from typing import Any

from .. import money, visit_record
from ..db import Reader, Transaction, plain_rows, utcnow
from ..db.sql import placeholders
from . import audit, questionnaires

STATES = ("to_approve", "approved", "paid")
KINDS = ("fee", "reimbursement")
MAX_REFERENCE = 200


def this_month() -> str:
    return utcnow()[:7]


async def earn(
    tx: Transaction, visit_uuid: str, actor_id: int | None = None, note: str | None = None
) -> int:
    """The lines an approved (or paid-anyway rejected) visit earns, in the approving
    transaction; answers how many were made (none twice)."""
    row = await tx.fetchone(
        "SELECT v.id, v.shopper_id, v.answers, v.questionnaire_id, v.questionnaire_version,"
        " a.id AS assignment_id, a.fee_minor, a.reimburse_max_minor, a.reimburse_question,"
        " a.currency FROM visits v JOIN assignments a ON a.id = v.assignment_id"
        " WHERE v.visit_uuid = ? ORDER BY v.revision DESC LIMIT 1",
        (visit_uuid,),
    )
    if row is None or row["currency"] is None:
        return 0
    lines: list[tuple[str, int, str | None]] = []
    if row["fee_minor"]:
        lines.append(("fee", row["fee_minor"], note))
    if row["reimburse_max_minor"] and row["reimburse_question"]:
        spent = await _reimbursable(tx, row)
        if spent is not None:
            lines.append(("reimbursement", min(spent, row["reimburse_max_minor"]), note))
    made = 0
    now = utcnow()
    for kind, amount, why in lines:
        made += await tx.execute(
            "INSERT INTO pay_lines (shopper_id, visit_uuid, assignment_id, kind, amount_minor,"
            " currency, month, note, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (visit_uuid, kind) DO NOTHING",
            (
                row["shopper_id"],
                visit_uuid,
                row["assignment_id"],
                kind,
                amount,
                row["currency"],
                now[:7],
                why,
                now,
                actor_id,
            ),
        )
    return made


async def _reimbursable(tx: Transaction, row: Any) -> int | None:
    """The purchase answered in the visit (minor units), when a receipt photo proves it."""
    definition = await questionnaires.get_published(
        tx, row["questionnaire_id"], row["questionnaire_version"]
    )
    questions = {
        q["key"]: q for s in (definition or {}).get("sections", []) for q in s["questions"]
    }
    asked = questions.get(row["reimburse_question"])
    if asked is None or asked["type"] != "money" or asked.get("currency") != row["currency"]:
        return None
    value = (visit_record.unpack_answers(row["answers"]).get(asked["key"]) or {}).get("value")
    spent = money.to_minor(value, row["currency"]) if value is not None else None
    proofs = [k for k, q in questions.items() if q["type"] == "photo" and q.get("proof")]
    if spent is None or not proofs:
        return None
    receipt = await tx.fetchone(
        "SELECT 1 FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
        f" WHERE vp.visit_id = ? AND vp.question_key IN ({placeholders(proofs)})"
        " AND p.received_at IS NOT NULL LIMIT 1",
        (row["id"], *proofs),
    )
    return spent if receipt else None


async def pay_rejected(tx: Transaction, visit_uuid: str, actor_id: int, reason: str) -> int:
    """The agency pays a rejected visit all the same, with its reason (audited)."""
    made = await earn(tx, visit_uuid, actor_id, reason)
    if made:
        await audit.record(
            tx, actor_id, "visit.paid_anyway", "visit", visit_uuid, {"reason": reason}
        )
    return made


async def make_statements(tx: Transaction, month: str, actor_id: int) -> dict[str, int]:
    """Gather every waiting line of ``month`` or before into its shopper's statement of
    ``month`` (made when missing). Answers how many statements were made, how many
    were made or given lines (touched), how many lines joined, and how many wait because
    their statement is already approved or paid."""
    waiting = await tx.fetchall(
        "SELECT DISTINCT shopper_id, currency FROM pay_lines"
        " WHERE statement_id IS NULL AND month <= ?",
        (month,),
    )
    made = joined = held = touched = 0
    now = utcnow()
    for group in waiting:
        key = (group["shopper_id"], month, group["currency"])
        statement = await tx.fetchone(
            "SELECT id, state FROM pay_statements WHERE shopper_id = ? AND month = ?"
            " AND currency = ?",
            key,
        )
        if statement is None:
            statement_id = await tx.insert(
                "INSERT INTO pay_statements (shopper_id, month, currency, created_at,"
                " created_by) VALUES (?, ?, ?, ?, ?)",
                (*key, now, actor_id),
            )
            made += 1
        elif statement["state"] != "to_approve":
            held += (
                await tx.fetchone(
                    "SELECT count(*) FROM pay_lines WHERE statement_id IS NULL"
                    " AND month <= ? AND shopper_id = ? AND currency = ?",
                    (month, group["shopper_id"], group["currency"]),
                )
            )[0]
            continue
        else:
            statement_id = statement["id"]
        touched += 1
        joined += await tx.execute(
            "UPDATE pay_lines SET statement_id = ? WHERE statement_id IS NULL AND month <= ?"
            " AND shopper_id = ? AND currency = ?",
            (statement_id, month, group["shopper_id"], group["currency"]),
        )
    result = {"statements": made, "touched": touched, "lines": joined, "held": held}
    await audit.record(tx, actor_id, "pay.statements", "pay", month, result)
    return result


_TOTALS = (
    "SELECT s.*, u.name AS shopper_name, u.email AS shopper_email,"
    " CAST(coalesce(sum(l.amount_minor), 0) AS BIGINT) AS total_minor, count(l.id) AS line_count"
    " FROM pay_statements s JOIN users u ON u.id = s.shopper_id"
    " LEFT JOIN pay_lines l ON l.statement_id = s.id"
)
_GROUP = (
    " GROUP BY s.id, s.shopper_id, s.month, s.currency, s.state, s.created_at, s.created_by,"
    " s.approved_at, s.approved_by, s.paid_on, s.reference, s.paid_by, u.name, u.email"
)


async def statements(
    db: Reader, month: str, state: str | None = None, search: str = ""
) -> list[dict[str, Any]]:
    """The statements of a month with their totals, by shopper name; narrowed to a state
    and to shoppers whose name or address contains ``search``."""
    where = ["s.month = ?"]
    params: list[Any] = [month]
    if state:
        where.append("s.state = ?")
        params.append(state)
    if search:
        where.append("(lower(u.name) LIKE ? OR lower(u.email) LIKE ?)")
        params += [f"%{search.lower()}%"] * 2
    return plain_rows(
        await db.fetchall(
            f"{_TOTALS} WHERE {' AND '.join(where)}{_GROUP} ORDER BY u.name, s.id", params
        )
    )


async def statement(db: Reader, statement_id: int) -> dict[str, Any] | None:
    rows = await db.fetchall(f"{_TOTALS} WHERE s.id = ?{_GROUP}", (statement_id,))
    return plain_rows(rows)[0] if rows else None


async def lines(db: Reader, statement_id: int) -> list[dict[str, Any]]:
    """A statement's lines, each with its visit's branch and day."""
    return await _lines(db, "l.statement_id = ?", (statement_id,))


async def _lines(db: Reader, where: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    return plain_rows(
        await db.fetchall(
            "SELECT l.*, b.name AS branch_name, v.local_date FROM pay_lines l"
            " LEFT JOIN assignments a ON a.id = l.assignment_id"
            " LEFT JOIN branches b ON b.id = a.branch_id"
            " LEFT JOIN visits v ON v.visit_uuid = l.visit_uuid AND v.revision ="
            " (SELECT max(revision) FROM visits w WHERE w.visit_uuid = l.visit_uuid)"
            f" WHERE {where} ORDER BY v.local_date, l.id",
            params,
        )
    )


async def visit_lines(db: Reader, visit_uuid: str) -> list[dict[str, Any]]:
    """What a visit earned (its lines, with their statements)."""
    return await _lines(db, "l.visit_uuid = ?", (visit_uuid,))


async def months(db: Reader) -> list[str]:
    """Months that have statements or waiting lines, newest first."""
    rows = await db.fetchall(
        "SELECT month FROM pay_statements UNION SELECT month FROM pay_lines"
        " WHERE statement_id IS NULL ORDER BY month DESC"
    )
    return [r[0] for r in rows]


async def waiting(db: Reader, month: str) -> dict[str, int]:
    """Lines of ``month`` or before on no statement yet: how many, for how many shoppers."""
    row = await db.fetchone(
        "SELECT count(*), count(DISTINCT shopper_id) FROM pay_lines"
        " WHERE statement_id IS NULL AND month <= ?",
        (month,),
    )
    return {"lines": row[0] if row else 0, "shoppers": row[1] if row else 0}


async def approve(tx: Transaction, ids: list[int], actor_id: int) -> int:
    """Approve statements still to approve; answers how many (the caller refuses a
    partial change: see :func:`states_of`)."""
    changed = await tx.execute(
        f"UPDATE pay_statements SET state = 'approved', approved_at = ?, approved_by = ?"
        f" WHERE id IN ({placeholders(ids)}) AND state = 'to_approve'",
        (utcnow(), actor_id, *ids),
    )
    for statement_id in ids:
        await audit.record(tx, actor_id, "pay.approved", "pay_statement", statement_id)
    return changed


async def mark_paid(
    tx: Transaction, ids: list[int], paid_on: str, reference: str, actor_id: int
) -> int:
    """Mark approved statements paid on a day, with the payment's reference."""
    changed = await tx.execute(
        f"UPDATE pay_statements SET state = 'paid', paid_on = ?, reference = ?, paid_by = ?"
        f" WHERE id IN ({placeholders(ids)}) AND state = 'approved'",
        (paid_on, reference, actor_id, *ids),
    )
    for statement_id in ids:
        await audit.record(
            tx,
            actor_id,
            "pay.paid",
            "pay_statement",
            statement_id,
            {"paid_on": paid_on, "reference": reference},
        )
    return changed


async def states_of(db: Reader, ids: list[int]) -> dict[int, str]:
    """The state of each statement named (those that exist)."""
    rows = await db.fetchall(
        f"SELECT id, state FROM pay_statements WHERE id IN ({placeholders(ids)})", ids
    )
    return {r["id"]: r["state"] for r in rows}


async def for_shopper(db: Reader, shopper_id: int) -> dict[str, Any]:
    """What a shopper sees: their statements (newest first) each with its lines, and the
    lines not on a statement yet."""
    listed = plain_rows(
        await db.fetchall(
            f"{_TOTALS} WHERE s.shopper_id = ?{_GROUP} ORDER BY s.month DESC, s.id DESC",
            (shopper_id,),
        )
    )
    for item in listed:
        item["lines"] = await lines(db, item["id"])
    pending = await _lines(db, "l.shopper_id = ? AND l.statement_id IS NULL", (shopper_id,))
    return {"statements": listed, "pending": pending}
