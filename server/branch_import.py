"""Branches from a CSV file: every row checked, every bad row reported by its line number,
and nothing stored unless all are good.

Columns (a header row names them, in any order): name, code, region, city, address,
latitude, longitude, timezone. name, code and region are required; code is unique in the
chain; latitude/longitude are decimal degrees; timezone is an IANA name such as
Asia/Jakarta (default UTC).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COLUMNS = ("name", "code", "region", "city", "address", "latitude", "longitude", "timezone")
REQUIRED = ("name", "code", "region")
MAX_ROWS = 10_000


@dataclass(frozen=True)
class BranchRow:
    line: int
    name: str
    code: str
    region: str
    city: str
    address: str
    latitude: float | None
    longitude: float | None
    timezone: str


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _coordinate(text: str, low: float, high: float) -> float | None:
    value = float(text)
    if not low <= value <= high:
        raise ValueError
    return value


def parse(data: bytes, existing_codes: set[str]) -> tuple[list[BranchRow], list[RowProblem]]:
    """All rows, or every problem (line numbers count the header as line 1)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowProblem(1, "the file is not UTF-8 text")]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    problems = [
        RowProblem(1, f"missing column {name!r}") for name in REQUIRED if name not in header
    ]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        problems.append(RowProblem(1, f"unknown column(s): {', '.join(unknown)}"))
    if problems:
        return [], problems
    rows: list[BranchRow] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            problems.append(RowProblem(line, f"more than {MAX_ROWS} rows"))
            break
        record = {
            (k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None
        }
        if None in raw:
            problems.append(RowProblem(line, "more values than columns"))
            continue
        if not any(record.values()):
            continue  # a blank line
        missing = [name for name in REQUIRED if not record.get(name)]
        if missing:
            problems.append(RowProblem(line, f"{', '.join(missing)} is required"))
        code = record.get("code", "")
        if code in existing_codes:
            problems.append(RowProblem(line, f"code {code!r} is already a branch of this chain"))
        elif code and code in seen:
            problems.append(RowProblem(line, f"code {code!r} is also on line {seen[code]}"))
        seen.setdefault(code, line)
        coordinates: list[float | None] = []
        for name, low, high in (("latitude", -90.0, 90.0), ("longitude", -180.0, 180.0)):
            value = record.get(name, "")
            try:
                coordinates.append(_coordinate(value, low, high) if value else None)
            except ValueError:
                problems.append(
                    RowProblem(line, f"{name} must be a number from {low:g} to {high:g}")
                )
                coordinates.append(None)
        zone = record.get("timezone") or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(RowProblem(line, f"{zone!r} is not a time zone (e.g. Asia/Jakarta)"))
        rows.append(
            BranchRow(
                line,
                record.get("name", ""),
                code,
                record.get("region", ""),
                record.get("city", ""),
                record.get("address", ""),
                coordinates[0],
                coordinates[1],
                zone,
            )
        )
    if not rows and not problems:
        problems.append(RowProblem(2, "the file has no branches"))
    return rows, problems
