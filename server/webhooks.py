"""Sending webhook deliveries: the job queue runs :func:`send` for each one.

A delivery is a ``POST`` of its JSON body (made once, when its event happened, see
server/queries/webhooks.py) with these headers:

- ``Visitscore-Event``: the event (``visit.approved`` …), ``Visitscore-Delivery``: its id;
- ``Visitscore-Signature: t=<unix time>,v1=<hex>``: HMAC-SHA256 under the webhook's
  secret of ``"<t>.<body>"``. A receiver recomputes it over the raw body and refuses a
  ``t`` far from its clock (a replay).

A 2xx answer delivers it; anything else (or no answer within TIMEOUT) is tried again on
the job's backoff, ATTEMPTS in all, then the delivery is failed. The admin reads every
delivery's attempts, last status and error, and can send it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import urllib.error
import urllib.request
from typing import Any

from . import jobs
from .queries import webhooks as hooks

TIMEOUT = 10.0
USER_AGENT = "Visitscore-Webhooks/1"
jobs.RETRIES[hooks.JOB] = jobs.OUTSIDE_BACKOFF


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """One POST (blocking: run on a thread). Answers the status and an error (None when
    delivered)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read(65536)
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, " ".join(str(reason).split())[:300] or type(exc).__name__


@jobs.kind(hooks.JOB)
async def send(context: jobs.JobContext) -> dict[str, Any]:
    delivery_id = int(context.params["delivery"])
    found = await hooks.delivery(context.db, delivery_id)
    if found is None or found["state"] != "queued":
        return {"delivered": False}  # delivered already, or failed and not resent
    body = found["body"].encode()
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Visitscore-Event": found["event"],
        "Visitscore-Delivery": str(delivery_id),
        "Visitscore-Signature": signature(found["secret"], now, body),
    }
    status, error = await asyncio.to_thread(_post, found["url"], body, headers)
    ok = error is None and status is not None and 200 <= status < 300
    last = context.attempt >= context.job["max_attempts"]
    state = "delivered" if ok else "failed" if last else "queued"
    async with context.db.transaction() as tx:
        await hooks.attempted(tx, delivery_id, status=status, error=error, state=state)
    if not ok:
        raise jobs.RetryLater(f"webhook delivery {delivery_id} to {found['url']}: {error}")
    return {"delivered": True, "status": status}
