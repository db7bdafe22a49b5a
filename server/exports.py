"""The visits export: every approved visit of a chain's branches (those its reader may
see, of one region if asked), one row per visit with its local day and time, its
questionnaire and version, its section and question scores, every answer in the
reader's language ("2 of 3 tills", "Resolved") and the comments; as CSV, JSON or XLSX.
CSV for French and Indonesian readers uses ``;`` and a decimal comma, as their
spreadsheets expect (a comma file opens in one column there).

Two ways to get it, one set of rows: streamed straight away (``/chains/{id}/visits.csv``,
for scripts and small chains), or made by a background job (``POST
/chains/{id}/exports``) that reports its progress and leaves a file to download. A file
is reused while nothing new was approved (nor a branch or questionnaire changed): the
same request then answers with the finished file at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import xlsxwriter

from . import csv_export, jobs, reports, visit_record
from .i18n import _, activate, current_locale, deactivate
from .models import Branch, Chain
from .photo_store import PhotoStore, export_name
from .queries import chains, questionnaires, visits
from .queries import jobs as queue
from .question_types import TYPES
from .questionnaire import Definition, Question, is_scored, iter_questions, localized
from .scoring import stored

KIND = "visits_export"
PHOTOS_KIND = "photos_export"  # server/photo_export.py: the same pages show and serve it
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json", "xlsx": XLSX}
FILE_TYPES = {**FORMATS, "zip": "application/zip"}
PAGE = 500
SEMICOLON_LOCALES = ("fr", "id")
"""Readers whose spreadsheets expect ``;`` between CSV cells and a decimal comma."""


def csv_style(locale: str) -> tuple[str, str]:
    """(cell separator, decimal mark) of a CSV file for a reader of ``locale``."""
    return (";", ",") if locale in SEMICOLON_LOCALES else (",", ".")


def xlsx_book(path: Path) -> Any:
    """A workbook written row by row to disk (constant memory); text stays text (a
    cell starting with "=" is not a formula, nor a link, nor a number)."""
    return xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )


@dataclass
class VisitsExport:
    """What one export reads: a chain, the branches its reader may see, the days."""

    chain: Chain
    branches: list[Branch]
    first_day: str
    end_day: str | None
    definition: Definition
    questions: list[Question]  # the scored ones: a score column each
    answered: list[Question]  # those that take an answer: an answer column each

    async def pages(self, db: Any) -> AsyncIterator[Callable[[], list[dict[str, Any]]]]:
        """The visits day by day, read in pages of :data:`PAGE`. Each page comes as a
        function that makes its rows: CPU work the caller runs off the event loop."""
        by_id = {b.id: b for b in self.branches}
        versions: dict[tuple[str, int], Definition] = {}
        after = (self.first_day, 0)
        while True:
            page = await visits.approved_page(
                db, list(by_id), after=after, before_day=self.end_day, limit=PAGE
            )
            if not page:
                return
            after = (page[-1]["local_date"], page[-1]["id"])
            for row in page:  # each visit's scores are read against its own version
                version = (row["questionnaire_id"], row["questionnaire_version"])
                if version not in versions:
                    versions[version] = await questionnaires.get_published(db, *version) or {}
            yield partial(_rows, page, by_id, self, versions, current_locale())

    async def count(self, db: Any) -> int:
        return await visits.count_approved(
            db, [b.id for b in self.branches], self.first_day, self.end_day
        )

    async def at_least(self, db: Any, rows: int) -> bool:
        """Whether it holds ``rows`` visits or more (reads no more than that many)."""
        found = await visits.count_approved(
            db, [b.id for b in self.branches], self.first_day, self.end_day, at_most=rows
        )
        return found >= rows

    def csv_header(self, locale: str) -> list[str]:
        """The columns (CSV and XLSX): the first ones as they always were (scripts read
        them), then the visit's time and questionnaire, every answer, the comments."""
        texts = [localized(q.get("text"), locale) for q in self.answered]
        seen: dict[str, int] = {}
        for text in texts:
            seen[text] = seen.get(text, 0) + 1
        return [
            _("Visit"),
            _("Date"),
            _("Branch"),
            _("Code"),
            _("Region"),
            _("Score"),
            *[localized(s.get("title"), locale) for s in self.definition["sections"]],
            *[q["key"] for q in self.questions],
            _("Time"),
            _("Questionnaire"),
            _("Version"),
            *[
                f"{text} ({q['key']})" if seen[text] > 1 else text
                for text, q in zip(texts, self.answered, strict=True)
            ],
            _("Comments on answers"),
            _("Visit comment"),
        ]

    def json_head(self) -> str:
        return '{"chain": ' + json.dumps(self.chain.to_api()) + ', "visits": ['


async def prepare(
    db: Any,
    chain: Chain,
    branches: list[Branch],
    first_day: str,
    end_day: str | None,
    region: str = "",
) -> VisitsExport:
    """The export of these branches (of ``region`` only, when given) and days."""
    definition, _default_keys = await questionnaires.report_definition(db)
    questions = [q for _s, q in iter_questions(definition) if is_scored(q)]
    answered = [q for _s, q in iter_questions(definition) if TYPES[q["type"]].takes_value]
    shown = [b for b in branches if not region or b.region == region]
    return VisitsExport(chain, shown, first_day, end_day, definition, questions, answered)


def cells(visit: dict[str, Any], decimal: str | None = None) -> list[Any]:
    """One visit's row of cells (CSV and XLSX), as the header names them; numbers as
    numbers, or as text with ``decimal`` as the mark (a CSV for its reader)."""

    def number(value: float | None) -> Any:
        kept = _number(value)
        return str(kept).replace(".", decimal) if decimal and kept != "" else kept

    return [
        visit["visit_id"],
        visit["date"],
        visit["branch"]["name"],
        visit["branch"]["code"],
        visit["branch"]["region"],
        number(visit["total"]),
        *[number(v) for v in visit["sections"].values()],
        *[number(v) for v in visit["questions"].values()],
        visit["time"],
        visit["questionnaire"]["id"],
        visit["questionnaire"]["version"],
        *[a["text"] for a in visit["answers"].values()],
        " | ".join(
            f"{a['question']}: {a['comment']}" for a in visit["answers"].values() if a["comment"]
        ),
        visit["comment"],
    ]


def csv_text(writer: csv_export.Writer, rows: list[dict[str, Any]], decimal: str = ".") -> str:
    for visit in rows:
        writer.row(cells(visit, decimal))
    return writer.take()


def json_text(rows: list[dict[str, Any]]) -> str:
    return ",".join(json.dumps(visit) for visit in rows)


def _number(value: float | None) -> float | str:
    return "" if value is None else round(value, 1)


def _rows(
    page: list[dict[str, Any]],
    by_id: dict[int, Branch],
    export: VisitsExport,
    versions: dict[tuple[str, int], Definition],
    locale: str,
) -> list[dict[str, Any]]:
    token = activate(locale)  # a worker thread: answers in the reader's language
    try:
        return [_row(row, by_id, export, versions, locale) for row in page]
    finally:
        deactivate(token)


def _row(
    row: dict[str, Any],
    by_id: dict[int, Branch],
    export: VisitsExport,
    versions: dict[tuple[str, int], Definition],
    locale: str,
) -> dict[str, Any]:
    version = versions[(row["questionnaire_id"], row["questionnaire_version"])]
    kept = stored(version, json.loads(row["scores"])) if row["scores"] else None
    section_score = kept.sections if kept else {}
    question_score = kept.questions if kept else {}
    branch = by_id[row["branch_id"]]
    given = visit_record.unpack_answers(row["answers"]) if row["answers"] else {}
    # Each answer is read against the visit's own version of its question.
    own = {q["key"]: q for _s, q in iter_questions(version)}
    answers = {}
    for q in export.answered:
        asked = own.get(q["key"])
        answer = given.get(q["key"])
        answers[q["key"]] = {
            "question": localized(q.get("text"), locale),
            "text": reports.answer_text(asked, answer, locale) if asked else "",
            "value": answer.get("value") if answer else None,
            "na": bool(answer and answer.get("na")),
            "comment": (answer or {}).get("comment") or "",
        }
    started = str(row["started_at"] or "")
    return {
        "visit_id": row["visit_uuid"],
        "date": row["local_date"],  # the day at the branch
        "local_date": row["local_date"],
        "time": started[11:16],  # the clock at the branch (the phone's, with its offset)
        "started_at": started,
        "questionnaire": {"id": row["questionnaire_id"], "version": row["questionnaire_version"]},
        "branch": {
            "id": branch.id,
            "name": branch.name,
            "code": branch.code,
            "region": branch.region,
        },
        "total": row["score_total"],
        "sections": {s["key"]: section_score.get(s["key"]) for s in export.definition["sections"]},
        "questions": {
            q["key"]: _question_score(question_score.get(q["key"])) for q in export.questions
        },
        "answers": answers,
        "comment": row["comment"] or "",
    }


def _question_score(points: tuple[float, float] | None) -> float | None:
    """A question's score 0..100 from its (earned, possible) points; None when N/A, not
    answered or not scored."""
    if not points or not points[1]:
        return None
    return float(points[0] / points[1] * 100)


# --- as a background job ----------------------------------------------------------


def fingerprint(
    chain_id: int,
    branch_ids: list[int],
    fmt: str,
    first_day: str,
    end_day: str | None,
    locale: str,
    region: str = "",
) -> str:
    """Two requests with the same fingerprint (and no change since: the data stamp) want
    the same file. The branches are part of it: a file is only ever given to readers who
    may see exactly those branches."""
    what = [KIND, chain_id, sorted(branch_ids), fmt, first_day, end_day, locale, region]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()


async def request(
    db: Any,
    *,
    user_id: int,
    chain: Chain,
    branches: list[Branch],
    fmt: str,
    first_day: str,
    end_day: str | None,
    locale: str,
    region: str = "",
) -> tuple[int, bool]:
    """The job that makes this export: a finished one still true (nothing approved since
    it was made), one queued or running, or a new one. Answers (job id, reused)."""
    ids = sorted(b.id for b in branches)
    key = fingerprint(chain.id, ids, fmt, first_day, end_day, locale, region)
    params = {
        "chain_id": chain.id,
        "branch_ids": ids,
        "format": fmt,
        "first_day": first_day,
        "end_day": end_day,
        "locale": locale,
        "region": region,
    }
    async with db.transaction() as tx:
        found = await queue.latest_by_fingerprint(tx, key)
        if found is not None and (
            found["state"] != "done" or found["stamp"] == await queue.data_stamp(tx)
        ):
            return int(found["id"]), True
        return await queue.enqueue(tx, KIND, params, actor_id=user_id, fingerprint=key), False


def may_read(job: dict[str, Any], chain_id: int, branches: list[Branch]) -> bool:
    """Whether a reader who may see ``branches`` of the chain may have this job's file:
    a visits export made of exactly those branches (its region is a filter inside it), a
    photo export of some of them."""
    params = job["params"]
    made_of = params.get("branch_ids") or []
    seen = sorted(b.id for b in branches)
    if job["kind"] == KIND:
        return params.get("chain_id") == chain_id and made_of == seen
    return (
        job["kind"] == PHOTOS_KIND
        and params.get("chain_id") == chain_id
        and bool(made_of)
        and set(made_of) <= set(seen)
    )


def file_name(job: dict[str, Any], chain: Chain) -> str:
    params = job["params"]
    period = f"-{params['region']}" if params.get("region") else ""
    if params.get("first_day"):
        period += "-" + params["first_day"][:7]
    if params.get("end_day"):
        period += "-to-" + str(last_month(params["end_day"]))
    what = "photos" if job["kind"] == PHOTOS_KIND else "visits"
    return f"{what}-{chain.code}{period}.{params['format']}"


def last_month(end_day: str | None) -> str | None:
    """The last month of a period given by the day after it (``2026-04-01`` → 2026-03)."""
    if not end_day:
        return None
    year, month = int(end_day[:4]), int(end_day[5:7])
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


async def job_branches(context: jobs.JobContext) -> tuple[Chain, list[Branch]]:
    """An export job's chain and the branches it was asked for (as they are now)."""
    params = context.params
    chain = await chains.get_chain(context.db, int(params["chain_id"]))
    if chain is None:
        raise jobs.JobFailed("the chain is gone")
    wanted = set(params["branch_ids"])
    every = await chains.list_branches(context.db, chain_ids=frozenset({chain.id}))
    return chain, [b for b in every if b.id in wanted]


async def scratch_file(context: jobs.JobContext, prefix: str, suffix: str) -> Path:
    """A new empty file in this worker's scratch folder, for a job to write."""
    await asyncio.to_thread(context.scratch.mkdir, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=context.scratch, prefix=prefix, suffix=suffix)
    os.close(fd)
    return Path(name)


@jobs.kind(KIND)
async def run(context: jobs.JobContext) -> dict[str, Any]:
    """Write the export to a temp file page by page (reporting progress), then store it
    whole."""
    params = context.params
    db = context.db
    chain, branches = await job_branches(context)
    # Taken before reading: a visit approved while the file is written makes the next
    # request start a new file rather than reuse this one.
    stamp = await queue.data_stamp(db)
    export = await prepare(
        db, chain, branches, params["first_day"], params["end_day"], params.get("region") or ""
    )
    total = await export.count(db)
    await context.progress(0, total, stamp)
    fmt = params["format"]
    token = activate(params.get("locale") or "en")
    try:
        path, rows = await _write(context, export, fmt, total, params.get("locale") or "en")
    finally:
        deactivate(token)
    size = path.stat().st_size
    name = export_name(context.id, context.attempt, fmt)
    await context.store.put_file(name, path, FORMATS[fmt])
    return {"file": name, "rows": rows, "bytes": size}


async def text_chunks(
    export: VisitsExport, db: Any, fmt: str, locale: str
) -> AsyncIterator[tuple[str, int]]:
    """The export as CSV or JSON text, a page at a time (each page's rows made on a
    thread, off the event loop), with the rows each piece holds: what the streamed
    download, the job's file and ``visitscore export-visits`` all write."""
    separator, decimal = csv_style(locale)
    writer = csv_export.Writer(delimiter=separator)

    def text(page: Callable[[], list[dict[str, Any]]], first: bool) -> tuple[str, int]:
        made = page()
        if fmt == "csv":
            return csv_text(writer, made, decimal), len(made)
        return ("" if first else ",") + json_text(made), len(made)

    if fmt == "csv":
        writer.row(export.csv_header(locale))
        yield writer.take(), 0
    else:
        yield export.json_head(), 0
    first = True
    async for page in export.pages(db):
        yield await asyncio.to_thread(text, page, first)
        first = False
    if fmt == "json":
        yield "]}", 0


async def _write(
    context: jobs.JobContext, export: VisitsExport, fmt: str, total: int, locale: str
) -> tuple[Path, int]:
    """The whole export in a temp file in this worker's scratch folder; (path, rows)."""
    await asyncio.to_thread(context.scratch.mkdir, parents=True, exist_ok=True)
    if fmt == "xlsx":
        return await _write_xlsx(context, export, total, locale)
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=context.scratch, prefix="export-", delete=False
    )
    rows = 0
    try:
        async for chunk, count in text_chunks(export, context.db, fmt, locale):
            await asyncio.to_thread(handle.write, chunk)
            if count:
                rows += count
                await context.progress(rows, max(total, rows))
        await asyncio.to_thread(handle.close)
    except BaseException:
        handle.close()
        await asyncio.to_thread(Path(handle.name).unlink, True)
        raise
    return Path(handle.name), rows


async def _write_xlsx(
    context: jobs.JobContext, export: VisitsExport, total: int, locale: str
) -> tuple[Path, int]:
    """The export as one XLSX sheet, written row by row to disk (constant memory)."""
    path = await scratch_file(context, "export-", ".xlsx")
    book = xlsx_book(path)
    sheet = book.add_worksheet(_("Visits")[:31])
    bold = book.add_format({"bold": True})
    rows = 0
    try:
        sheet.write_row(0, 0, export.csv_header(locale), bold)
        sheet.freeze_panes(1, 1)

        def put(made: list[dict[str, Any]], start: int) -> None:
            for offset, visit in enumerate(made):
                sheet.write_row(start + offset, 0, cells(visit))

        async for page in export.pages(context.db):
            made = await asyncio.to_thread(page)
            await asyncio.to_thread(put, made, rows + 1)
            rows += len(made)
            await context.progress(rows, max(total, rows))
        await asyncio.to_thread(book.close)
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise
    return path, rows


async def remove_file(store: PhotoStore, job: dict[str, Any]) -> None:
    """An expired export's file (each attempt wrote its own name)."""
    fmt = job["params"].get("format", "csv")
    for attempt in range(1, int(job["attempts"]) + 1):
        await store.delete(export_name(int(job["id"]), attempt, fmt))


jobs.EXPIRES[KIND] = remove_file
jobs.EXPIRES[PHOTOS_KIND] = remove_file
