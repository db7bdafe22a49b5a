"""A table (a header row, then rows) as a download: CSV for its reader (``;`` and a
decimal comma for French and Indonesian), or an XLSX workbook with numbers as numbers."""

from __future__ import annotations

import asyncio
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.responses import Response

from .. import csv_export, exports
from ..i18n import current_locale


def _headers(filename: str) -> dict[str, str]:
    return {
        "content-disposition": f'attachment; filename="{filename}"',
        "cache-control": "private, no-cache",
    }


def _decimal(cell: Any, mark: str) -> Any:
    return str(cell).replace(".", mark) if isinstance(cell, float | Decimal) else cell


def csv_download(rows: list[list[Any]], filename: str) -> Response:
    separator, decimal = exports.csv_style(current_locale())
    rows = [[_decimal(cell, decimal) for cell in row] for row in rows]
    return Response(
        csv_export.to_text(rows, delimiter=separator),
        media_type="text/csv; charset=utf-8",
        headers=_headers(filename),
    )


async def xlsx_download(rows: list[list[Any]], filename: str, sheet_name: str) -> Response:
    """The rows as one bold-headed sheet (made off the event loop)."""

    def make() -> bytes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "table.xlsx"
            book = exports.xlsx_book(path)
            sheet = book.add_worksheet(sheet_name[:31])
            bold = book.add_format({"bold": True})
            sheet.write_row(0, 0, rows[0], bold)
            for n, row in enumerate(rows[1:], start=1):
                sheet.write_row(n, 0, [float(c) if isinstance(c, Decimal) else c for c in row])
            book.close()
            return path.read_bytes()

    return Response(
        await asyncio.to_thread(make), media_type=exports.XLSX, headers=_headers(filename)
    )
