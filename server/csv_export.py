"""CSV for spreadsheets, safe to open: every text cell that a spreadsheet would read as
a formula is neutralised as OWASP recommends (CSV injection), in every export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
"""Written first, so spreadsheet software reads UTF-8 as UTF-8."""


def safe_cell(value: Any) -> Any:
    """Text that starts like a formula gets a leading apostrophe (shown as text, not
    run); numbers and empty cells are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class Writer:
    """A csv writer into a buffer whose rows are made safe; :meth:`take` empties it
    (for streaming)."""

    def __init__(self, bom: bool = True, delimiter: str = ",") -> None:
        self._out = io.StringIO()
        if bom:
            self._out.write(BOM)
        self._writer = csv.writer(self._out, delimiter=delimiter)

    def row(self, cells: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in cells])

    def take(self) -> str:
        text = self._out.getvalue()
        self._out.seek(0)
        self._out.truncate()
        return text


def to_text(rows: Iterable[Iterable[Any]], delimiter: str = ",") -> str:
    writer = Writer(delimiter=delimiter)
    for cells in rows:
        writer.row(cells)
    return writer.take()
