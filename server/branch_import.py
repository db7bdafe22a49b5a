"""Branches from a CSV file: every row checked, every bad row reported by its line number,
and nothing stored unless all are good.

Columns (a header row names them, in any order): name, code, region, city, address,
latitude, longitude, timezone. name, code and region are required; code is unique in the
chain; latitude/longitude are decimal degrees; timezone is an IANA name such as
Asia/Jakarta (default UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .csv_import import RowProblem, records
from .i18n import _

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


def _coordinate(text: str, low: float, high: float) -> float | None:
    value = float(text)
    if not low <= value <= high:
        raise ValueError
    return value


def check(
    record: dict[str, str], existing_codes: set[str], line: int = 0
) -> tuple[BranchRow, list[str]]:
    """One branch's fields (from a CSV row or the form), and what is wrong with them."""
    problems = []
    missing = [name for name in REQUIRED if not record.get(name)]
    if missing:
        problems.append(_("%(fields)s is required") % {"fields": ", ".join(missing)})
    code = record.get("code", "")
    if code in existing_codes:
        problems.append(_("code %(code)r is already a branch of this chain") % {"code": code})
    coordinates: list[float | None] = []
    for name, low, high in (("latitude", -90.0, 90.0), ("longitude", -180.0, 180.0)):
        value = record.get(name, "").replace(",", ".")
        try:
            coordinates.append(_coordinate(value, low, high) if value else None)
        except ValueError:
            problems.append(
                _("%(field)s must be a number from %(low)g to %(high)g")
                % {"field": name, "low": low, "high": high}
            )
            coordinates.append(float("nan"))  # bad, already reported
    if (coordinates[0] is None) != (coordinates[1] is None):
        problems.append(_("give both latitude and longitude, or neither"))
    coordinates = [None if c is not None and c != c else c for c in coordinates]
    zone = record.get("timezone") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(_("%(zone)r is not a time zone (e.g. Asia/Jakarta)") % {"zone": zone})
    row = BranchRow(
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
    return row, problems


def parse(data: bytes, existing_codes: set[str]) -> tuple[list[BranchRow], list[RowProblem]]:
    """All rows, or every problem (line numbers count the header as line 1)."""
    found, problems = records(data, COLUMNS, REQUIRED, MAX_ROWS)
    rows: list[BranchRow] = []
    seen: dict[str, int] = {}
    for line, record in found:
        row, row_problems = check(record, existing_codes, line)
        problems.extend(RowProblem(line, message) for message in row_problems)
        if row.code and row.code in seen and row.code not in existing_codes:
            problems.append(
                RowProblem(
                    line,
                    _("code %(code)r is also on line %(line)d")
                    % {"code": row.code, "line": seen[row.code]},
                )
            )
        seen.setdefault(row.code, line)
        rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(2, _("the file has no branches")))
    return rows, problems
