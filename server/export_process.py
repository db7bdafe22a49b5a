"""Big streamed exports are made by a child process, and the server passes its bytes on.

``/chains/{id}/visits.csv`` (and ``.json``) of at least :data:`CHILD_ROWS` visits is
written by ``visitscore export-visits`` at the lowest CPU priority
(``Settings.child_command``), given exactly the branches and
days the server resolved and checked for its reader. Making the rows is Python work that
holds the GIL: on a thread of the server it made every other request wait behind it
(/healthz's p99 went from 0.5 to 7 ms, benchmarks/exports.py); in a child it costs the
server a pipe read per 64 KB. Smaller exports are made in the server, where a child's
start (about half a second) would cost more than it saves.

A download that stops reading stops the child (its pipe fills, then it is killed when the
response is abandoned); a child that fails cuts the download short with an error, never
with a file that looks whole. At most :data:`CHILDREN` run at once per server process;
more exports wait their turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import anyio

from .exports import VisitsExport, last_month
from .settings import Settings

log = logging.getLogger(__name__)

CHILD_ROWS = 2000
CHILDREN = 2
READ = 64 * 1024


class ExportFailed(RuntimeError):
    """The child stopped with an error: the download must not look complete."""


def command(
    settings: Settings, export: VisitsExport, fmt: str, locale: str
) -> tuple[list[str], dict[str, str]]:
    """The ``visitscore export-visits`` that writes this export, as the server resolved
    it: its chain, the branches its reader may see (of the region asked), its months."""
    args = ["export-visits", "--chain", str(export.chain.id), "--format", fmt]
    args += ["--locale", locale, "--branches", ",".join(str(b.id) for b in export.branches)]
    if export.first_day:
        args += ["--from", export.first_day[:7]]
    if export.end_day:
        args += ["--to", str(last_month(export.end_day))]
    return settings.child_command(*args)


async def stream(
    gate: asyncio.Semaphore, argv: list[str], env: dict[str, str]
) -> AsyncIterator[bytes]:
    """The child's output as it comes."""
    async with gate:
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            while chunk := await process.stdout.read(READ):
                yield chunk
            code = await process.wait()
        finally:
            if process.returncode is None:  # the download was abandoned
                process.kill()
                with anyio.CancelScope(shield=True):  # reaped now, even while cancelled
                    await process.wait()
        if code != 0:
            log.warning("export process stopped with %s: the download is cut short", code)
            raise ExportFailed(f"the export process stopped with {code}")
