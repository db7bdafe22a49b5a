"""The shopper app's shell: what a first visit downloads, and how soon it can start."""

from __future__ import annotations

import gzip
import json
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


def test_the_page_brings_the_strings_of_the_browser_language(demo_client: TestClient) -> None:
    """No round trip for the login form's words: they come inside the page, in the
    language the browser asks for, and the page revalidates per language."""
    from server.i18n import translations

    answer = demo_client.get("/app/", headers={"accept-language": "id-ID,id;q=0.9"})
    assert answer.status_code == 200
    block = re.search(
        r'<script type="application/json" id="strings" data-lang="id">(.*?)</script>',
        answer.text,
        re.S,
    )
    assert block is not None
    table = json.loads(block.group(1))
    assert table["Log in"] == translations("id").gettext("Log in") != "Log in"
    assert table == demo_client.get("/app/strings/id.json").json()["strings"]
    assert "Accept-Language" in answer.headers["vary"]
    etag = answer.headers["etag"]
    again = demo_client.get("/app/", headers={"accept-language": "id", "if-none-match": etag})
    assert again.status_code == 304
    french = demo_client.get("/app/", headers={"accept-language": "fr", "if-none-match": etag})
    assert french.status_code == 200 and 'data-lang="fr"' in french.text


def test_the_installed_app_is_named_in_the_shoppers_language(demo_client: TestClient) -> None:
    """The page links the manifest of its language; each language's manifest carries the
    translated name and description, and the shell's icons, scope and colours."""
    from server.i18n import SUPPORTED, translations
    from server.views.app_shell import MANIFEST_TEXTS

    source = json.loads((PWA / "manifest.webmanifest").read_text())
    for lang in SUPPORTED:
        page = demo_client.get("/app/", headers={"accept-language": lang}).text
        assert f'<link rel="manifest" href="/app/manifest/{lang}.webmanifest">' in page
        assert f'<html lang="{lang}">' in page
        answer = demo_client.get(f"/app/manifest/{lang}.webmanifest")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/manifest+json")
        manifest = answer.json()
        catalog = translations(lang)
        for key, text in MANIFEST_TEXTS.items():
            assert manifest[key] == catalog.gettext(text)
            assert lang == "en" or key == "short_name" or manifest[key] != text, (lang, key)
        assert {k: v for k, v in manifest.items() if k not in {*MANIFEST_TEXTS, "lang"}} == {
            k: v for k, v in source.items() if k not in MANIFEST_TEXTS
        }
        assert manifest["lang"] == lang
    missing = demo_client.get("/app/manifest/xx.webmanifest")
    assert missing.status_code == 404 and "That language is not available." in missing.text


def test_the_page_carries_its_stylesheet_which_the_policy_allows_alone(
    demo_client: TestClient,
) -> None:
    """One request fewer before the first paint: the style is inside the page, and the
    Content-Security-Policy names exactly its hash (any other inline style stays refused)."""
    import base64
    import hashlib

    answer = demo_client.get("/app/")
    assert '<link rel="stylesheet"' not in answer.text
    (css,) = re.findall(r"<style>(.*?)</style>", answer.text, re.S)
    assert css == (PWA / "app.css").read_text()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = answer.headers["content-security-policy"]
    assert f"style-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy
    assert "/app/app.css" not in shell_files(PWA)  # not precached twice
    # A revalidation's 304 carries the same policy (the browser keeps a 304's headers).
    again = demo_client.get("/app/", headers={"if-none-match": answer.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["content-security-policy"] == policy


def test_the_page_needs_at_most_two_rounds_of_six_requests(demo_client: TestClient) -> None:
    """Over HTTP/1.1 a phone opens six connections to a host: a thirteenth file fetched
    before the app can run waits for a third round trip (3.2 instead of 2.5 round trips on
    a slow phone, benchmarks/first_load.py). Adding a module past twelve needs merging two."""
    page = demo_client.get("/app/").text
    files = set(re.findall(r'(?:href|src)="(/app/[^"]+\.(?:js|css))"', page))
    assert "/app/app.js" in files and len(files) <= 12, sorted(files)
