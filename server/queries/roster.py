"""The shopper roster: each shopper's profile and state, their visit quality (the rule is
in server/quality.py), and the roster list, searched, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .. import quality, shopper_profile
from ..db import Reader, Transaction, plain_rows, utcnow
from ..db.sql import placeholders
from ..scoring import parse_stamp
from . import audit

STATES = shopper_profile.STATES
PROFILE_FIELDS = (
    "state",
    "phone",
    "languages",
    "home_city",
    "home_region",
    "home_lat",
    "home_lon",
    "note",
)
PER_PAGE = 50

# Only an active shopper (or one with no profile yet) is given or claims visits: the one
# place that rule is written, for shopper ``:shopper``.
ACTIVE = (
    "NOT EXISTS (SELECT 1 FROM shopper_profiles sp WHERE sp.user_id = :shopper"
    " AND sp.state <> 'active')"
)


async def profile(db: Reader, user_id: int) -> dict[str, Any]:
    """A shopper's profile (empty fields and ``active`` when none was kept yet)."""
    rows = plain_rows(
        await db.fetchall("SELECT * FROM shopper_profiles WHERE user_id = ?", (user_id,))
    )
    if rows:
        return rows[0]
    return {"user_id": user_id, "state": "active", **dict.fromkeys(PROFILE_FIELDS[1:])}


async def is_active(db: Reader, user_id: int) -> bool:
    row = await db.fetchone(f"SELECT {ACTIVE} AS active", {"shopper": user_id})
    return bool(row and row["active"])


async def save_profile(
    tx: Transaction, user_id: int, values: dict[str, Any], actor_id: int | None
) -> None:
    """Keep a shopper's profile (every field of PROFILE_FIELDS), with its audit row."""
    fields = [values.get(name) for name in PROFILE_FIELDS]
    await tx.execute(
        "INSERT INTO shopper_profiles (user_id, state, phone, languages, home_city,"
        " home_region, home_lat, home_lon, note, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
        " state = excluded.state, phone = excluded.phone, languages = excluded.languages,"
        " home_city = excluded.home_city, home_region = excluded.home_region,"
        " home_lat = excluded.home_lat, home_lon = excluded.home_lon, note = excluded.note,"
        " updated_at = excluded.updated_at",
        (user_id, *fields, utcnow()),
    )
    await audit.record(
        tx, actor_id, "shopper.profile", "user", user_id, {"state": values.get("state")}
    )


async def outcomes(db: Reader, shopper_ids: list[int]) -> dict[int, list[quality.VisitOutcome]]:
    """What became of each visit the shoppers started in the last WINDOW_DAYS (all
    revisions taken together): one index range per shopper, however long they worked."""
    if not shopper_ids:
        return {}
    since = (datetime.now(UTC) - timedelta(days=quality.WINDOW_DAYS)).isoformat()
    rows = await db.fetchall(
        "SELECT v.shopper_id, v.visit_uuid, v.revision, v.state, v.quality_rating,"
        " v.started_utc, EXISTS (SELECT 1 FROM appeals a WHERE a.visit_id = v.id"
        "  AND a.decision IN ('upheld', 'partly_upheld')) AS upheld"
        f" FROM visits v WHERE v.shopper_id IN ({placeholders(shopper_ids)})"
        " AND v.started_utc >= ? AND v.state <> 'incomplete' ORDER BY v.visit_uuid, v.revision",
        [*shopper_ids, since],
    )
    visits: dict[tuple[int, str], list[Any]] = {}
    for r in rows:
        visits.setdefault((r["shopper_id"], r["visit_uuid"]), []).append(r)
    out: dict[int, list[quality.VisitOutcome]] = {i: [] for i in shopper_ids}
    for (shopper, _), revisions in visits.items():
        ratings = [r["quality_rating"] for r in revisions if r["quality_rating"] is not None]
        states = {r["state"] for r in revisions}
        out[shopper].append(
            quality.VisitOutcome(
                started=parse_stamp(revisions[0]["started_utc"]),
                rating=ratings[-1] if ratings else None,
                returned="returned" in states,
                rejected=revisions[-1]["state"] == "rejected",
                upheld=any(r["upheld"] for r in revisions),
                decided=bool(states & {"approved", "returned", "rejected"}),
            )
        )
    return out


async def quality_of(db: Reader, shopper_ids: list[int]) -> dict[int, dict[str, Any]]:
    now = datetime.now(UTC)
    return {
        shopper: quality.summary(found, now)
        for shopper, found in (await outcomes(db, shopper_ids)).items()
    }


def _where(
    search: str, state: str | None, region: str | None, qualification: int | None
) -> tuple[str, dict[str, Any]]:
    clauses = ["u.role = 'shopper'"]
    params: dict[str, Any] = {}
    if search:
        clauses.append(
            "(lower(u.name) LIKE :q OR lower(u.email) LIKE :q OR lower(coalesce(p.home_city, ''))"
            " LIKE :q OR coalesce(p.phone, '') LIKE :q)"
        )
        params["q"] = f"%{search.lower()}%"
    if state == "active":
        clauses.append("coalesce(p.state, 'active') = 'active'")
    elif state:
        clauses.append("p.state = :state")
        params["state"] = state
    if region:
        clauses.append("p.home_region = :region")
        params["region"] = region
    if qualification is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM shopper_qualifications sq WHERE sq.user_id = u.id"
            " AND sq.qualification_id = :qualification"
            " AND (sq.expires_on IS NULL OR sq.expires_on >= :today))"
        )
        params["qualification"], params["today"] = qualification, utcnow()[:10]
    return " AND ".join(clauses), params


_ROSTER_FROM = " FROM users u LEFT JOIN shopper_profiles p ON p.user_id = u.id"


async def roster(
    db: Reader,
    search: str = "",
    state: str | None = None,
    region: str | None = None,
    qualification: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of shoppers by name with their profile and quality, and how many match."""
    where, params = _where(search, state, region, qualification)
    total = await db.fetchone(f"SELECT count(*){_ROSTER_FROM} WHERE {where}", params)
    rows = plain_rows(
        await db.fetchall(
            "SELECT u.id, u.name, u.email, u.active, coalesce(p.state, 'active') AS state,"
            f" p.phone, p.languages, p.home_city, p.home_region{_ROSTER_FROM} WHERE {where}"
            " ORDER BY u.name, u.id LIMIT :limit OFFSET :offset",
            {**params, "limit": limit or PER_PAGE, "offset": offset},
        )
    )
    found = await quality_of(db, [r["id"] for r in rows])
    return [{**r, "quality": found[r["id"]]} for r in rows], int(total[0]) if total else 0


async def active_shoppers(db: Reader, limit: int = 100_000) -> list[dict[str, Any]]:
    """Shoppers who may be given visits (active account and state), by name."""
    return plain_rows(
        await db.fetchall(
            f"SELECT u.id, u.name, u.email{_ROSTER_FROM} WHERE u.role = 'shopper' AND u.active = 1"
            " AND coalesce(p.state, 'active') = 'active' ORDER BY u.name, u.id LIMIT ?",
            (limit,),
        )
    )


async def regions(db: Reader) -> list[str]:
    rows = await db.fetchall(
        "SELECT DISTINCT home_region FROM shopper_profiles WHERE home_region IS NOT NULL"
        " ORDER BY home_region"
    )
    return [r[0] for r in rows]
