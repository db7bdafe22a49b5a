-- Shopper pay (issue "The agency at scale"): what an assignment pays (a fee, and up to
-- how much of a purchase is reimbursed against an amount answered in the visit and a
-- receipt photo), in minor units of the currency the programme had when it was set; the
-- lines an approved visit earns (once per visit and kind); and each shopper's monthly
-- statement (to approve, approved, paid with its date and reference). A statement's
-- total is the sum of its lines, never kept apart from them.
ALTER TABLE assignments ADD COLUMN fee_minor INTEGER NOT NULL DEFAULT 0 CHECK (fee_minor >= 0);
ALTER TABLE assignments ADD COLUMN reimburse_max_minor INTEGER NOT NULL DEFAULT 0
    CHECK (reimburse_max_minor >= 0);
ALTER TABLE assignments ADD COLUMN reimburse_question TEXT;
ALTER TABLE assignments ADD COLUMN currency TEXT;
CREATE TABLE pay_statements (
    id           INTEGER PRIMARY KEY,
    shopper_id   INTEGER NOT NULL REFERENCES users(id),
    month        TEXT NOT NULL,
    currency     TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'to_approve'
                 CHECK (state IN ('to_approve', 'approved', 'paid')),
    created_at   TEXT NOT NULL,
    created_by   INTEGER REFERENCES users(id),
    approved_at  TEXT,
    approved_by  INTEGER REFERENCES users(id),
    paid_on      TEXT,
    reference    TEXT,
    paid_by      INTEGER REFERENCES users(id),
    UNIQUE (shopper_id, month, currency)
);
CREATE INDEX pay_statements_by_month ON pay_statements (month, state);
CREATE TABLE pay_lines (
    id            INTEGER PRIMARY KEY,
    shopper_id    INTEGER NOT NULL REFERENCES users(id),
    visit_uuid    TEXT NOT NULL,
    assignment_id INTEGER REFERENCES assignments(id),
    kind          TEXT NOT NULL CHECK (kind IN ('fee', 'reimbursement')),
    amount_minor  INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency      TEXT NOT NULL,
    month         TEXT NOT NULL,
    note          TEXT,
    statement_id  INTEGER REFERENCES pay_statements(id),
    created_at    TEXT NOT NULL,
    created_by    INTEGER REFERENCES users(id),
    UNIQUE (visit_uuid, kind)
);
CREATE INDEX pay_lines_by_statement ON pay_lines (statement_id, month);
CREATE INDEX pay_lines_by_shopper ON pay_lines (shopper_id, month);
