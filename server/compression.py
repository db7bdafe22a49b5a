"""Compressed text responses: brotli when the browser asks for it, else gzip.

Pure ASGI middleware, so streamed responses (the exports) are compressed as they go,
chunk by chunk, without being held whole. Only text is compressed (HTML, CSS, JS, JSON,
CSV, SVG, the manifest); photos are JPEGs already and pass through untouched.

* Every compressible response says ``Vary: Accept-Encoding``, compressed or not, so a
  shared cache never hands gzip to a client that did not ask for it.
* A compressed representation is a different entity: its ETag gets a suffix (``"x-br"``)
  and the suffix is taken off ``If-None-Match`` before the app sees it, so the app's own
  304s (visit reports, static files) keep working through compression.
* The app shell, static files and the service worker (an ETag, the same for everyone)
  are compressed once per version and the bytes kept: precompressed, in effect, without
  a build step. Brotli there uses its best quality; live responses a fast one.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections import OrderedDict

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MINIMUM_SIZE = 512
"""Smaller bodies are sent as they are: compression would save less than a packet."""
TEXT_TYPES = re.compile(
    r"^(text/|application/(json|javascript|manifest\+json|xml)|image/svg\+xml)", re.I
)
SUFFIX = {"br": "-br", "gzip": "-gz"}
LIVE_BROTLI_QUALITY = 4  # fast, still smaller than gzip -6 on our pages
STATIC_BROTLI_QUALITY = 11
CACHE_ENTRIES = 256
STATIC_PATHS = ("/app/", "/static/", "/service-worker.js")
"""The same bytes for everyone: their compressed copies are kept, keyed by path and ETag."""


def chosen_encoding(accept_encoding: str) -> str | None:
    """brotli if the client lists it, else gzip, else nothing ("q=0" refuses one)."""
    offered: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([^;,\s]*)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0  # an unreadable weight is not a yes
        offered[name.strip()] = quality
    for name in ("br", "gzip"):
        if offered.get(name, offered.get("*", 0.0)) > 0:
            return name
    return None


def _strip_suffixes(value: str) -> str:
    return re.sub(r'-(?:br|gz)"', '"', value)


class Compressor:
    """One response's stream compressor."""

    def __init__(self, encoding: str, quality: int) -> None:
        self.encoding = encoding
        if encoding == "br":
            self._br = brotli.Compressor(quality=quality)
        else:
            self._gz = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def chunk(self, data: bytes) -> bytes:
        """Compress and flush, so each streamed chunk reaches the client as it is made."""
        if self.encoding == "br":
            return self._br.process(data) + self._br.flush()
        return self._gz.compress(data) + self._gz.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        if self.encoding == "br":
            return self._br.finish()
        return self._gz.flush(zlib.Z_FINISH)


def compress_whole(data: bytes, encoding: str, quality: int) -> bytes:
    if encoding == "br":
        return brotli.compress(data, quality=quality)
    return gzip.compress(data, compresslevel=9, mtime=0)


class CompressionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._kept: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        encoding = chosen_encoding(headers.get("accept-encoding", ""))
        match = headers.get("if-none-match")
        if match and encoding and SUFFIX[encoding] in match:
            raw = [
                (k, _strip_suffixes(v.decode("latin-1")).encode("latin-1"))
                if k == b"if-none-match"
                else (k, v)
                for k, v in scope["headers"]
            ]
            scope = {**scope, "headers": raw}
        await _Responder(self, scope, encoding, send).run(self.app, receive)


class _Responder:
    def __init__(
        self, owner: CompressionMiddleware, scope: Scope, encoding: str | None, send: Send
    ) -> None:
        self.owner = owner
        self.scope = scope
        self.encoding = encoding
        self.send = send
        self.start: Message | None = None
        self.compressor: Compressor | None = None
        self.decided = False

    async def run(self, app: ASGIApp, receive: Receive) -> None:
        await app(self.scope, receive, self.on_send)

    async def on_send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
        elif not self.decided:
            await self._decide(message)
        elif self.compressor is None:
            await self.send(message)  # passed through as it is
        else:
            await self._body(message)

    async def _decide(self, first: Message) -> None:
        """On the first body chunk: compress, or send everything as it is."""
        assert self.start is not None
        self.decided = True
        start = self.start
        headers = MutableHeaders(raw=start["headers"])
        body: bytes = first.get("body", b"")
        more = bool(first.get("more_body", False))
        kind = headers.get("content-type", "")
        compressible = (
            bool(TEXT_TYPES.match(kind))
            and "content-encoding" not in headers
            and start["status"] not in (204, 206, 304)
            and (more or len(body) >= MINIMUM_SIZE)
        )
        if TEXT_TYPES.match(kind) or start["status"] == 304:
            headers.add_vary_header("Accept-Encoding")
        if start["status"] == 304 and self.encoding and "etag" in headers:
            headers["etag"] = self._suffixed(headers["etag"])
        if not compressible or self.encoding is None:
            await self.send(start)
            await self.send(first)
            return
        encoding = self.encoding
        etag = headers.get("etag")
        static = (
            etag is not None
            and not more
            and "set-cookie" not in headers
            and "private" not in headers.get("cache-control", "")
            and str(self.scope.get("path", "")).startswith(STATIC_PATHS)
        )
        headers["content-encoding"] = encoding
        if etag:
            headers["etag"] = self._suffixed(etag)
        if static:
            assert etag is not None
            key = (self.scope.get("path", ""), etag, encoding)
            data = self.owner._kept.get(key)
            if data is None:
                data = compress_whole(body, encoding, STATIC_BROTLI_QUALITY)
                self.owner._kept[key] = data
                while len(self.owner._kept) > CACHE_ENTRIES:
                    self.owner._kept.popitem(last=False)
            else:
                self.owner._kept.move_to_end(key)
            headers["content-length"] = str(len(data))
            await self.send(start)
            await self.send({"type": "http.response.body", "body": data})
            return
        self.compressor = Compressor(encoding, LIVE_BROTLI_QUALITY)
        if more:
            del headers["content-length"]
            await self.send(start)
            await self._body(first)
            return
        data = self.compressor.chunk(body) + self.compressor.finish()
        headers["content-length"] = str(len(data))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": data})

    async def _body(self, message: Message) -> None:
        assert self.compressor is not None
        more = bool(message.get("more_body", False))
        data = self.compressor.chunk(message.get("body", b""))
        if not more:
            data += self.compressor.finish()
        if data or not more:
            await self.send({"type": "http.response.body", "body": data, "more_body": more})

    def _suffixed(self, etag: str) -> str:
        assert self.encoding is not None
        if etag.endswith('"') and not etag.endswith(SUFFIX[self.encoding] + '"'):
            return etag[:-1] + SUFFIX[self.encoding] + '"'
        return etag
