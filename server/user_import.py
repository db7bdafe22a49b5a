"""People from a CSV file: every row checked, every bad row reported by its line number,
and nobody added unless all rows are good (like branches: server/branch_import.py).

Columns (a header row names them, in any order): email, name, role (required); locale
(en, id or fr); branches (an owner's branch codes, or chain/code where a code is in
several chains, separated by spaces or ";"); chains (a manager's chain codes); and for
shoppers their profile: phone, languages, home_city, home_region, home_lat, home_lon,
state (applicant, active, paused or left; default active). Everyone added is invited by
e-mail to choose a password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import shopper_profile
from .csv_import import RowProblem, records
from .i18n import SUPPORTED, _
from .models import ROLES

COLUMNS = (
    "email",
    "name",
    "role",
    "locale",
    "branches",
    "chains",
    "phone",
    "languages",
    "home_city",
    "home_region",
    "home_lat",
    "home_lon",
    "state",
)
REQUIRED = ("email", "name", "role")
PROFILE = ("phone", "languages", "home_city", "home_region", "home_lat", "home_lon", "state")
MAX_ROWS = 10_000
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Known:
    """What the rows are checked against: addresses taken (lower case), branch ids by
    code and by chain/code, chain ids by code."""

    emails: set[str]
    branches: dict[str, list[int]]
    chains: dict[str, int]


@dataclass(frozen=True)
class UserRow:
    line: int
    email: str
    name: str
    role: str
    locale: str | None
    branch_ids: list[int] = field(default_factory=list)
    chain_ids: list[int] = field(default_factory=list)
    profile: dict[str, Any] | None = None


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[;\s]+", text.strip()) if c]


def check(record: dict[str, str], known: Known, line: int) -> tuple[UserRow, list[str]]:
    problems: list[str] = []
    missing = [name for name in REQUIRED if not record.get(name)]
    if missing:
        problems.append(_("%(fields)s is required") % {"fields": ", ".join(missing)})
    email, role = record.get("email", ""), record.get("role", "").lower()
    if email and not EMAIL.fullmatch(email):
        problems.append(_("%(email)r is not an e-mail address") % {"email": email})
    elif email.lower() in known.emails:
        problems.append(_("someone already has the address %(email)s") % {"email": email})
    if role and role not in ROLES:
        problems.append(_("role must be one of %(roles)s") % {"roles": ", ".join(ROLES)})
    locale = record.get("locale", "").lower() or None
    if locale is not None and locale not in SUPPORTED:
        problems.append(_("locale must be en, id or fr"))
    branch_ids: list[int] = []
    for code in _codes(record.get("branches", "")):
        found = known.branches.get(code, [])
        if len(found) != 1:
            problems.append(
                (
                    _("no branch has the code %(code)r")
                    if not found
                    else _("%(code)r is a branch code in several chains: write chain/code")
                )
                % {"code": code}
            )
        else:
            branch_ids.append(found[0])
    chain_ids: list[int] = []
    for code in _codes(record.get("chains", "")):
        if code in known.chains:
            chain_ids.append(known.chains[code])
        else:
            problems.append(_("no chain has the code %(code)r") % {"code": code})
    if branch_ids and role != "owner":
        problems.append(_("only owners have branches"))
    if chain_ids and role != "manager":
        problems.append(_("only managers have chains"))
    if role == "owner" and not branch_ids:
        problems.append(_("an owner needs at least one branch"))
    if role == "manager" and not chain_ids:
        problems.append(_("a manager needs at least one chain"))
    profile = None
    if any(record.get(name) for name in PROFILE):
        if role != "shopper":
            problems.append(_("only shoppers have a phone, languages, a home or a state"))
        else:
            profile, wrong = shopper_profile.read(record)
            problems.extend(wrong)
    elif role == "shopper":
        profile = shopper_profile.read({})[0]
    row = UserRow(
        line,
        email,
        " ".join(record.get("name", "").split()),
        role,
        locale,
        branch_ids,
        chain_ids,
        profile,
    )
    return row, problems


def parse(data: bytes, known: Known) -> tuple[list[UserRow], list[RowProblem]]:
    """All rows, or every problem (line numbers count the header as line 1)."""
    found, problems = records(data, COLUMNS, REQUIRED, MAX_ROWS)
    rows: list[UserRow] = []
    seen: dict[str, int] = {}
    for line, record in found:
        row, row_problems = check(record, known, line)
        problems.extend(RowProblem(line, message) for message in row_problems)
        address = row.email.lower()
        if address and address in seen:
            problems.append(
                RowProblem(
                    line,
                    _("%(email)s is also on line %(line)d")
                    % {"email": row.email, "line": seen[address]},
                )
            )
        seen.setdefault(address, line)
        rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(2, _("the file has no people")))
    return rows, problems
