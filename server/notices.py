"""What just happened, said on the page a form leads back to ("3 statements approved").

A form's handler redirects with ``?said=<code>&n=<count>``; the page prints the code's
sentence in the reader's language. Only known codes and a number travel in the address,
so nobody can make the site say words of their own choosing.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse

from .i18n import ngettext

# code: its sentence for a count (ngettext with %(n)s, so extraction sees both forms)
NOTICES: dict[str, Callable[[int], str]] = {
    "approved": lambda n: ngettext(
        "%(n)s visit approved.",
        "%(n)s visits approved.",
        n,
    ),
    "returned": lambda n: ngettext(
        "%(n)s visit returned to its shopper.",
        "%(n)s visits returned to their shoppers.",
        n,
    ),
    "rejected": lambda n: ngettext(
        "%(n)s visit rejected.",
        "%(n)s visits rejected.",
        n,
    ),
    "statements": lambda n: ngettext(
        "%(n)s statement made or brought up to date.",
        "%(n)s statements made or brought up to date.",
        n,
    ),
    "pay_approved": lambda n: ngettext(
        "%(n)s statement approved for payment.",
        "%(n)s statements approved for payment.",
        n,
    ),
    "pay_paid": lambda n: ngettext(
        "%(n)s statement marked paid.",
        "%(n)s statements marked paid.",
        n,
    ),
    "paid_anyway": lambda n: ngettext(
        "%(n)s line of pay made for this rejected visit.",
        "%(n)s lines of pay made for this rejected visit.",
        n,
    ),
}


def redirect(url: str, code: str, n: int, skipped: int = 0) -> RedirectResponse:
    """See other: ``url``, saying ``code`` with its count (and, when some were left as
    they were because someone else changed them first, how many)."""
    assert code in NOTICES, code
    path, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in path else "?"
    said = urlencode({"said": code, "n": n, **({"skipped": skipped} if skipped else {})})
    return RedirectResponse(f"{path}{joiner}{said}{hash_mark}{fragment}", 303)


def said(request: Request) -> str | None:
    """The sentence the address asks for, in the reader's language (None: none)."""
    code = request.query_params.get("said", "")
    count = request.query_params.get("n", "")
    if code not in NOTICES or not count.isdigit() or len(count) > 9:
        return None
    sentence = NOTICES[code](int(count)) % {"n": int(count)}
    skipped = request.query_params.get("skipped", "")
    if skipped.isdigit() and 0 < int(skipped) < 10**6:
        sentence += " " + ngettext(
            "%(n)s was left as it was: someone else decided it first, or it has a warning now.",
            "%(n)s were left as they were: someone else decided them first, or they have a"
            " warning now.",
            int(skipped),
        ) % {"n": int(skipped)}
    return sentence
