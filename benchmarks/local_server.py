"""What the benchmark scripts share: a free local port, waiting for a server, and a
`visitscore serve` process of their own."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, seconds: float = 15) -> None:
    """Until ``url`` answers; raises if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def visitscore_server(data_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`visitscore serve` on a free port (extra ``args`` such as ``--workers 2``), once it
    answers: (process, base URL). Stopped on the way out."""
    port = free_port()
    command = [sys.executable, "-m", "server", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(url + "/healthz")
        yield server, url
    finally:
        server.terminate()
        server.wait(timeout=20)


def move_data(data_dir: Path, url: str) -> None:
    """``visitscore move-data``: the SQLite folder into the (empty) PostgreSQL database at
    ``url``, every count checked, as operators move theirs."""
    command = ["move-data", "--data-dir", str(data_dir), "--to-database-url", url]
    subprocess.run(
        [sys.executable, "-m", "server", *command],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
