"""Small server-rendered SVG charts for the dashboard: no JavaScript, no CDN, nothing to load.

Only numbers and our own labels go into the SVG; the one piece of text from the data (a touchpoint's name
in the accessible title) goes through `Markup.format`, which escapes it. Colours come from CSS classes
(app.css), since the CSP forbids inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

__all__ = ["DayPoint", "bar_chart", "trend_chart"]

_W, _H, _PAD = 560, 160, 24


@dataclass(frozen=True)
class DayPoint:
    """One day of one touchpoint: analyzed volume, negative share and net sentiment (None: no data)."""

    day: date
    volume: int
    negative_share: float | None
    net_sentiment: float | None


def trend_chart(title: str, points: Sequence[DayPoint]) -> Markup:
    """Volume as bars, negative share (0..1) and net sentiment (−1..1, middle line = 0) as lines."""
    if not points:
        return Markup("")
    inner_w, inner_h = _W - 2 * _PAD, _H - 2 * _PAD
    step = inner_w / len(points)
    peak = max(point.volume for point in points) or 1
    parts: list[str] = []
    for index, point in enumerate(points):
        height = inner_h * point.volume / peak
        x = _PAD + index * step
        parts.append(
            f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{_PAD + inner_h - height:.1f}" '
            f'width="{step * 0.7:.1f}" height="{height:.1f}"><title>{point.day.isoformat()}: '
            f"{point.volume} analyzed</title></rect>"
        )

    def line(values: list[float | None], low: float, css: str) -> str:
        """A polyline through the days that have data, with a dot on each (a single day is a dot)."""
        coords = [
            (_PAD + (index + 0.5) * step, _PAD + inner_h * (1 - (value - low) / (1 - low)))
            for index, value in enumerate(values)
            if value is not None
        ]
        dots = "".join(f'<circle class="{css} dot" cx="{x:.1f}" cy="{y:.1f}" r="3"/>' for x, y in coords)
        if len(coords) < 2:
            return dots
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        return f'<polyline class="{css}" points="{points}"/>' + dots

    middle = _PAD + inner_h / 2  # net sentiment 0
    parts.append(f'<line class="axis" x1="{_PAD}" x2="{_W - _PAD}" y1="{middle}" y2="{middle}"/>')
    parts.append(line([point.negative_share for point in points], 0.0, "negative-share"))
    parts.append(line([point.net_sentiment for point in points], -1.0, "net-sentiment"))
    labels = (
        f'<text class="tick" x="{_PAD}" y="{_H - 4}">{points[0].day.isoformat()}</text>'
        f'<text class="tick end" x="{_W - _PAD}" y="{_H - 4}">{points[-1].day.isoformat()}</text>'
        f'<text class="tick" x="2" y="{_PAD - 8}">peak {peak}/day</text>'
    )
    return Markup(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}"><title>{}</title>'
    ).format(_W, _H, title, title) + Markup("".join(parts) + labels + "</svg>")  # noqa: S704 - numbers and our own words only


def bar_chart(title: str, rows: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars with counts, e.g. open cases by age bucket (labels are ours, escaped anyway)."""
    if not rows:
        return Markup("")
    peak = max(count for _, count in rows) or 1
    row_h = 26
    height = row_h * len(rows) + 8
    body = Markup("")
    for index, (label, count) in enumerate(rows):
        y = 4 + index * row_h
        width = 300 * count / peak
        body += Markup(
            '<text class="tick" x="0" y="{}">{}</text><rect class="bar" x="110" y="{}" width="{:.1f}" '
            'height="18"/><text class="tick" x="{:.1f}" y="{}">{}</text>'
        ).format(y + 14, label, y, width, 116 + width, y + 14, count)
    return Markup(
        '<svg class="chart" viewBox="0 0 480 {}" role="img" aria-label="{}"><title>{}</title>{}</svg>'
    ).format(height, title, title, body)
