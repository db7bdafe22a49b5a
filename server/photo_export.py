"""The photo export: every photo of the approved visits of some branches in a period, as
one ZIP (a background job). Photos go in in order (day, branch, visit, question), each
read from the photo store and written straight into the archive on disk (stored, not
compressed again: they are JPEGs), so neither the archive nor more than one photo is
ever held in memory; an ``index.csv`` says which visit and question each file is of.
The download is served from the store in chunks, like the visits exports."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path
from typing import Any

from . import csv_export, exports, jobs
from .i18n import _, activate, deactivate
from .models import Branch
from .photo_store import BlobMissing, export_name
from .photos import blob_name
from .queries import jobs as queue
from .queries import photos as photo_queries
from .queries import visits

KIND = exports.PHOTOS_KIND
PAGE = 200


async def request(
    db: Any,
    *,
    user_id: int,
    chain_id: int,
    branches: list[Branch],
    first_day: str,
    end_day: str | None,
    locale: str,
) -> int:
    """Queue the export of these branches' photos (a new job each time: photos are big,
    and asking twice is rare)."""
    params = {
        "chain_id": chain_id,
        "branch_ids": sorted(b.id for b in branches),
        "format": "zip",
        "first_day": first_day,
        "end_day": end_day,
        "locale": locale,
    }
    async with db.transaction() as tx:
        return await queue.enqueue(tx, KIND, params, actor_id=user_id)


@jobs.kind(KIND)
async def run(context: jobs.JobContext) -> dict[str, Any]:
    params = context.params
    db = context.db
    _chain, branches = await exports.job_branches(context)
    by_id = {b.id: b for b in branches}
    total = await visits.count_approved(db, list(by_id), params["first_day"], params["end_day"])
    await context.progress(0, total, await queue.data_stamp(db))
    path = await exports.scratch_file(context, "photos-", ".zip")
    token = activate(params.get("locale") or "en")
    try:
        files, done = await _write(context, path, by_id, params, total)
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise
    finally:
        deactivate(token)
    size = (await asyncio.to_thread(path.stat)).st_size
    stored = export_name(context.id, context.attempt, "zip")
    await context.store.put_file(stored, path, "application/zip")  # the folder store moves it
    await asyncio.to_thread(path.unlink, True)
    return {"file": stored, "rows": done, "photos": files, "bytes": size}


async def _write(
    context: jobs.JobContext,
    path: Path,
    by_id: dict[int, Branch],
    params: dict[str, Any],
    total: int,
) -> tuple[int, int]:
    """Write the archive; answers (photos written, visits read)."""
    index = csv_export.Writer()
    index.row([_("File"), _("Visit"), _("Date"), _("Branch"), _("Code"), _("Question")])
    archive = await asyncio.to_thread(zipfile.ZipFile, path, "w", zipfile.ZIP_STORED)
    files = done = 0
    try:
        after = (params["first_day"], 0)
        while True:
            page = await visits.approved_page(
                context.db, list(by_id), after=after, before_day=params["end_day"], limit=PAGE
            )
            if not page:
                break
            after = (page[-1]["local_date"], page[-1]["id"])
            photos = await photo_queries.of_visits(context.db, [row["id"] for row in page])
            of_visit: dict[int, list[dict[str, Any]]] = {}
            for photo in photos:
                of_visit.setdefault(photo["visit_id"], []).append(photo)
            for row in page:
                branch = by_id[row["branch_id"]]
                for n, photo in enumerate(of_visit.get(row["id"], []), start=1):
                    entry = f"{row['local_date']}/{branch.code}/{row['visit_uuid']}-{n}.jpg"
                    try:
                        data = await context.store.get(blob_name(photo["blob_key"], "display"))
                    except BlobMissing:
                        entry = ""  # recorded but gone from the store: listed without a file
                    else:
                        await asyncio.to_thread(archive.writestr, entry, data)
                        files += 1
                    index.row(
                        [
                            entry,
                            row["visit_uuid"],
                            row["local_date"],
                            branch.name,
                            branch.code,
                            photo["question_key"] or "",
                        ]
                    )
            done += len(page)
            await context.progress(done, max(total, done))
        await asyncio.to_thread(archive.writestr, "index.csv", index.take())
    finally:
        await asyncio.to_thread(archive.close)
    return files, done
