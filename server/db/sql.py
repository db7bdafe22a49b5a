"""What differs between the SQL we write and what PostgreSQL's driver takes.

Queries are written once, with SQLite's placeholders (``?`` by position, ``:name`` by
name). For psycopg they become ``%s`` and ``%(name)s``, and a literal ``%`` becomes
``%%``; text inside quotes and comments is left alone, as is PostgreSQL's ``::`` cast.
"""

from __future__ import annotations

from collections.abc import Sized
from functools import lru_cache


def placeholders(values: Sized) -> str:
    """The inside of ``IN (…)`` for these values: ``?,?,?``, or ``NULL`` for none (SQLite
    takes ``IN ()``, PostgreSQL does not; ``x IN (NULL)`` is never true on either)."""
    return ",".join("?" * len(values)) or "NULL"


@lru_cache(maxsize=2048)
def to_psycopg(sql: str) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":  # a quoted string or identifier, doubled quotes inside
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i : j + 1].replace("%", "%%"))
            i = j + 1
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j].replace("%", "%%"))
            i = j
        elif c == "?":
            out.append("%s")
            i += 1
        elif c == "%":
            out.append("%%")
            i += 1
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)
