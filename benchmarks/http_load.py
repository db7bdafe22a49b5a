"""A small HTTP/1.1 load generator for the benchmarks: keep-alive connections on
loopback, each sending its requests one after another, with every latency recorded.
Plain asyncio streams: a client library would cost more CPU than the server it
measures on a 2-core machine."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Request = tuple[str, str, bytes]  # method, path, body


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")

    @property
    def median(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    body = b""
    if headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, body


async def one(
    base: str, request: Request, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A single request on its own connection: (status, headers, body)."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(_encode(parts.netloc, request, headers or {}))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        found = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                found[name.strip().lower()] = value.strip()
        length = int(found.get("content-length", "0"))
        return int(lines[0].split()[1]), found, await reader.readexactly(length)
    finally:
        writer.close()


async def session_cookie(base: str, email: str, password: str) -> str:
    """Log in through the API; the session cookie (``name=value``) to send back."""
    body = json.dumps({"email": email, "password": password}).encode()
    status, headers, _ = await one(
        base, ("POST", "/api/v1/session", body), {"Content-Type": "application/json"}
    )
    assert status == 201, status
    return headers["set-cookie"].split(";", 1)[0]


def _encode(host: str, request: Request, headers: dict[str, str]) -> bytes:
    method, path, body = request
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def load(
    base: str,
    next_request: Callable[[], Request],
    *,
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
) -> Result:
    """``connections`` clients, each sending ``next_request()`` in turn for ``seconds``."""
    parts = urlsplit(base)
    result = Result(seconds)
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                data = _encode(parts.netloc, next_request(), headers or {})
                started = time.perf_counter()
                writer.write(data)
                status, _body = await _read_response(reader)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result
