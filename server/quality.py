"""A shopper's visit quality, the one place its rule is written (docs/scoring.md).

Each visit a shopper sent and a reviewer decided gets a mark out of 10: the reviewer's
rating (1–10) when they gave one, else 7; a return (the visit, at any revision, was sent
back) takes off 2; an appeal upheld against it (fully or partly) takes off 3; a rejected
visit marks 1. Marks never go below 1. The shopper's quality is the mean of their marks;
the trend compares the mean of the last 90 days with the 90 days before (by when the
visits started). Only the visits started in the last 365 days count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

UNRATED = 7.0
RETURN_COST = 2.0
APPEAL_COST = 3.0
REJECTED = 1.0
TREND_DAYS = 90
WINDOW_DAYS = 365
"""Quality covers the visits started in the last year."""


@dataclass(frozen=True)
class VisitOutcome:
    """What became of one visit (all its revisions taken together)."""

    started: datetime | None
    rating: int | None
    returned: bool
    rejected: bool
    upheld: bool
    decided: bool


def mark(v: VisitOutcome) -> float:
    if v.rejected:
        return REJECTED
    value = float(v.rating) if v.rating is not None else UNRATED
    value -= RETURN_COST if v.returned else 0.0
    value -= APPEAL_COST if v.upheld else 0.0
    return max(1.0, value)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def summary(outcomes: Iterable[VisitOutcome], now: datetime) -> dict[str, object]:
    """Counts, the quality (mean mark) and its trend (recent, before: None without
    visits in that span) of one shopper's visits."""
    items = list(outcomes)
    decided = [v for v in items if v.decided]
    recent_from, before_from = (
        now - timedelta(days=TREND_DAYS),
        now - timedelta(days=2 * TREND_DAYS),
    )
    recent = [mark(v) for v in decided if v.started and v.started >= recent_from]
    before = [mark(v) for v in decided if v.started and before_from <= v.started < recent_from]
    rated = [v.rating for v in items if v.rating is not None]
    flawed = sum(1 for v in items if v.returned or v.rejected or v.upheld)
    return {
        "visits": len(items),
        "decided": len(decided),
        "returned": sum(1 for v in items if v.returned),
        "rejected": sum(1 for v in items if v.rejected),
        "appeals_upheld": sum(1 for v in items if v.upheld),
        "clean_share": (len(items) - flawed) / len(items) if items else None,
        "rated": len(rated),
        "average_rating": _mean([float(r) for r in rated]),
        "quality": _mean([mark(v) for v in decided]),
        "trend": {"recent": _mean(recent), "before": _mean(before)},
    }
