"""Who is asking and what they may do: passwords, sessions, permissions, CSRF, login limits.

Permissions are decided here: named permissions (:data:`PERMISSIONS`) say which roles
may do a kind of thing, and the ``can_*`` functions narrow that to the objects a user is
attached to (an owner's branches, a manager's chains, a shopper's own visits). Handlers
ask through :func:`require`, :func:`has` and ``can_*``; tests/test_permissions.py holds
the endpoint × role matrix for every route.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import math
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from .errors import ApiError
from .i18n import _, activate, ngettext
from .models import ROLES, Branch, Role, User
from .queries import api_tokens, sessions, users

if TYPE_CHECKING:
    from .db import Database
    from .settings import Settings

SESSION_COOKIE = "vs_session"
CSRF_COOKIE = "vs_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# --- passwords -------------------------------------------------------------------

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD_LENGTH = 10


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash``: a slow, memory-hard hash with a random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=32,
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


NO_PASSWORD = "!"
"""The stored password of an invited person who has not chosen one: matches nothing."""


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=32,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))


@functools.cache
def _dummy_hash() -> str:
    """A real hash to check against when the email is unknown, so timing does not tell."""
    return hash_password(secrets.token_hex(8))


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("A password needs at least %(n)d characters.") % {"n": MIN_PASSWORD_LENGTH}
    return None


# --- permissions -----------------------------------------------------------------

_STAFF: frozenset[Role] = frozenset({"admin", "reviewer"})
_READERS: frozenset[Role] = frozenset({"admin", "reviewer", "manager", "owner"})

PERMISSIONS: dict[str, frozenset[Role]] = {
    # chains, branches, users, questionnaires, assignments
    "programme.manage": frozenset({"admin"}),
    # the review queue: read submitted visits, approve, return, reject
    "visit.review": _STAFF,
    # approved visit reports and branch dashboards, narrowed by can_see_branch
    "report.read": _READERS,
    # comparing the branches of a chain, narrowed by can_see_chain
    "chain.compare": frozenset({"admin", "reviewer", "manager", "owner"}),
    "report.export": frozenset({"admin", "manager"}),
    "selfassessment.write": frozenset({"owner"}),
    "actionplan.write": frozenset({"owner", "admin"}),
    # contesting an approved visit of one's own branches (DESIGN: "appealed by its owner
    # or manager"); deciding it is visit.review
    "appeal.write": frozenset({"owner", "manager"}),
    # signing off a done action plan, or returning it with a note: the chain's manager
    # (or the agency)
    "actionplan.verify": frozenset({"manager", "admin"}),
    # read-only API tokens scoped to a chain (for integrations and BI tools)
    "token.manage": frozenset({"admin", "manager"}),
    # shopper pay: statements made, approved, paid and exported by the agency; a
    # shopper reads only their own
    "pay.manage": frozenset({"admin"}),
    "pay.read_own": frozenset({"shopper"}),
    # the shopper app: own assignments, own visits
    "visit.create": frozenset({"shopper"}),
    "assignment.read_own": frozenset({"shopper"}),
    # who the shopper was, and where their phone was: never owners or managers
    "shopper.identity": _STAFF,
    "visit.location": _STAFF,
    "questionnaire.read": frozenset(ROLES),
}


def has(user: User | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return user is not None and user.active and user.role in PERMISSIONS[permission]


def require_login(user: User | None) -> User:
    """Any active, logged-in user (what they may see is narrowed by the can_* rules)."""
    if user is None or not user.active:
        raise ApiError(401, "not_logged_in", _("Please log in."))
    return user


def require(user: User | None, permission: str) -> User:
    """The user, if they hold the permission; else 401 (not logged in) or 403."""
    if user is None:
        raise ApiError(401, "not_logged_in", _("Please log in."))
    if not has(user, permission):
        raise ApiError(403, "forbidden", _("You do not have access to this."))
    return user


def can_see_branch(user: User, branch: Branch) -> bool:
    if user.role in _STAFF:
        return True
    if user.role == "manager":
        return branch.chain_id in user.chain_ids
    if user.role == "owner":
        return branch.id in user.branch_ids
    return False


def can_see_chain(user: User, chain_id: int, branches_of_chain: list[Branch]) -> bool:
    """Staff see every chain, a manager their own, an owner those holding their branches."""
    if user.role in _STAFF:
        return True
    if user.role == "manager":
        return chain_id in user.chain_ids
    if user.role == "owner":
        return any(b.id in user.branch_ids for b in branches_of_chain)
    return False


def can_see_visit(user: User, *, shopper_id: int, branch: Branch, state: str) -> bool:
    """Shoppers see their own visits; staff see all; owners and managers approved ones."""
    if user.role == "shopper":
        return shopper_id == user.id
    if user.role in _STAFF:
        return True
    return state == "approved" and can_see_branch(user, branch)


# --- sessions --------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


BEARER = "bearer "
TOKEN_READS = (".json", ".csv", ".xlsx")
"""What an API token may read: the JSON twins and the exports."""


async def _token_user(conn: HTTPConnection, header: str) -> User:
    """The read-only principal of a bearer token: a manager of the token's one chain,
    for GETs of JSON twins and exports only (401 for a token that is not live)."""
    db: Database = conn.app.state.db
    found = await api_tokens.live(db, header[len(BEARER) :].strip())
    if found is None:
        raise ApiError(
            401,
            "bad_token",
            _("This API token is not valid (it may have been revoked)."),
            headers={"WWW-Authenticate": 'Bearer realm="visitscore"'},
        )
    if conn.scope.get("method") not in ("GET", "HEAD") or not conn.url.path.endswith(TOKEN_READS):
        raise ApiError(
            403, "read_only", _("An API token only reads the JSON reports and the exports.")
        )
    if api_tokens.stale(found["last_used_at"]):
        async with db.transaction() as tx:
            await api_tokens.touch(tx, found["id"])
    return User(
        id=-int(found["id"]),  # never a person's id
        email="",
        name=f"API token {found['name']}",
        role="manager",
        locale=None,
        active=True,
        chain_ids=frozenset({int(found["chain_id"])}),
        token=str(found["name"]),
    )


async def current_user(conn: HTTPConnection) -> User | None:
    """The logged-in user for this request (looked up once, then kept on the request),
    or the read-only principal of an ``Authorization: Bearer`` API token."""
    if hasattr(conn.state, "user"):
        return conn.state.user  # type: ignore[no-any-return]
    user: User | None = None
    header = conn.headers.get("authorization", "")
    if header[: len(BEARER)].lower() == BEARER:
        conn.state.user = None  # a refusal's error page shows no one logged in
        conn.state.user = user = await _token_user(conn, header)
        return user
    token = conn.cookies.get(SESSION_COOKIE)
    if token:
        db: Database = conn.app.state.db
        user = await sessions.user_for(db, _token_hash(token))
    conn.state.user = user
    if user is not None and user.locale:
        activate(user.locale)
        conn.state.locale = user.locale
    return user


async def require_user(request: Request, permission: str) -> User:
    return require(await current_user(request), permission)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_delay(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after the latest of ``failures`` recent failed logins: none for the
    first ``free``, then 1 s doubling with each failure, never more than ``cap``."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free, 30))


def _wait_left(failures: int, last: str | None, free: int, cap: int) -> float:
    if last is None:
        return 0.0
    delay = login_delay(failures, free, cap)
    # Times are stored in whole seconds: the failure happened somewhere in that second, so
    # the delay counts from its end (never a full second short).
    elapsed = (datetime.now(UTC) - datetime.fromisoformat(last)).total_seconds() - 1
    return max(0.0, delay - elapsed) if delay else 0.0


async def authenticate(request: Request, email: str, password: str) -> User:
    """Check a login. Failures slow down the one who makes them, never anyone else: a
    growing delay per account *and* address (a guesser cannot lock a real user out from
    elsewhere), and a looser one per address (one machine trying many accounts).
    Raises 401, or 429 with Retry-After while a delay runs."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    address = _client_address(request)
    email = email.strip()
    pair, by_address = await sessions.recent_failures(
        db, email, address, settings.login_window_seconds
    )
    cap = settings.login_window_seconds
    wait = max(
        _wait_left(*pair, settings.login_free_failures_per_account, cap),
        _wait_left(*by_address, settings.login_free_failures_per_address, cap),
    )
    if wait > 0:
        seconds = math.ceil(wait)
        raise ApiError(
            429,
            "too_many_attempts",
            ngettext(
                "Too many failed logins. Please wait %(n)d second and try again.",
                "Too many failed logins. Please wait %(n)d seconds and try again.",
                seconds,
            )
            % {"n": seconds},
            headers={"Retry-After": str(seconds)},
        )
    found = await users.get_login(db, email) if email else None
    stored = found[1] if found else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, password, stored)
    if not ok or found is None or not found[0].active:
        async with db.transaction() as tx:
            await sessions.record_failure(tx, email, address)
        raise ApiError(401, "bad_credentials", _("That email and password do not match."))
    async with db.transaction() as tx:
        await sessions.clear_failures(tx, email, address)
    return found[0]


async def start_session(request: Request, response: Response, user: User) -> None:
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    token = secrets.token_urlsafe(32)
    async with db.transaction() as tx:
        await sessions.create(
            tx,
            _token_hash(token),
            user.id,
            settings.session_days,
            request.headers.get("user-agent", ""),
        )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    request.state.user = user


async def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        db: Database = request.app.state.db
        async with db.transaction() as tx:
            await sessions.delete(tx, _token_hash(token))
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def session_hash(request: Request) -> str:
    """The stored key of this request's session ('' without one)."""
    token = request.cookies.get(SESSION_COOKIE)
    return _token_hash(token) if token else ""


def forget_session(response: Response) -> None:
    """Drop the session cookie (its session was ended elsewhere)."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


# --- CSRF ------------------------------------------------------------------------


def _csrf_basis(request: Request, create: bool) -> str | None:
    """What a CSRF token is bound to: the login session when there is one, else this
    browser's pre-login nonce (a cookie, made on first use when ``create``)."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session:" + _token_hash(session)
    nonce = getattr(request.state, "csrf_nonce", None) or request.cookies.get(CSRF_COOKIE)
    if not nonce or len(nonce) < 32:
        if not create:
            return None
        nonce = secrets.token_urlsafe(32)
        request.state.csrf_new = True
    request.state.csrf_nonce = nonce
    return "browser:" + nonce


def _csrf_for(request: Request, basis: str) -> str:
    secret: bytes = request.app.state.secret
    return hmac.new(secret, b"csrf:" + basis.encode("ascii"), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this request's forms carry: an HMAC of the login session (or, before
    login, of the browser's nonce) with the instance secret. A token from another
    session, another browser or before logging out again is refused."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        basis = _csrf_basis(request, create=True)
        assert basis is not None
        token = request.state.csrf_token = _csrf_for(request, basis)
    return token  # type: ignore[no-any-return]


def set_csrf_cookie(request: Request, response: Response) -> None:
    if getattr(request.state, "csrf_new", False):
        response.set_cookie(
            CSRF_COOKIE,
            request.state.csrf_nonce,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the cookie (403 if wrong).

    Every handler of a form POST reads its form through here, first of all, so a forged
    request learns nothing (not even whether the user may act) before it is refused.
    """
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    basis = _csrf_basis(request, create=False)
    expected = _csrf_for(request, basis) if basis else ""
    if (
        not expected
        or not isinstance(sent, str)
        or not sent.isascii()
        or not hmac.compare_digest(sent, expected)
    ):
        raise ApiError(
            403,
            "csrf_failed",
            _("This form has expired. Please go back, reload the page and try again."),
        )
    return {k: v for k, v in form.items() if isinstance(v, str)}
