"""Photos: write-once rows keyed by the app's UUID, and each revision's manifest."""

from __future__ import annotations

from typing import Any

from ..db import Reader, Row, Transaction, plain, plain_rows, utcnow
from ..db.sql import placeholders
from ..photos import ProcessedPhoto
from ..visit_payload import PhotoEntry


async def get(db: Reader, photo_id: str) -> dict[str, Any] | None:
    return plain(await db.fetchone("SELECT * FROM photos WHERE id = ?", (photo_id,)))


async def in_manifest(db: Reader, visit_id: int, photo_id: str) -> dict[str, Any] | None:
    """The photo, if this visit revision's manifest lists it."""
    return plain(
        await db.fetchone(
            "SELECT p.* FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
            " WHERE vp.visit_id = ? AND vp.photo_id = ?",
            (visit_id, photo_id),
        )
    )


def conflicting(
    visit_uuid: str, entries: tuple[PhotoEntry, ...], known: dict[str, Row]
) -> list[int]:
    """Indexes of manifest entries whose photo id is already used for other content
    (``known``: the stored photos by id, as ``visits.put_context`` reads them)."""
    bad: list[int] = []
    for index, entry in enumerate(entries):
        row = known.get(entry.photo_id)
        if row is not None and (
            row["visit_uuid"] != visit_uuid
            or row["sha256"] != entry.sha256
            or row["bytes"] != entry.bytes
        ):
            bad.append(index)
    return bad


def manifest_statements(
    visit_uuid: str, revision: int, entries: tuple[PhotoEntry, ...]
) -> list[tuple[str, tuple[Any, ...]]]:
    """Record a revision's photo list (the revision's row is found by its key, so this can
    go in the same batch as its insert); photos already known (an earlier revision) are
    reused."""
    now = utcnow()
    out: list[tuple[str, tuple[Any, ...]]] = []
    for position, entry in enumerate(entries):
        out.append(
            (
                "INSERT INTO photos (id, visit_uuid, sha256, bytes, content_type,"
                " device_captured_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    entry.photo_id,
                    visit_uuid,
                    entry.sha256,
                    entry.bytes,
                    entry.content_type,
                    entry.captured_at,
                    now,
                ),
            )
        )
        out.append(
            (
                "INSERT INTO visit_photos (visit_id, photo_id, question_key, position) VALUES"
                " ((SELECT id FROM visits WHERE visit_uuid = ? AND revision = ?), ?, ?, ?)",
                (visit_uuid, revision, entry.photo_id, entry.question, position),
            )
        )
    return out


async def add_manifest(
    tx: Transaction, visit_uuid: str, revision: int, entries: tuple[PhotoEntry, ...]
) -> None:
    await tx.batch(manifest_statements(visit_uuid, revision, entries))


async def mark_received(
    tx: Transaction, photo_id: str, photo: ProcessedPhoto, original_kept: bool
) -> bool:
    """Record the bytes as stored; False when another request already did (write-once)."""
    changed = await tx.execute(
        "UPDATE photos SET received_at = ?, blob_key = sha256, width = ?, height = ?,"
        " captured_at = coalesce(?, device_captured_at), original_kept = ?"
        " WHERE id = ? AND received_at IS NULL",
        (utcnow(), photo.width, photo.height, photo.captured_at, int(original_kept), photo_id),
    )
    return changed > 0


async def manifest_status(db: Reader, visit_id: int) -> list[dict[str, Any]]:
    """Each listed photo with whether its bytes have arrived."""
    return plain_rows(
        await db.fetchall(
            "SELECT vp.photo_id, vp.question_key, p.received_at IS NOT NULL AS present"
            " FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
            " WHERE vp.visit_id = ? ORDER BY vp.position",
            (visit_id,),
        )
    )


async def visits_listing(db: Reader, photo_id: str) -> list[dict[str, Any]]:
    """Every visit revision that lists a photo, newest first (for read permission)."""
    return plain_rows(
        await db.fetchall(
            "SELECT v.* FROM visit_photos vp JOIN visits v ON v.id = vp.visit_id"
            " WHERE vp.photo_id = ? ORDER BY v.revision DESC",
            (photo_id,),
        )
    )


async def listed_with_details(db: Reader, visit_id: int) -> list[dict[str, Any]]:
    """A visit revision's photos in manifest order: id, question, whether the bytes
    arrived, size and capture time."""
    rows = await db.fetchall(
        "SELECT vp.photo_id, vp.question_key, p.received_at IS NOT NULL AS present, p.width,"
        " p.height, p.captured_at FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
        " WHERE vp.visit_id = ? ORDER BY vp.position",
        (visit_id,),
    )
    return [dict(r) for r in rows]


async def of_visits(db: Reader, visit_ids: list[int]) -> list[dict[str, Any]]:
    """The received photos of some visit rows (revisions), in a stable order: visit row,
    then question, then when taken: what a photo export puts in its archive."""
    if not visit_ids:
        return []
    return plain_rows(
        await db.fetchall(
            "SELECT vp.visit_id, vp.question_key, p.id, p.blob_key, p.captured_at"
            " FROM visit_photos vp JOIN photos p ON p.id = vp.photo_id"
            f" WHERE vp.visit_id IN ({placeholders(visit_ids)}) AND p.received_at IS NOT NULL"
            " ORDER BY vp.visit_id, coalesce(vp.question_key, ''), p.captured_at, p.id",
            visit_ids,
        )
    )
