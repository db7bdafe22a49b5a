"""Reading back an outbox file that the shopper app exported ("Export to a file"): the
agency's way to recover visits from a phone that cannot sync (``visitscore import-outbox``
and the admins' page ``/admin/outbox-import``).

Each visit goes through the same path as a sync (``server/intake.py``) under the
assignment's shopper: it keeps its id and revision, a visit already here is not stored
twice, and each photo is checked against the SHA-256 and size in the visit's photo list
before it is stored. The answer says what happened to each visit.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import os
import tempfile
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import intake
from .db import Conflict, Database
from .errors import ApiError
from .i18n import _, ngettext
from .photo_store import PhotoStore
from .queries import assignments, audit, users, visits
from .settings import Settings
from .visit_payload import is_uuid, parse

FORMAT = "visitscore-outbox"
READABLE_VERSIONS = (1,)
MAX_FILE_BYTES = 512 * 1024 * 1024
"""The largest file read (a phone's outbox with its photos, base64: a few hundred visits)."""


class FileProblem(Exception):
    """The file as a whole cannot be read as an outbox file."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one visit of the file."""

    visit_id: str
    title: str
    status: str  # "stored", "already there", "refused", "left out"
    why: str = ""

    @property
    def refused(self) -> bool:
        return self.status == "refused"

    def line(self) -> str:
        where = f" ({self.title})" if self.title else ""
        said = status_word(self.status)
        return f"{self.visit_id}{where}: {said}" + (f": {self.why}" if self.why else "")


def status_word(status: str) -> str:
    """An outcome's status in the reader's language."""
    return {
        "stored": _("stored"),
        "already there": _("already there"),
        "refused": _("refused"),
        "left out": _("left out"),
    }[status]


@dataclass
class Tools:
    """Where the visits and photos go: the same database, photo store, image threads and
    scratch folder that a sync uses."""

    db: Database
    store: PhotoStore
    pool: Executor
    scratch: Path
    settings: Settings


def read_document(raw: bytes) -> dict[str, Any]:
    """The file's JSON, checked for the outbox format; FileProblem says why not."""
    if len(raw) > MAX_FILE_BYTES:
        raise FileProblem(_("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES >> 20})
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileProblem(_("This is not a JSON file: %(why)s") % {"why": exc}) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise FileProblem(_("This is not an outbox file exported by the Visitscore app."))
    if document.get("version") not in READABLE_VERSIONS:
        raise FileProblem(
            _("This outbox file's version (%(v)s) is not one this server reads.")
            % {"v": document.get("version")}
        )
    for key in ("visits", "drafts", "photos"):
        if not isinstance(document.get(key, []), list):
            raise FileProblem(_("The file's %(key)s must be a list.") % {"key": key})
    return document


async def import_document(
    tools: Tools, document: dict[str, Any], actor_id: int | None, source: str
) -> list[Outcome]:
    """Import every visit of a checked document, one transaction each, in the file's
    order; drafts (never submitted on the phone) are left out and listed."""
    photos = {
        entry["photo_id"]: entry
        for entry in document.get("photos", [])
        if isinstance(entry, dict) and isinstance(entry.get("photo_id"), str)
    }
    outcomes = [
        await _import_visit(tools, item, photos, actor_id, source)
        for item in document.get("visits", [])
    ]
    for draft in document.get("drafts", []):
        if isinstance(draft, dict):
            outcomes.append(
                Outcome(
                    str(draft.get("visit_id", "?")),
                    str(draft.get("branch_name") or ""),
                    "left out",
                    _("a visit still being recorded, never submitted on the phone"),
                )
            )
    return outcomes


async def _import_visit(
    tools: Tools,
    item: Any,
    photos: dict[str, dict[str, Any]],
    actor_id: int | None,
    source: str,
) -> Outcome:
    if not isinstance(item, dict) or not is_uuid(item.get("visit_id")):
        return Outcome("?", "", "refused", _("an entry without a visit id"))
    visit_id = str(item["visit_id"])
    title = str(item.get("title") or "")

    def refused(why: str) -> Outcome:
        return Outcome(visit_id, title, "refused", why)

    payload, problems = parse(item.get("body"), tools.settings.max_photo_bytes)
    if payload is None:
        first = problems[0]
        return refused(f"{first.path or 'body'}: {first.message}")
    assignment = await assignments.get(tools.db, payload.assignment_id)
    if assignment is None or assignment.shopper_id is None:
        return refused(
            _("assignment %(id)s is not on this server with a shopper")
            % {"id": payload.assignment_id}
        )
    owner = item.get("owner")
    if owner is not None and owner != assignment.shopper_id:
        return refused(_("recorded by another shopper than the assignment's"))
    shopper = await users.get(tools.db, assignment.shopper_id)
    assert shopper is not None, "an assignment's shopper is a user"
    details = {"revision": payload.revision, "file": source}
    try:
        async with tools.db.transaction() as tx:
            created = await intake.store_visit(
                tx,
                shopper,
                visit_id,
                payload,
                tools.settings,
                extra=[audit.entry(actor_id, "visit.imported", "visit", visit_id, details)],
            )
    except ApiError as exc:
        return refused(exc.message)
    except Conflict:
        return refused(_("This visit or its assignment was already recorded differently."))
    photo_problems = []
    for entry in payload.photos:
        found = photos.get(entry.photo_id)
        if found is None:
            continue  # not in the file: already sent from the phone, or still to come
        problem = await _import_photo(tools, found, entry.photo_id, visit_id, shopper.id)
        if problem:
            photo_problems.append(f"{entry.photo_id}: {problem}")
    row = await visits.latest(tools.db, visit_id)
    assert row is not None
    missing = len((await visits.status(tools.db, row))["photos_missing"])
    status = "stored" if created else "already there"
    if photo_problems:
        return refused(
            _("the visit is %(status)s, but photos were refused: %(why)s")
            % {"status": status_word(status), "why": "; ".join(photo_problems)}
        )
    if missing:
        return Outcome(
            visit_id,
            title,
            status,
            ngettext(
                "waiting for %(num)s photo that the file does not hold",
                "waiting for %(num)s photos that the file does not hold",
                missing,
            )
            % {"num": missing},
        )
    return Outcome(visit_id, title, status)


async def _import_photo(
    tools: Tools, found: dict[str, Any], photo_id: str, visit_id: str, shopper_id: int
) -> str | None:
    """Store one photo of the file; answers why not, or None."""
    try:
        data = base64.b64decode(str(found.get("data_base64", "")), validate=True)
    except (binascii.Error, ValueError):
        return _("its bytes are not valid base64")
    loop = asyncio.get_running_loop()
    path = await loop.run_in_executor(tools.pool, _spill, tools.scratch, data)
    try:
        received = (path, hashlib.sha256(data).hexdigest(), len(data))
        await intake.store_photo(
            tools.db,
            tools.store,
            tools.pool,
            tools.settings,
            received,
            photo_id,
            visit_id,
            shopper_id,
        )
    except ApiError as exc:
        return exc.message
    finally:
        await loop.run_in_executor(tools.pool, _discard, path)
    return None


def _spill(folder: Path, data: bytes) -> Path:
    """A photo's bytes in a file of this worker's scratch folder (off the event loop)."""
    fd, name = tempfile.mkstemp(prefix="import-", dir=folder)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
