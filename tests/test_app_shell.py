"""The shopper app's shell: what a first visit downloads, and how soon it can start."""

from __future__ import annotations

import gzip
import re

from starlette.testclient import TestClient

from server.settings import ASSETS
from server.views.app_shell import shell_files

PWA = ASSETS / "pwa"
FIRST_LOAD_BUDGET = 55_000  # bytes on the wire, precache included (issue "Fast as it grows")
SHELL_GZIP_BUDGET = 60_000


def test_every_module_is_preloaded_by_the_page() -> None:
    """One round trip for every module: none waits for another to name it."""
    page = (PWA / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/app/([^"]+)">', page))
    modules = {p.name for p in PWA.glob("*.js")} - {"app.js"}
    assert preloaded == modules
    assert '<script type="module" src="/app/app.js">' in page


def test_the_first_load_fits_its_budget_on_the_wire(demo_client: TestClient) -> None:
    """Every file the first visit fetches (the page, its modules, styles, icons, manifest,
    the strings of all languages and the service worker that precaches them), each once,
    compressed as a browser asks for them."""
    urls = [*shell_files(PWA), "/service-worker.js"]
    wire = plain = gzipped = 0
    for url in urls:
        answer = demo_client.get(url, headers={"accept-encoding": "gzip, deflate, br"})
        assert answer.status_code == 200, url
        raw = answer.headers.get("content-length")
        assert raw is not None, url
        wire += int(raw)
        plain += len(answer.content)
        gzipped += len(gzip.compress(answer.content))
    assert gzipped <= SHELL_GZIP_BUDGET
    assert wire <= FIRST_LOAD_BUDGET, f"{wire} bytes on the wire ({plain} uncompressed)"
