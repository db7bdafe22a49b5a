from __future__ import annotations

import pytest

from server.db.sql import to_psycopg


@pytest.mark.parametrize(
    ("ours", "psycopg"),
    [
        ("SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = %s AND b = %s"),
        (
            "WHERE shopper_id = :shopper AND d <= :end_1",
            "WHERE shopper_id = %(shopper)s AND d <= %(end_1)s",
        ),
        (
            "SELECT '?', 'it''s :x', \"we?ird\" FROM t WHERE a = ?",
            "SELECT '?', 'it''s :x', \"we?ird\" FROM t WHERE a = %s",
        ),
        ("SELECT x::text, 5 % 2 FROM t", "SELECT x::text, 5 %% 2 FROM t"),
        (
            "SELECT 1 -- why? 100%\nFROM t WHERE a = ?",
            "SELECT 1 -- why? 100%%\nFROM t WHERE a = %s",
        ),
        ("WHERE name LIKE '%' || ? || '%'", "WHERE name LIKE '%%' || %s || '%%'"),
        ("SELECT ':' || a FROM t", "SELECT ':' || a FROM t"),
    ],
)
def test_placeholders_become_psycopg_s(ours: str, psycopg: str) -> None:
    assert to_psycopg(ours) == psycopg
