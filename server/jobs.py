"""Background jobs: the runner that takes jobs from the queue in the database
(:mod:`server.queries.jobs`) and runs them.

Every server process runs one :class:`Runner` unless told not to (``--no-jobs``), and
``visitscore worker`` runs one on its own; any number of them share one queue. A runner
claims the oldest due job under a lease, and renews the lease each time the job reports
progress. An attempt that raises is retried after 5 s, then 30 s; the third failure marks
the job failed with its error shown to whoever asked. A runner that dies loses its lease
and another runner takes the job over (as a new attempt).

A kind of job is a coroutine registered in :data:`KINDS`; it gets a :class:`JobContext`
and returns the job's result (JSON), kept with the job.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .photo_store import PhotoStore
from .queries import jobs as queue
from .queries.jobs import later
from .settings import Settings

log = logging.getLogger("visitscore.jobs")

LEASE_SECONDS = 60.0
"""A running job's lease: renewed at each progress report; a job whose worker has not
reported for this long is taken over by another worker."""
RETRY_AFTER = (5.0, 30.0)
"""Seconds before the second and third attempts."""
OUTSIDE_BACKOFF = (5.0, 30.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
"""The schedule of jobs that wait on another server (mail, webhooks): soon, then hourly."""
RETRIES: dict[str, tuple[float, ...]] = {}
"""Kinds that back off on their own schedule (seconds before each next attempt, the last
one repeated), with as many attempts as they were queued with: mail waits out an SMTP
server that is down for hours."""
POLL_SECONDS = 2.0
"""How often an idle runner looks for work (a job queued in the same process wakes it
at once)."""
CHILD_STOP_SECONDS = 10.0
"""How long a worker process gets to give its job back when its server stops."""
SWEEP_SECONDS = 600.0
KEEP_DAYS = 7
"""Finished exports are kept this long, then their files are removed."""


class LeaseLost(Exception):
    """Another worker took this job over (this one was too slow to report); stop."""


class RetryLater(Exception):
    """A failure of something outside (an SMTP server that is down): the attempt is
    retried on the job's backoff, and logged as one line, not as a crash."""


class JobFailed(Exception):
    """A failure that retrying will not mend (the chain was removed, say): the job fails
    at once with this message."""


@dataclass
class JobContext:
    db: Any
    store: PhotoStore
    scratch: Path
    worker: str
    job: dict[str, Any]
    settings: Settings | None = None
    """The server's settings (mail needs its SMTP server and its public address)."""

    @property
    def id(self) -> int:
        return int(self.job["id"])

    @property
    def attempt(self) -> int:
        return int(self.job["attempts"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.job["params"])

    async def progress(self, done: int, total: int | None, stamp: str | None = None) -> None:
        """Report how far the job is (shown to whoever waits for it) and keep the lease."""
        async with self.db.transaction() as tx:
            held = await queue.progress(tx, self.id, self.worker, done, total, LEASE_SECONDS, stamp)
        if not held:
            raise LeaseLost(self.id)


Handler = Callable[[JobContext], Awaitable[dict[str, Any]]]
KINDS: dict[str, Handler] = {}
"""Each kind of job and what runs it; modules register theirs with :func:`kind`."""
EXPIRES: dict[str, Callable[[PhotoStore, dict[str, Any]], Awaitable[None]]] = {}
"""Kinds whose results are removed after :data:`KEEP_DAYS`, and how."""


PERIODIC: list[Callable[[Any], Awaitable[None]]] = []
"""Work every runner does at each sweep (every SWEEP_SECONDS): action plans' reminders."""


def kind(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        KINDS[name] = handler
        return handler

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Runner:
    db: Any
    store: PhotoStore
    scratch: Path
    name: str = field(default_factory=worker_name)
    poll: float = POLL_SECONDS
    child: tuple[list[str], dict[str, str]] | None = None
    """When set, due jobs are run by this command (``visitscore worker --once``) in a
    child process instead of here: its CPU-heavy work (an export formatting a million
    rows) then never holds this process's interpreter, and the worker runs at a lower
    CPU priority, so requests are answered first."""
    settings: Settings | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _last_sweep: float = 0.0

    def wake(self) -> None:
        """A job was queued in this process: look now, not at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run jobs until ``stop`` is set; a job still running then is left to its lease
        (another worker, or this one when it starts again, takes it over)."""
        log.info("job runner %s started", self.name)
        while not stop.is_set():
            self._wake.clear()  # before looking: a job queued meanwhile wakes the wait below
            try:
                ran = await self.run_once()
                await self._sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: try again later
                log.exception("job runner %s: could not reach the queue", self.name)
                ran = False
            if ran:
                continue
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            try:
                await asyncio.wait(waits, timeout=self.poll, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()

    async def run_once(self) -> bool:
        """Claim one due job and run it; False when none was due."""
        if not await queue.any_due(self.db):
            return False
        if self.child is not None:
            return await self._run_child(*self.child)
        async with self.db.transaction() as tx:
            job = await queue.claim(tx, self.name, LEASE_SECONDS)
        if job is None:
            return False
        await self._run(job)
        return True

    async def _run_child(self, argv: list[str], env: dict[str, str]) -> bool:
        """One worker process that runs the due jobs, then exits; stopped (its job given
        back to the queue) when this runner is."""
        process = await asyncio.create_subprocess_exec(
            *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL
        )
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            process.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(process.wait()), CHILD_STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
            raise
        if code != 0:
            log.warning("job runner %s: the worker process stopped with %s", self.name, code)
            return False  # look again at the next poll, not in a tight loop
        return True

    async def _run(self, job: dict[str, Any]) -> None:
        handler = KINDS.get(job["kind"])
        context = JobContext(self.db, self.store, self.scratch, self.name, job, self.settings)
        try:
            if handler is None:
                raise JobFailed(f"no worker knows jobs of kind {job['kind']!r}")
            result = await handler(context)
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job["id"])
            return
        except asyncio.CancelledError:
            # The server is stopping: give the job back at once rather than after its lease.
            async with self.db.transaction() as tx:
                await queue.release(tx, job["id"], self.name)
            raise
        except Exception as exc:
            final = isinstance(exc, JobFailed) or job["attempts"] >= job["max_attempts"]
            backoff = RETRIES.get(job["kind"], RETRY_AFTER)
            retry = None if final else backoff[min(job["attempts"], len(backoff)) - 1]
            message = " ".join(str(exc).split())[:500] or type(exc).__name__
            if isinstance(exc, RetryLater):
                log.warning(
                    "job %s (%s) attempt %s: %s", job["id"], job["kind"], job["attempts"], message
                )
            elif not isinstance(exc, JobFailed):
                log.exception(
                    "job %s (%s) attempt %s failed", job["id"], job["kind"], job["attempts"]
                )
            async with self.db.transaction() as tx:
                await queue.fail(tx, job["id"], self.name, message, retry)
            return
        async with self.db.transaction() as tx:
            if not await queue.finish(tx, job["id"], self.name, result):
                log.warning("job %s finished after another worker took it over", job["id"])

    async def _sweep(self) -> None:
        """Run the periodic work, and remove what finished jobs left behind once they
        are past keeping."""
        now = asyncio.get_running_loop().time()
        if self._last_sweep and now - self._last_sweep < SWEEP_SECONDS:
            return
        self._last_sweep = now
        for task in PERIODIC:
            await task(self.db)
        if not EXPIRES:
            return
        before = later(-KEEP_DAYS * 86400)
        for job in await queue.due_to_expire(self.db, tuple(EXPIRES), before):
            await EXPIRES[job["kind"]](self.store, job)
            async with self.db.transaction() as tx:
                await queue.expire(tx, job["id"])


async def run_until_idle(runner: Runner, limit: int = 100) -> int:
    """Run due jobs one after another until none is due (tests, ``worker --once``)."""
    count = 0
    while count < limit and await runner.run_once():
        count += 1
    return count
