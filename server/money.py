"""Money: amounts kept as integers of the currency's smallest unit (sen, cents, rupiah),
with the currency's ISO code; read from what people type and written in their language.
The one place that knows how many decimals a currency has (CLDR's, through Babel: IDR
and XOF have none, EUR two)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies

MAX_MINOR = 10**13
"""No amount of one line or one fee is above this (a hundred billion rupiah)."""

_CURRENCIES = frozenset(list_currencies())


def is_currency(code: object) -> bool:
    """An ISO 4217 code Babel knows (``IDR``, ``EUR``)."""
    return (
        isinstance(code, str)
        and re.fullmatch(r"[A-Z]{3}", code) is not None
        and (code in _CURRENCIES)
    )


def digits(currency: str) -> int:
    """How many decimals the currency's amounts have (0 for IDR, 2 for EUR)."""
    return int(get_currency_precision(currency))


def to_minor(value: Decimal | float | int, currency: str) -> int | None:
    """A major-unit amount (12.5 EUR) as minor units (1250); None when it has more
    decimals than the currency allows or is out of range."""
    try:
        amount = Decimal(str(value)) * (10 ** digits(currency))
    except InvalidOperation:
        return None
    if amount != amount.to_integral_value() or not 0 <= amount <= MAX_MINOR:
        return None
    return int(amount)


def from_minor(minor: int, currency: str) -> Decimal:
    """Minor units (1250) as the major-unit amount (Decimal("12.50"))."""
    places = digits(currency)
    return (Decimal(minor) / (10**places)).quantize(Decimal(1).scaleb(-places))


def parse(text: str, currency: str, locale: str) -> int | None:
    """What someone typed as an amount, read as their language writes numbers ("150.000"
    is 150000 in Indonesian, "12,50" is 12.50 in French, "1,234.50" in English), in minor
    units; None when it is not one or has more decimals than the currency. Spaces group
    thousands in every language; the language's group mark must group by three; a mark
    that is not the language's group mark is a decimal mark. Empty means 0."""
    symbols = Locale.parse(locale).number_symbols.get("latn", {})
    group, decimal = symbols.get("group", ","), symbols.get("decimal", ".")
    cleaned = re.sub(r"[\s\u00a0\u202f']", "", text)
    if not cleaned:
        return None if text.strip() else 0
    decimals = [decimal, *sorted({".", ","} - {decimal, group})]
    whole, fraction = cleaned, ""
    for mark in decimals:
        if mark in cleaned:
            whole, _, fraction = cleaned.rpartition(mark)
            break
    if group in ".," and group in whole:
        if not re.fullmatch(rf"\d{{1,3}}({re.escape(group)}\d{{3}})+", whole):
            return None
        whole = whole.replace(group, "")
    if not whole.isdigit() or not (fraction == "" or fraction.isdigit()):
        return None
    if len(fraction) > digits(currency):
        return None
    return to_minor(Decimal(f"{whole}.{fraction or 0}"), currency)


def format_amount(minor: int, currency: str, locale: str) -> str:
    """Minor units written with the currency in the reader's language (Rp150.000,
    12,50 €, $12.50)."""
    return str(format_currency(from_minor(minor, currency), currency, locale=locale))


def plain(minor: int, currency: str) -> str:
    """Minor units as a plain decimal for files a bank reads ("12.50", "150000")."""
    return str(from_minor(minor, currency))
