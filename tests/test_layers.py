"""The code's layers, checked from the source: pages and API → queries/ → db/, and no
import hidden inside a function (a late import once hid a cycle auth → errors →
templating → auth)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"
STORAGE = {"migrate.py"}
DRIVER = re.compile(
    r"^\s*(import sqlite3|import aiosqlite|from aiosqlite|import psycopg|from psycopg)", re.M
)
SQL_CALLS = re.compile(r"\.(execute|fetchall|fetchone|execute_fetchall)\(")


def modules() -> list[Path]:
    return sorted(SERVER.rglob("*.py"))


def test_nothing_above_queries_knows_the_driver_or_runs_sql() -> None:
    leaks = []
    for path in modules():
        rel = path.relative_to(SERVER)
        if rel.parts[0] in {"queries", "db"} or rel.name in STORAGE:
            continue
        text = path.read_text()
        if DRIVER.search(text) or SQL_CALLS.search(text):
            leaks.append(str(rel))
    assert not leaks, leaks


def test_no_module_imports_our_code_inside_a_function() -> None:
    late = []
    for path in modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.level or 0) > 0:
                        late.append(f"{path.relative_to(SERVER)}:{inner.lineno}")
    assert not late, late
