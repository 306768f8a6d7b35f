"""How digest numbers read, shared by the Slack, HTML and CSV renderers so they print the same thing."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from notifier.digest.model import CoverageLine, MixEffect, TouchpointRow, WeeklyDigest

__all__ = [
    "NA",
    "coverage_text",
    "date_range",
    "mix_text",
    "model_text",
    "net",
    "overall",
    "partial_text",
    "pct",
    "pct_range",
    "points",
    "row_summary",
    "signed",
    "stage_title",
    "survey_value",
    "week_title",
]

NA = "–"


def pct(value: float | None) -> str:
    """0.253 → "25%"; unknown → "–"."""
    return NA if value is None else f"{100 * value:.0f}%"


def pct_range(interval: tuple[float, float] | None) -> str:
    return NA if interval is None else f"{100 * interval[0]:.0f}–{100 * interval[1]:.0f}%"


def points(change: float | None) -> str:
    """A change of a share in percentage points: 0.04 → "+4.0 pts"."""
    return NA if change is None else f"{100 * change:+.1f} pts"


def net(value: float | None) -> str:
    return NA if value is None else f"{value:+.2f}"


def signed(value: float | None, digits: int = 1) -> str:
    return NA if value is None else f"{value:+.{digits}f}"


def survey_value(metric: str, value: float | None) -> str:
    if value is None:
        return NA
    if metric == "ces":
        return f"{value:.2f}"
    if metric == "csat":
        return f"{value:.0f}%"
    return f"{value:+.0f}"


def stage_title(stage: str) -> str:
    return stage.replace("_", " ").capitalize()


def date_range(digest: WeeklyDigest) -> str:
    """ "16–22 Nov 2026 (UTC)": the local days the week covers."""
    zone = ZoneInfo(digest.timezone)
    first = digest.start.astimezone(zone)
    last = (digest.end - timedelta(seconds=1)).astimezone(zone)
    return f"{_day(first)} – {_day(last)} ({digest.timezone})"


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def week_title(digest: WeeklyDigest) -> str:
    """ "2026-W47", or "2026-W48 (partial)" for a preview of a week that is not over."""
    return f"{digest.week} (partial)" if digest.is_partial else digest.week


def partial_text(digest: WeeklyDigest) -> str | None:
    """The warning a partial digest carries wherever it is shown; None for a complete week."""
    if digest.partial_until is None:
        return None
    until = digest.partial_until.astimezone(ZoneInfo(digest.timezone))
    return (
        f"Partial: up to {_day(until)} {until:%H:%M} ({digest.timezone}). The week is not over, so these "
        "numbers will change; the complete digest follows after the week ends."
    )


def row_summary(row: TouchpointRow) -> str:
    """One line of plain text (not escaped) with a touchpoint's week; the renderers escape it."""
    if not row.mentions:
        pending = f" ({row.unanalyzed} awaiting analysis)" if row.unanalyzed else ""
        return f"no analyzed mentions{pending}"
    text = (
        f"{row.mentions} mentions · negative {pct(row.share_negative)} "
        f"(95% CI {pct_range(row.negative_ci)}) · {points(row.delta_negative_prev)} vs last week, "
        f"{points(row.delta_negative_4w)} vs 4-wk avg · net {net(row.net)}"
    )
    if row.small_n:
        text += " · small sample"
    return text


def coverage_text(line: CoverageLine) -> str:
    usual = NA if line.usual is None else f"{line.usual:.0f}"
    why = f": {line.reason}" if line.status != "ok" and line.reason else ""
    return f"{line.source} {line.status}{why} ({line.items} items, usually {usual})"


def mix_text(mix: MixEffect) -> str | None:
    """The mix-effect sentence, only when the source mix changed enough to distort the overall change."""
    if not mix.flagged:
        return None
    return (
        f"The mix of sources changed a lot this week ({pct(mix.shift)} of volume moved between sources): "
        f"overall negative share {points(mix.overall_change)}, within sources {points(mix.within_change)}; "
        "the difference is a mix effect, not a change in how customers feel."
    )


def model_text(versions: dict[str, int]) -> str:
    if not versions:
        return "no analyses this week"
    return ", ".join(f"{version} ({count})" for version, count in versions.items())


def overall(digest: WeeklyDigest) -> str:
    """The headline numbers of the week over all touchpoints."""
    total = digest.total
    if not total.mentions:
        return "no analyzed mentions"
    return (
        f"{total.mentions} mentions analyzed, {pct(total.share_negative)} negative "
        f"({points(total.delta_negative_prev)} vs last week), net {net(total.net)}"
    )
