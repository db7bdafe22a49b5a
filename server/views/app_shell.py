"""The shopper app's shell: files under /app/, its strings, and the service worker.

There is no bundler: the service worker's cache version is a hash of every precached
file (and of the strings they show), computed here, and the precache list is the shell
folder's listing. Changing any shell file therefore makes a new version, which the
browser installs beside the old one and the app offers as "Update ready".
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from babel.messages.extract import extract_from_dir
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from .. import i18n
from ..errors import ApiError
from ..i18n import N_, _
from ..middleware import policy_allowing_style
from ..settings import Settings

SHELL_SUFFIXES = {".html", ".js", ".css", ".webmanifest", ".png", ".svg"}


class ShellFiles(StaticFiles):
    """The shell's files, always revalidated (ETag) so the service worker's install
    fetches what is on disk now, not an older copy from the HTTP cache."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["cache-control"] = "no-cache"
        return response

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("cache-control", "no-cache")
        return response


INLINED = "app.css"
"""The app's stylesheet comes inside its page (see :func:`index`), not as a file of its own."""


def shell_files(pwa_dir: Path) -> list[str]:
    """Every file the app needs offline, as URLs."""
    urls = ["/app/"]
    for path in sorted(pwa_dir.rglob("*")):
        # index.html is /app/; the manifest is served translated (manifest_url).
        if (
            path.is_file()
            and path.suffix in SHELL_SUFFIXES
            and path.suffix != ".webmanifest"
            and path.name not in ("index.html", INLINED)
        ):
            urls.append("/app/" + path.relative_to(pwa_dir).as_posix())
    urls += [f"/app/strings/{lang}.json" for lang in i18n.SUPPORTED]
    urls += [manifest_url(lang) for lang in i18n.SUPPORTED]
    return urls


MANIFEST_TEXTS = {
    "name": N_("Visitscore shopper"),
    "short_name": N_("Visitscore"),
    "description": N_("Record mystery-shopping visits, even with no signal."),
}
"""What the phone shows when the app is installed, in the shopper's language."""


def manifest_url(lang: str) -> str:
    return f"/app/manifest/{lang}.webmanifest"


def _signature(paths: list[Path]) -> tuple[tuple[str, float, int], ...]:
    return tuple((str(p), p.stat().st_mtime, p.stat().st_size) for p in paths)


def _watched(settings: Settings) -> list[Path]:
    files = [
        p for p in sorted(settings.pwa_dir.rglob("*")) if p.is_file() and p.suffix in SHELL_SUFFIXES
    ]
    files.append(settings.service_worker)
    files += sorted(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
    return files


@lru_cache(maxsize=8)
def _version_for(signature: tuple[tuple[str, float, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _mtime, _size in signature:
        digest.update(name.encode())
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


def shell_version(settings: Settings) -> str:
    return _version_for(_signature(_watched(settings)))


@lru_cache(maxsize=8)
def _messages_for(pwa_dir: str, signature: tuple[tuple[str, float, int], ...]) -> tuple[str, ...]:
    found = {
        message if isinstance(message, str) else message[0]
        for _f, _l, message, _c, _ctx in extract_from_dir(
            pwa_dir, [("**.js", "javascript")], keywords={"t": None}
        )
    }
    return tuple(sorted(found))


def app_messages(pwa_dir: Path) -> tuple[str, ...]:
    """The msgids the app's modules pass to t(), read from their source."""
    files = sorted(pwa_dir.rglob("*.js"))
    return _messages_for(str(pwa_dir), _signature(files))


def string_table(settings: Settings, lang: str) -> dict[str, str]:
    """The app's strings in one language, as {English: translation}: only those that
    differ from the English, since t() shows the English where the table has nothing
    (the English table is empty: 2.5 KB fewer on the wire, twice, for every first load)."""
    catalog = i18n.translations(lang)
    table = {m: catalog.gettext(m) for m in app_messages(settings.pwa_dir)}
    return {message: text for message, text in table.items() if text != message}


async def strings(request: Request) -> Response:
    """The app's strings in one language, as {English: translation}."""
    lang = request.path_params["lang"]
    if lang not in i18n.SUPPORTED:
        raise ApiError(404, "not_found", _("That language is not available."))
    settings: Settings = request.app.state.settings
    return JSONResponse(
        {"lang": lang, "strings": string_table(settings, lang)},
        headers={"cache-control": "no-cache"},
    )


async def manifest(request: Request) -> Response:
    """The web app manifest in one language: pwa/manifest.webmanifest (icons, colours,
    scope) with its name and description translated, so the installed app is named in
    the shopper's language."""
    lang = request.path_params["lang"]
    if lang not in i18n.SUPPORTED:
        raise ApiError(404, "not_found", _("That language is not available."))
    settings: Settings = request.app.state.settings
    data = json.loads((settings.pwa_dir / "manifest.webmanifest").read_text("utf-8"))
    catalog = i18n.translations(lang)
    data |= {key: catalog.gettext(text) for key, text in MANIFEST_TEXTS.items()}
    data["lang"] = lang
    return JSONResponse(
        data, media_type="application/manifest+json", headers={"cache-control": "no-cache"}
    )


STYLESHEET = '<link rel="stylesheet" href="/app/app.css">'


async def index(request: Request) -> Response:
    """The app's page, with the strings of the browser's language inside it: the login
    form can be drawn as soon as the modules have run, without another round trip for
    its words. (The app still fetches another language's strings when one is chosen.)"""
    settings: Settings = request.app.state.settings
    lang = i18n.current_locale()
    etag = f'"{shell_version(settings)}-{lang}"'
    # The stylesheet inside the page: one request fewer before the first paint (over
    # HTTP/1.1 a phone opens six connections; the page's thirteenth file waited for a
    # third round trip). The policy allows exactly this style, on a 304 too: a browser
    # takes a 304's headers for the copy it keeps, so the default policy there would
    # block the style of the page it already has.
    css = (settings.pwa_dir / INLINED).read_text("utf-8")
    headers = {
        "cache-control": "no-cache",
        "etag": etag,
        "vary": "Accept-Language, Cookie",
        "content-security-policy": policy_allowing_style(css),
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    page = (settings.pwa_dir / "index.html").read_text("utf-8")
    page = page.replace(STYLESHEET, f"<style>{css}</style>", 1)
    table = json.dumps(string_table(settings, lang), ensure_ascii=False).replace("</", "<\\/")
    block = f'<script type="application/json" id="strings" data-lang="{lang}">{table}</script>\n'
    page = page.replace('<html lang="en">', f'<html lang="{lang}">', 1)
    page = page.replace('href="/app/manifest.webmanifest"', f'href="{manifest_url(lang)}"', 1)
    return Response(
        page.replace("</head>", block + "</head>", 1), media_type="text/html", headers=headers
    )


async def service_worker(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    source = settings.service_worker.read_text("utf-8")
    source = source.replace('"__VERSION__"', json.dumps(shell_version(settings)))
    source = source.replace("__PRECACHE__", json.dumps(shell_files(settings.pwa_dir)))
    return Response(
        source,
        media_type="text/javascript",
        headers={"cache-control": "no-cache", "service-worker-allowed": "/"},
    )


async def app_root(request: Request) -> Response:
    return RedirectResponse("/app/", status_code=308)
