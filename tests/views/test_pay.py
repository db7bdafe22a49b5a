"""Shopper pay (issue "The agency at scale"): an assignment carries a fee and a purchase
reimbursed against a receipt photo; an approved visit earns its lines, a returned one
waits, a rejected one is paid only when the agency decides so; a month's statements are
made, approved, marked paid and exported; the shopper reads only their own."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from starlette.testclient import TestClient

import server
from server import money
from tests.api.conftest import jpeg_bytes, manifest, new_id, visit_body
from tests.conftest import csrf_token, db_rows, db_write, login


def paid_questionnaire(client: TestClient) -> None:
    """The default questionnaire with a purchase (money, IDR) and its receipt as proof."""
    definition = json.loads(
        (Path(server.__file__).parent / "questionnaires" / "default.json").read_text()
    )
    definition["id"] = "paid"
    for section in definition["sections"]:
        for q in section["questions"]:
            if q["key"] == "checkout_photo":
                q["proof"] = True
    definition["sections"][-1]["questions"].append(
        {"key": "purchase", "type": "money", "currency": "IDR", "text": {"en": "You spent"}}
    )
    login(client, "admin@demo.test")
    response = client.post(
        "/admin/questionnaires/import",
        data={"csrf_token": csrf_token(client, "/admin/questionnaires"), "publish": "1"},
        files={"file": ("paid.json", json.dumps(definition).encode(), "application/json")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def assign(client: TestClient, **fields: str) -> Any:
    login(client, "admin@demo.test")
    form = {
        "csrf_token": csrf_token(client, "/admin/assignments"),
        "shopper": str(db_rows_id(client, "shopper@demo.test")),
        "questionnaire": "paid",
        "branches": "2",
        # (a window months away: the demo's shopper was at every branch lately; a visit
        # before its window is only a warning)
        "start": "2027-02-01",
        "end": "2027-02-28",
        **fields,
    }
    return client.post("/admin/assignments", data=form, follow_redirects=False)


def db_rows_id(client: TestClient, email: str) -> int:
    data: Path = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    return int(db_rows(data, "SELECT id FROM users WHERE email = ?", (email,))[0][0])


def visit(client: TestClient, spent: float | None, receipt: bool = True) -> str:
    """The shopper sends a complete visit of their paid assignment (photo and all)."""
    login(client, "shopper@demo.test")
    [assignment] = [
        a
        for a in client.get("/api/v1/assignments").json()["assignments"]
        if a["questionnaire"]["id"] == "paid"
    ]
    photo = jpeg_bytes(color=(90, 90, 90))
    entries = [manifest(photo)] if receipt else []
    body = visit_body(assignment, photos=entries)
    if spent is not None:
        body["answers"]["purchase"] = {"value": spent}
    visit_id = new_id()
    assert client.put(f"/api/v1/visits/{visit_id}", json=body).status_code == 201
    for entry in entries:
        put = client.put(f"/api/v1/visits/{visit_id}/photos/{entry['photo_id']}", content=photo)
        assert put.status_code == 201
    return visit_id


def decide(client: TestClient, visit_id: str, decision: str, note: str = "") -> Any:
    login(client, "reviewer@demo.test")
    return client.post(
        f"/review/{visit_id}/{decision}",
        data={"csrf_token": csrf_token(client, "/review"), "note": note},
        follow_redirects=False,
    )


def lines(data: Path, visit_id: str) -> list[tuple[str, int, str]]:
    return [
        (kind, amount, currency)
        for kind, amount, currency in db_rows(
            data,
            "SELECT kind, amount_minor, currency FROM pay_lines WHERE visit_uuid = ? ORDER BY kind",
            (visit_id,),
        )
    ]


def test_an_assignment_says_what_it_pays_and_a_visit_earns_nothing_before_approval(
    demo_client: TestClient, demo_dir: Path
) -> None:
    paid_questionnaire(demo_client)
    made = assign(demo_client, fee="150,000", reimburse_max="50000", reimburse_question="purchase")
    assert made.status_code == 303, made.text
    page = demo_client.get("/admin/assignments").text
    assert "IDR150,000" in page and "+ up to IDR50,000 spent" in page
    # The shopper sees what it pays, with the currency's decimals (none for IDR).
    login(demo_client, "shopper@demo.test")
    offered = [
        a["pay"]
        for a in demo_client.get("/api/v1/assignments").json()["assignments"]
        if a["questionnaire"]["id"] == "paid"
    ]
    assert offered == [
        {"currency": "IDR", "minor_digits": 0, "fee_minor": 150000, "reimburse_max_minor": 50000}
    ]
    visit_id = visit(demo_client, spent=65000)
    assert lines(demo_dir, visit_id) == []  # waiting for review earns nothing yet
    assert decide(demo_client, visit_id, "return", "Say which till.").status_code == 303
    assert lines(demo_dir, visit_id) == []  # a returned visit waits


@pytest.mark.parametrize(
    ("spent", "receipt", "expected"),
    [
        (65000, True, [("fee", 150000, "IDR"), ("reimbursement", 50000, "IDR")]),
        (32500, True, [("fee", 150000, "IDR"), ("reimbursement", 32500, "IDR")]),
        (32500, False, [("fee", 150000, "IDR")]),  # no receipt: the fee only
        (None, True, [("fee", 150000, "IDR")]),  # nothing spent: the fee only
    ],
)
def test_approval_pays_the_fee_and_the_purchase_only_with_a_receipt(
    demo_client: TestClient,
    demo_dir: Path,
    spent: float | None,
    receipt: bool,
    expected: list[tuple[str, int, str]],
) -> None:
    paid_questionnaire(demo_client)
    made = assign(demo_client, fee="150000", reimburse_max="50000", reimburse_question="purchase")
    assert made.status_code == 303, made.text
    visit_id = visit(demo_client, spent, receipt)
    assert decide(demo_client, visit_id, "approve").status_code == 303
    assert lines(demo_dir, visit_id) == expected
    # Deciding again changes nothing and pays nothing twice.
    assert decide(demo_client, visit_id, "approve").status_code == 409
    assert lines(demo_dir, visit_id) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"fee": "12,5"}, "Give the fee as an amount in IDR"),  # IDR has no decimals
        ({"fee": "-3"}, "Give the fee as an amount in IDR"),
        ({"reimburse_max": "1000"}, "the questionnaire&#39;s question where the shopper"),
        (
            {"reimburse_max": "1000", "reimburse_question": "overall_comment"},
            "the questionnaire&#39;s question where the shopper",
        ),
    ],
)
def test_an_assignment_with_a_pay_it_cannot_mean_is_refused(
    demo_client: TestClient, demo_dir: Path, fields: dict[str, str], message: str
) -> None:
    paid_questionnaire(demo_client)
    before = db_rows(demo_dir, "SELECT count(*) FROM assignments")
    refused = assign(demo_client, **fields)
    assert refused.status_code == 422
    assert message in refused.text
    assert db_rows(demo_dir, "SELECT count(*) FROM assignments") == before


def make_month(client: TestClient, month: str) -> Any:
    login(client, "admin@demo.test")
    return client.post(
        "/admin/pay/statements",
        data={"csrf_token": csrf_token(client, "/admin/pay"), "month": month},
        follow_redirects=False,
    )


def test_a_month_of_statements_is_made_approved_paid_exported_and_read_by_its_shopper(
    demo_client: TestClient, demo_dir: Path
) -> None:
    paid_questionnaire(demo_client)
    assert assign(demo_client, fee="150000").status_code == 303
    visit_id = visit(demo_client, spent=None)
    assert decide(demo_client, visit_id, "approve").status_code == 303
    [(month,)] = db_rows(demo_dir, "SELECT month FROM pay_lines WHERE visit_uuid = ?", (visit_id,))
    login(demo_client, "admin@demo.test")
    page = demo_client.get(f"/admin/pay?month={month}").text
    assert f"1 line of pay earned by {month} is on no statement yet." in page
    made = make_month(demo_client, month)
    assert made.status_code == 303
    shown = demo_client.get(made.headers["location"]).text
    assert "1 statement made or brought up to date." in shown
    assert "Sari Shopper" in shown and "IDR150,000" in shown and "to approve" in shown
    [(statement_id, state)] = db_rows(demo_dir, "SELECT id, state FROM pay_statements")
    assert state == "to_approve"
    token = csrf_token(demo_client, "/admin/pay")
    # Paying before approving is refused, and changes nothing.
    early = demo_client.post(
        "/admin/pay/paid",
        data={
            "csrf_token": token,
            "statement": str(statement_id),
            "paid_on": "2026-11-30",
            "reference": "BCA 0042",
        },
    )
    assert early.status_code == 409 and "Only approved statements" in early.text
    approved = demo_client.post(
        "/admin/pay/approve",
        data={"csrf_token": token, "statement": str(statement_id), "month": month},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    assert "1 statement approved for payment." in demo_client.get(approved.headers["location"]).text
    again = demo_client.post(
        "/admin/pay/approve", data={"csrf_token": token, "statement": str(statement_id)}
    )
    assert again.status_code == 409
    for bad, why in (
        ({"paid_on": "2999-01-01", "reference": "x"}, "cannot be in the future"),
        ({"paid_on": "", "reference": "x"}, "Give the day the payment was made."),
        ({"paid_on": "2026-11-30", "reference": " "}, "Give the payment&#39;s reference"),
    ):
        refused = demo_client.post(
            "/admin/pay/paid", data={"csrf_token": token, "statement": str(statement_id), **bad}
        )
        assert refused.status_code == 422 and why in refused.text
    paid = demo_client.post(
        "/admin/pay/paid",
        data={
            "csrf_token": token,
            "statement": str(statement_id),
            "paid_on": "2026-11-30",
            "reference": "BCA 0042",
            "month": month,
        },
        follow_redirects=False,
    )
    assert paid.status_code == 303
    assert db_rows(demo_dir, "SELECT state, paid_on, reference FROM pay_statements") == [
        ("paid", "2026-11-30", "BCA 0042")
    ]
    assert db_rows(
        demo_dir, "SELECT count(*) FROM audit_log WHERE action IN ('pay.approved', 'pay.paid')"
    ) == [(2,)]
    # The export, for the bank: CSV in the reader's conventions, XLSX with numbers.
    csv = demo_client.get(f"/admin/pay.csv?month={month}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    rows = [line.split(",") for line in csv.text.lstrip("\ufeff").splitlines()]
    assert rows[1][:7] == [
        "Sari Shopper",
        "shopper@demo.test",
        month,
        "IDR",
        "150000",
        "150000",
        "1",
    ]
    assert rows[1][7:] == ["paid", "2026-11-30", "BCA 0042"]
    book = load_workbook(io.BytesIO(demo_client.get(f"/admin/pay.xlsx?month={month}").content))
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[2]][:6] == [
        "Sari Shopper",
        "shopper@demo.test",
        month,
        "IDR",
        150000,
        150000,
    ]
    # The shopper reads their statement; another shopper reads nothing of it.
    login(demo_client, "shopper@demo.test")
    mine = demo_client.get("/api/v1/me/pay").json()
    [statement] = mine["statements"]
    assert (statement["month"], statement["currency"], statement["total_minor"]) == (
        month,
        "IDR",
        150000,
    )
    assert statement["state"] == "paid" and statement["reference"] == "BCA 0042"
    assert [(line["visit_id"], line["kind"]) for line in statement["lines"]] == [(visit_id, "fee")]
    assert mine["pending"] == [] and mine["minor_digits"] == {"IDR": 0}
    login(demo_client, "shopper2@demo.test")
    assert demo_client.get("/api/v1/me/pay").json() == {
        "statements": [],
        "pending": [],
        "minor_digits": {},
    }


def test_lines_after_an_approved_statement_wait_for_the_next_one(
    demo_client: TestClient, demo_dir: Path
) -> None:
    paid_questionnaire(demo_client)
    assert assign(demo_client, fee="1000").status_code == 303
    first = visit(demo_client, spent=None)
    assert decide(demo_client, first, "approve").status_code == 303
    [(month,)] = db_rows(demo_dir, "SELECT DISTINCT month FROM pay_lines")
    assert make_month(demo_client, month).status_code == 303
    db_write(demo_dir, [("UPDATE pay_statements SET state = 'approved'", ())])
    db_write(
        demo_dir,
        [
            (
                "INSERT INTO pay_lines (shopper_id, visit_uuid, kind, amount_minor, currency,"
                " month, created_at) SELECT shopper_id, 'late-visit', 'fee', 1000, 'IDR', month,"
                " created_at FROM pay_lines",
                (),
            )
        ],
    )
    assert make_month(demo_client, month).status_code == 303
    assert db_rows(demo_dir, "SELECT count(*) FROM pay_lines WHERE statement_id IS NULL") == [(1,)]
    page = demo_client.get(f"/admin/pay?month={month}").text
    assert f"1 line of pay earned by {month} is on no statement yet." in page
    assert money.parse("1,000", "IDR", "en") == 1000


def test_a_rejected_visit_is_paid_only_when_the_agency_decides_with_a_reason(
    demo_client: TestClient, demo_dir: Path
) -> None:
    paid_questionnaire(demo_client)
    assert assign(demo_client, fee="150000").status_code == 303
    visit_id = visit(demo_client, spent=None)
    assert decide(demo_client, visit_id, "reject", "Wrong branch.").status_code == 303
    assert lines(demo_dir, visit_id) == []
    login(demo_client, "admin@demo.test")
    page = demo_client.get(f"/visits/{visit_id}").text
    assert "Pay this visit anyway" in page
    token = csrf_token(demo_client, f"/visits/{visit_id}")
    reasonless = demo_client.post(f"/admin/pay/visits/{visit_id}", data={"csrf_token": token})
    assert reasonless.status_code == 422 and lines(demo_dir, visit_id) == []
    paid = demo_client.post(
        f"/admin/pay/visits/{visit_id}",
        data={"csrf_token": token, "reason": "The branch moved; our mistake."},
        follow_redirects=False,
    )
    assert paid.status_code == 303
    assert lines(demo_dir, visit_id) == [("fee", 150000, "IDR")]
    shown = demo_client.get(paid.headers["location"]).text
    assert "1 line of pay made for this rejected visit." in shown
    assert "The branch moved; our mistake." in shown
    twice = demo_client.post(
        f"/admin/pay/visits/{visit_id}", data={"csrf_token": token, "reason": "again"}
    )
    assert twice.status_code == 409 and lines(demo_dir, visit_id) == [("fee", 150000, "IDR")]
    # The reviewer (no pay.manage) cannot, and the visit page shows them no pay.
    login(demo_client, "reviewer@demo.test")
    assert "Shopper pay" not in demo_client.get(f"/visits/{visit_id}").text


@pytest.mark.parametrize(
    ("text", "currency", "locale", "minor"),
    [
        ("150000", "IDR", "id", 150000),
        ("150.000", "IDR", "id", 150000),
        ("150,000", "IDR", "en", 150000),
        ("12,50", "EUR", "fr", 1250),
        ("1 234,50", "EUR", "fr", 123450),
        ("1,234.50", "EUR", "en", 123450),
        ("", "EUR", "en", 0),
        ("12.505", "EUR", "en", None),
        ("12,5", "IDR", "id", None),
        ("-5", "EUR", "en", None),
        ("1.2.3", "EUR", "en", None),
        ("12,5", "EUR", "en", None),  # a group of one digit: not English
        ("12.50", "IDR", "id", None),
        ("1.234,50", "EUR", "fr", None),
        ("12.50", "EUR", "fr", 1250),  # not the French group mark: a decimal point
        ("1,000,000", "IDR", "en", 1000000),
        ("five", "EUR", "en", None),
    ],
)
def test_amounts_are_read_as_their_writer_writes_numbers(
    text: str, currency: str, locale: str, minor: int | None
) -> None:
    assert money.parse(text, currency, locale) == minor


def test_amounts_are_written_in_the_readers_language() -> None:
    assert money.format_amount(15000000, "IDR", "id") == "Rp15.000.000"
    assert money.format_amount(1250, "EUR", "fr") == "12,50\u00a0€"
    assert money.format_amount(1250, "EUR", "en") == "€12.50"
    assert str(money.from_minor(1250, "EUR")) == "12.50"
