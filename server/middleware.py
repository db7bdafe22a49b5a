"""Pure ASGI middleware: the request's language, security headers, cross-site checks."""

from __future__ import annotations

import base64
import hashlib
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_json
from .i18n import SUPPORTED, _, activate, deactivate, negotiate

LANG_COOKIE = "vs_lang"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",  # photo previews on the phone are blob: URLs
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""No inline script or style anywhere, nothing from another origin: an injected
``<script>`` or handler in a name, a comment or a questionnaire text cannot run."""
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def policy_allowing_style(css: str) -> str:
    """The policy, also allowing one inline ``<style>`` of exactly ``css`` (by its
    SHA-256): the app's page carries its stylesheet inline to save a round trip on a slow
    phone, and any other inline style is still refused."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return CONTENT_SECURITY_POLICY.replace(
        "style-src 'self'", f"style-src 'self' 'sha256-{digest}'", 1
    )


class RequestMiddleware:
    """Sets the language for the request (cookie, else Accept-Language; a logged-in
    user's own setting wins later in :func:`server.auth.current_user`), adds security
    headers, and refuses cross-site writes: an unsafe request whose Origin is another
    site is refused, and a JSON API POST must say it is JSON (forms cannot)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header just means no language cookie
            pass
        chosen = cookie[LANG_COOKIE].value if LANG_COOKIE in cookie else None
        locale = chosen if chosen in SUPPORTED else negotiate(headers.get("accept-language"))
        token = activate(locale)
        scope.setdefault("state", {})["locale"] = locale
        try:
            refusal = self._refuse(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send)
                return

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    out = MutableHeaders(scope=message)
                    out.setdefault("x-content-type-options", "nosniff")
                    out.setdefault("referrer-policy", "same-origin")
                    out.setdefault("x-frame-options", "DENY")
                    out.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
                    if "content-language" not in out:
                        out["content-language"] = scope["state"].get("locale", locale)
                await send(message)

            await self.app(scope, receive, send_with_headers)
        finally:
            deactivate(token)

    @staticmethod
    def _refuse(scope: Scope, headers: Headers):  # type: ignore[no-untyped-def]
        if scope["method"] not in UNSAFE:
            return None
        origin = headers.get("origin")
        if origin and origin != "null":
            host = headers.get("host", "")
            if urlsplit(origin).netloc != host:
                return error_json(403, "cross_site", _("Requests from other sites are refused."))
        path: str = scope["path"]
        if path.startswith("/api/") and scope["method"] == "POST":
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                return error_json(
                    415,
                    "unsupported_media_type",
                    _("Send this request as JSON (Content-Type: application/json)."),
                )
        return None
