"""Time zones: which local day a moment belongs to, and what day it is now, in a branch's
zone. The one place for "which day is this": a visit's day (stored once, as
``local_date``, when the visit is stored), its month in reports, the window check, the
exports and "overdue"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(timezone: str | None) -> ZoneInfo:
    """The zone by its IANA name; UTC for a name this machine does not know."""
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_date(moment: str | datetime, timezone: str | None) -> str:
    """The day (YYYY-MM-DD) at the place whose zone is ``timezone`` when ``moment`` (with
    its UTC offset) happened: 2026-11-30T23:30+07:00 in Asia/Makassar is 2026-12-01."""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        return when.date().isoformat()
    return when.astimezone(zone(timezone)).date().isoformat()


def today_in(timezone: str | None) -> date:
    """Today's date at the place whose zone is ``timezone``."""
    return datetime.now(UTC).astimezone(zone(timezone)).date()


DIGEST_HOUR = 7
"""Digests go at 07:00 at the place they are about (a branch's zone)."""


def digest_due(choice: str, timezone: str | None, now: datetime | None = None) -> str:
    """When a ``daily`` or ``weekly`` digest next goes (UTC, ISO, to the second): the next
    07:00 in the zone, and for ``weekly`` the next Monday's."""
    here = zone(timezone)
    local = (now or datetime.now(UTC)).astimezone(here)
    due = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    if choice == "weekly":
        due += timedelta(days=(7 - due.weekday()) % 7)
    # Built by wall clock in the zone, then read in UTC (a DST change moves it an hour).
    return due.replace(tzinfo=None).replace(tzinfo=here).astimezone(UTC).isoformat()
