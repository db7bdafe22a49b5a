"""Chains and their branches."""

from __future__ import annotations

from ..branch_import import BranchRow
from ..db import Reader, Transaction, utcnow
from ..db.sql import placeholders
from ..models import Branch, Chain
from . import audit


async def create_chain(tx: Transaction, code: str, name: str, actor_id: int | None = None) -> int:
    chain_id = await tx.insert(
        "INSERT INTO chains (code, name, created_at) VALUES (?, ?, ?)", (code, name, utcnow())
    )
    await audit.record(tx, actor_id, "chain.created", "chain", chain_id, {"code": code})
    return chain_id


async def create_branch(
    tx: Transaction,
    *,
    chain_id: int,
    code: str,
    name: str,
    region: str,
    city: str = "",
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    timezone: str = "UTC",
) -> int:
    return await tx.insert(
        "INSERT INTO branches (chain_id, code, name, region, city, address, latitude,"
        " longitude, timezone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (chain_id, code, name, region, city, address, latitude, longitude, timezone, utcnow()),
    )


async def get_chain(db: Reader, chain_id: int) -> Chain | None:
    row = await db.fetchone("SELECT * FROM chains WHERE id = ?", (chain_id,))
    return Chain.from_row(row) if row else None


async def find_chain(db: Reader, id_or_code: str) -> Chain | None:
    row = await db.fetchone(
        "SELECT * FROM chains WHERE code = ? OR CAST(id AS TEXT) = ?", (id_or_code, id_or_code)
    )
    return Chain.from_row(row) if row else None


async def find_branch(db: Reader, id_or_code: str) -> Branch | None:
    row = await db.fetchone(
        "SELECT * FROM branches WHERE code = ? OR CAST(id AS TEXT) = ? ORDER BY id LIMIT 1",
        (id_or_code, id_or_code),
    )
    return Branch.from_row(row) if row else None


async def get_branch(db: Reader, branch_id: int) -> Branch | None:
    row = await db.fetchone("SELECT * FROM branches WHERE id = ?", (branch_id,))
    return Branch.from_row(row) if row else None


async def list_chains(db: Reader, chain_ids: frozenset[int] | None = None) -> list[Chain]:
    """All chains, or only those given (None means all)."""
    rows = await db.fetchall("SELECT * FROM chains ORDER BY name")
    return [Chain.from_row(r) for r in rows if chain_ids is None or r["id"] in chain_ids]


async def list_branches(
    db: Reader,
    *,
    chain_ids: frozenset[int] | None = None,
    branch_ids: frozenset[int] | None = None,
) -> list[Branch]:
    """Active branches, narrowed to some chains and/or some branches (None: no narrowing)."""
    rows = await db.fetchall("SELECT * FROM branches WHERE active = 1 ORDER BY region, name")
    return [
        Branch.from_row(r)
        for r in rows
        if (chain_ids is None or r["chain_id"] in chain_ids)
        and (branch_ids is None or r["id"] in branch_ids)
    ]


BRANCHES_PER_PAGE = 50


async def search_branches(
    db: Reader,
    text: str = "",
    chain_id: int | None = None,
    region: str | None = None,
    offset: int = 0,
    limit: int | None = None,
    chain_ids: frozenset[int] | None = None,
) -> tuple[list[Branch], int]:
    """A page of active branches by region and name (name, code or city containing
    ``text``, of a chain, in a region), and how many match."""
    clauses, params = ["active = 1"], {}  # type: ignore[var-annotated]
    if text:
        clauses.append("(lower(name) LIKE :q OR lower(code) LIKE :q OR lower(city) LIKE :q)")
        params["q"] = f"%{text.lower()}%"
    if chain_id is not None:
        clauses.append("chain_id = :chain")
        params["chain"] = chain_id
    if chain_ids is not None:  # a manager's chains
        marks = ", ".join(f":c{n}" for n in range(len(chain_ids))) or "NULL"
        clauses.append(f"chain_id IN ({marks})")
        params |= {f"c{n}": c for n, c in enumerate(sorted(chain_ids))}
    if region:
        clauses.append("region = :region")
        params["region"] = region
    where = " AND ".join(clauses)
    total = await db.fetchone(f"SELECT count(*) FROM branches WHERE {where}", params)
    rows = await db.fetchall(
        f"SELECT * FROM branches WHERE {where} ORDER BY region, name, id"
        " LIMIT :limit OFFSET :offset",
        {**params, "limit": limit or BRANCHES_PER_PAGE, "offset": offset},
    )
    return [Branch.from_row(r) for r in rows], int(total[0]) if total else 0


async def count_branches(db: Reader) -> int:
    row = await db.fetchone("SELECT count(*) FROM branches WHERE active = 1")
    return int(row[0]) if row else 0


async def branches_by_ids(db: Reader, ids: list[int]) -> list[Branch]:
    if not ids:
        return []
    rows = await db.fetchall(
        f"SELECT * FROM branches WHERE id IN ({placeholders(ids)}) ORDER BY name", ids
    )
    return [Branch.from_row(r) for r in rows]


async def branches_by_codes(db: Reader, codes: list[str]) -> tuple[list[int], list[str]]:
    """Active branches named by code, or chain/code where a code is in several chains:
    (their ids, the codes that name no single branch)."""
    found: list[int] = []
    unknown: list[str] = []
    for code in codes:
        chain, _, branch = code.rpartition("/")
        rows = await db.fetchall(
            "SELECT b.id FROM branches b JOIN chains c ON c.id = b.chain_id"
            " WHERE b.active = 1 AND b.code = ? AND (? = '' OR c.code = ?)",
            (branch, chain, chain),
        )
        if len(rows) == 1:
            found.append(rows[0][0])
        else:
            unknown.append(code)
    return found, unknown


async def regions(db: Reader) -> list[str]:
    rows = await db.fetchall("SELECT DISTINCT region FROM branches WHERE active = 1 ORDER BY 1")
    return [r[0] for r in rows]


async def branch_codes(db: Reader, chain_id: int) -> set[str]:
    """Every branch code of a chain, deactivated branches included (codes stay unique)."""
    rows = await db.fetchall("SELECT code FROM branches WHERE chain_id = ?", (chain_id,))
    return {r[0] for r in rows}


async def add_branches(
    tx: Transaction, chain_id: int, rows: list[BranchRow], actor_id: int | None, source: str
) -> None:
    """Store checked branches (a CSV file or one form) and audit them, in one transaction."""
    for row in rows:
        await create_branch(
            tx,
            chain_id=chain_id,
            code=row.code,
            name=row.name,
            region=row.region,
            city=row.city,
            address=row.address,
            latitude=row.latitude,
            longitude=row.longitude,
            timezone=row.timezone,
        )
    await audit.record(
        tx, actor_id, "branches.added", "chain", chain_id, {"branches": len(rows), "from": source}
    )


async def branch_counts(db: Reader) -> dict[int, int]:
    rows = await db.fetchall("SELECT chain_id, count(*) FROM branches GROUP BY chain_id")
    return {r[0]: r[1] for r in rows}


async def update_branch(tx: Transaction, branch_id: int, row: BranchRow, actor_id: int) -> None:
    """New details for a branch; its visits, assignments and owners stay attached."""
    await tx.execute(
        "UPDATE branches SET code = ?, name = ?, region = ?, city = ?, address = ?,"
        " latitude = ?, longitude = ?, timezone = ? WHERE id = ?",
        (
            row.code,
            row.name,
            row.region,
            row.city,
            row.address,
            row.latitude,
            row.longitude,
            row.timezone,
            branch_id,
        ),
    )
    await audit.record(tx, actor_id, "branch.updated", "branch", branch_id, {"code": row.code})
