"""Picking branches in a form, at any size: up to PICKER_MAX branches the form lists them
(a searchable list of checkboxes, static/picker.js); beyond, it takes branch codes typed
or found as you type in ``/admin/branches.json`` (the same picker, asking the server).
Either way the form sends ``branches`` (ids) and/or ``branch_codes`` (text)."""

from __future__ import annotations

import re
from typing import Any

from ..db import Database
from ..errors import ApiError
from ..i18n import _
from ..models import Branch
from ..queries import chains

PICKER_MAX = 300


async def branch_options(db: Database, chosen: frozenset[int] = frozenset()) -> dict[str, Any]:
    """What a form's branch picker shows: every branch (few), or only those chosen
    already (many: the rest are found by code or by searching)."""
    if await chains.count_branches(db) <= PICKER_MAX:
        return {"all": True, "branches": await chains.list_branches(db)}
    return {"all": False, "branches": await chains.branches_by_ids(db, sorted(chosen))}


async def picked_branches(db: Database, form: Any) -> list[int]:
    """The branches a form chose: ticked ids, and codes typed (422 for a code that names
    no branch)."""
    ids = [int(v) for v in form.getlist("branches") if str(v).isdigit()]
    codes = [c for c in re.split(r"[\s;,]+", str(form.get("branch_codes") or "")) if c]
    found, unknown = await chains.branches_by_codes(db, codes)
    if unknown:
        raise ApiError(
            422,
            "invalid",
            _("No branch has the code %(codes)s.") % {"codes": ", ".join(unknown)},
        )
    return list(dict.fromkeys([*ids, *found]))


def branch_json(branch: Branch) -> dict[str, Any]:
    return {
        "id": branch.id,
        "code": branch.code,
        "name": branch.name,
        "region": branch.region,
        "city": branch.city,
        "chain_id": branch.chain_id,
    }
