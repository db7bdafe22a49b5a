"""Charts as SVG made on the server: readable without JavaScript, and accessible (a title,
a description, and every value also in a table beside the chart)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from markupsafe import Markup, escape

# Distinguishable in colour and in pattern (dashes), with AA contrast on white.
COLOURS = ["#0b5cad", "#a4161a", "#1d6b35", "#6a3d9a", "#8a5a00", "#00606e"]
DASHES = ["", "6 4", "2 3", "10 3 2 3", "1 2", "8 2"]


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float | None]  # one per x label; None leaves a gap


def line_chart(
    title: str,
    description: str,
    x_labels: list[str],
    series: list[Series],
    width: int = 640,
    height: int = 240,
    target: float | None = None,
    target_label: str = "",
) -> Markup:
    """Scores 0..100 over time, one line per series; a target, when given, is a dashed
    line across with its label."""
    left, right, top, bottom = 36, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(x_labels) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot_h * (1 - v / 100)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" class="chart"'
        f' aria-labelledby="{_id(title)}-t {_id(title)}-d">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{escape(description)}</desc>',
    ]
    for level in (0, 25, 50, 75, 100):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(level):.1f}"'
            f' y2="{y(level):.1f}" stroke="#d5dbe3" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(level) + 4:.1f}" text-anchor="end"'
            f' font-size="11" fill="#4a5361">{level}</text>'
        )
    every = max(1, math.ceil(len(x_labels) / 7))
    shown = list(range(0, len(x_labels), every))
    if shown and len(x_labels) - 1 - shown[-1] >= every / 2 + 0.5:
        shown.append(len(x_labels) - 1)
    for i in shown:
        anchor = "end" if i == len(x_labels) - 1 and i else "middle"
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor}"'
            f' font-size="11" fill="#4a5361">{escape(x_labels[i])}</text>'
        )
    if target is not None:
        parts.append(
            f'<line class="target" x1="{left}" x2="{width - right}" y1="{y(target):.1f}"'
            f' y2="{y(target):.1f}" stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="3 3"/>'
        )
        parts.append(
            f'<text x="{width - right}" y="{y(target) - 4:.1f}" text-anchor="end"'
            f' font-size="11" fill="#1b1f24">{escape(target_label)}</text>'
        )
    for n, s in enumerate(series):
        colour, dash = COLOURS[n % len(COLOURS)], DASHES[n % len(DASHES)]
        runs: list[list[str]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"'
                    f' stroke-dasharray="{dash}" points="{" ".join(run)}"/>'
                )
            for point in run:
                cx, cy = point.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><svg width="28" height="10" aria-hidden="true"><line x1="0" x2="28" y1="5" y2="5"'
        f' stroke="{COLOURS[n % len(COLOURS)]}" stroke-width="3"'
        f' stroke-dasharray="{DASHES[n % len(DASHES)]}"/></svg> {escape(s.label)}</li>'
        for n, s in enumerate(series)
    )
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>')


def _id(text: str) -> str:
    return "c" + hashlib.sha1(text.encode()).hexdigest()[:10]


def band(score: float | None) -> str:
    """A heat-map class for a score; the number is always printed too."""
    if score is None:
        return "heat-none"
    if score >= 85:
        return "heat-4"
    if score >= 70:
        return "heat-3"
    if score >= 50:
        return "heat-2"
    return "heat-1"
