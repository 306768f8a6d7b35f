"""The digest chart as PNG bytes: negative share per touchpoint (this week vs last) and the 8-week trend.

matplotlib runs with the non-interactive Agg canvas on an explicit `Figure` (no pyplot, no global state,
no display needed, safe in the daemon's worker threads). PNG metadata carries no software version or
date, so the same digest gives the same bytes.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from notifier.digest import format as fmt
from notifier.digest.model import WeeklyDigest

__all__ = ["render_chart"]

_NOW = "#c0392b"
_BEFORE = "#bdc3c7"


def render_chart(digest: WeeklyDigest, *, dpi: int = 110) -> bytes:
    """A two-panel PNG; unknown shares (no analyzed mentions) are drawn as gaps, not as 0 %."""
    rows = digest.rows
    height = max(3.2, 0.42 * len(rows) + 1.6)
    figure = Figure(figsize=(10, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    bars, trend = figure.subplots(1, 2, width_ratios=(3, 2))

    names = [row.touchpoint for row in rows][::-1]
    now = [_pct(row.share_negative) for row in rows][::-1]
    before = [_pct(row.share_negative_prev) for row in rows][::-1]
    positions = range(len(names))
    bars.barh([p + 0.2 for p in positions], before, height=0.4, color=_BEFORE, label="last week")
    this_week = "this week (partial)" if digest.is_partial else "this week"
    bars.barh([p - 0.2 for p in positions], now, height=0.4, color=_NOW, label=this_week)
    bars.set_yticks(list(positions), names)
    bars.set_xlabel("negative share of analyzed mentions (%)")
    bars.set_xlim(0, 100)
    bars.set_title(f"Negative share per touchpoint · {fmt.week_title(digest)}", fontsize=10)
    bars.legend(loc="lower right", fontsize=8)

    labels = [label for label, _ in digest.trend]
    values = [_pct(value) for _, value in digest.trend]
    trend.plot(range(len(labels)), values, marker="o", color=_NOW)
    trend.set_xticks(range(len(labels)), [label[-3:] for label in labels], fontsize=8)
    trend.set_ylim(0, 100)
    trend.set_ylabel("negative share (%)")
    trend.set_title(f"All touchpoints, last {len(labels)} weeks", fontsize=10)
    trend.grid(alpha=0.3)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _pct(value: float | None) -> float:
    return float("nan") if value is None else 100 * value
