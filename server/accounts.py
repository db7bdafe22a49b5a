"""The links that let a person choose their password (a reset they asked for, an admin's
invitation): ``/password-reset/{token}``. A token is the row's id and an HMAC of the id,
purpose and nonce under the instance secret (server/queries/accounts.py keeps the rows):
the database alone does not give a link away, and a link works once, until it expires."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any


def link_token(secret: bytes, token: dict[str, Any]) -> str:
    message = f"account:{token['id']}:{token['purpose']}:{token['nonce']}".encode()
    return f"{token['id']}.{hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]}"


def matches(secret: bytes, text: str, token: dict[str, Any] | None) -> bool:
    """Whether ``text`` is the link of the ``token`` row it names."""
    return token is not None and hmac.compare_digest(link_token(secret, token), text)


def named_id(text: str) -> int | None:
    """The row a link names (before it is checked), or None for a malformed one."""
    head, _, tail = text.partition(".")
    return int(head) if head.isdigit() and len(head) < 19 and len(tail) == 40 else None
