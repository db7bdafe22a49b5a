"""Reading a CSV file of rows to import (branches, people), the one way: UTF-8 (with or
without a BOM), a header row naming the columns in any order, every problem reported
by its line (the header is line 1), blank lines skipped."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from .i18n import _


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return _("line %(line)d: %(message)s") % {"line": self.line, "message": self.message}


def records(
    data: bytes, columns: tuple[str, ...], required: tuple[str, ...], max_rows: int
) -> tuple[list[tuple[int, dict[str, str]]], list[RowProblem]]:
    """(line, {column: value}) for each row that has values, and the problems of the file
    as a whole or of a row's shape (more values than columns, too many rows)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowProblem(1, _("the file is not UTF-8 text"))]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    problems = [
        RowProblem(1, _("missing column %(name)r") % {"name": name})
        for name in required
        if name not in header
    ]
    unknown = [h for h in header if h not in columns]
    if unknown:
        problems.append(
            RowProblem(1, _("unknown column(s): %(names)s") % {"names": ", ".join(unknown)})
        )
    if problems:
        return [], problems
    rows: list[tuple[int, dict[str, str]]] = []
    for line, raw in enumerate(reader, start=2):
        if line > max_rows + 1:
            problems.append(RowProblem(line, _("more than %(n)d rows") % {"n": max_rows}))
            break
        if None in raw:
            problems.append(RowProblem(line, _("more values than columns")))
            continue
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if any(record.values()):  # else a blank line
            rows.append((line, record))
    return rows, problems
