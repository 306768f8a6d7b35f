"""The digest's underlying table as CSV: one row per touchpoint (plus the total), raw numbers, no rounding.

`partial_until` (UTC, ISO 8601) is set on every row of a partial digest (a week that was not over) and
empty for a complete week.

Values are numbers or empty (unknown), so a spreadsheet computes with them directly. A cell that starts
with `=`, `+`, `-` or `@` is prefixed with `'` so a touchpoint name cannot become a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from notifier.digest.model import TouchpointRow, WeeklyDigest

__all__ = ["CSV_COLUMNS", "render_csv"]

CSV_COLUMNS = (
    "week",
    "stage",
    "touchpoint",
    "mentions",
    "unanalyzed",
    "negative",
    "neutral",
    "positive",
    "share_negative",
    "share_neutral",
    "share_positive",
    "net_sentiment",
    "negative_ci_low",
    "negative_ci_high",
    "share_negative_prev_week",
    "share_negative_4w_avg",
    "net_sentiment_prev_week",
    "small_n",
    "churn_risk",
    "partial_until",
)


def render_csv(digest: WeeklyDigest) -> str:
    buffer = io.StringIO()
    # RFC 4180 line ends: csv then quotes any cell holding CR or LF, so no cell can start a new row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in [*digest.rows, digest.total]:
        writer.writerow(_cells(digest.week, row, digest.partial_until))
    return buffer.getvalue()


def _cells(week: str, row: TouchpointRow, until: datetime | None) -> list[str]:
    partial_until = None if until is None else until.astimezone(UTC).isoformat().replace("+00:00", "Z")
    low, high = row.negative_ci if row.negative_ci is not None else (None, None)
    values: list[object] = [
        week,
        row.stage,
        row.touchpoint,
        row.mentions,
        row.unanalyzed,
        row.negative,
        row.neutral,
        row.positive,
        row.share_negative,
        row.share_neutral,
        row.share_positive,
        row.net,
        low,
        high,
        row.share_negative_prev,
        row.share_negative_4w,
        row.net_prev,
        int(row.small_n),
        row.churn_risk,
        partial_until,
    ]
    return [_safe("" if value is None else _number(value)) for value in values]


def _number(value: object) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _safe(cell: str) -> str:
    """Prefix `'` to what a spreadsheet would run as a formula (OWASP CSV injection: = + - @ tab CR)."""
    risky = cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not _is_number(cell))
    return "'" + cell if risky else cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
