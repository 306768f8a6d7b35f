"""The statistics of the digest, as small pure functions with hand-checkable definitions.

Shares are fractions in [0, 1]; deltas of shares are reported in percentage points by the renderers.
None always means "unknown" (nothing to divide by), never 0: an empty week has no negative share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = [
    "ces",
    "csat",
    "delta",
    "mix_shift",
    "net_sentiment",
    "nps",
    "share",
    "wilson_interval",
    "within_source_change",
]

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def share(part: int, total: int) -> float | None:
    return part / total if total else None


def net_sentiment(negative: int, neutral: int, positive: int) -> float | None:
    """(pos − neg) / (pos + neg + neu), in [−1, 1]; neutral mentions dilute it on purpose."""
    total = negative + neutral + positive
    return (positive - negative) / total if total else None


def delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def wilson_interval(successes: int, total: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion.

    Unlike the normal approximation it stays inside [0, 1] and is honest at small n and at 0 % or
    100 %, which is exactly where a weekly per-touchpoint share lives.
    """
    if total <= 0:
        return None
    p = successes / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def nps(scores: Mapping[int, int]) -> float | None:
    """Net Promoter Score on 0–10 answers: % promoters (9–10) − % detractors (0–6), from −100 to 100."""
    total = sum(scores.values())
    if not total:
        return None
    promoters = sum(n for score, n in scores.items() if score >= 9)
    detractors = sum(n for score, n in scores.items() if score <= 6)
    return 100.0 * (promoters - detractors) / total


def csat(scores: Mapping[int, int]) -> float | None:
    """CSAT on 1–5 answers: % of answers that are 4 or 5."""
    total = sum(scores.values())
    if not total:
        return None
    return 100.0 * sum(n for score, n in scores.items() if score >= 4) / total


def ces(scores: Mapping[int, int]) -> float | None:
    """Customer Effort Score: the mean answer (1–7 scale; higher means more effort)."""
    total = sum(scores.values())
    if not total:
        return None
    return sum(score * n for score, n in scores.items()) / total


def mix_shift(before: Mapping[str, int], now: Mapping[str, int]) -> float | None:
    """How much the mix of sources changed: total variation distance of the two volume shares, in [0, 1].

    0 means every source brought the same share of mentions both weeks; 1 means no overlap at all.
    """
    total_before, total_now = sum(before.values()), sum(now.values())
    if not total_before or not total_now:
        return None
    keys = set(before) | set(now)
    return 0.5 * sum(abs(now.get(k, 0) / total_now - before.get(k, 0) / total_before) for k in keys)


def within_source_change(
    before: Mapping[str, tuple[int, int]], now: Mapping[str, tuple[int, int]]
) -> float | None:
    """Change of the negative share with the source mix held fixed; values are (negative, analyzed).

    Each source heard in both weeks contributes its own change of negative share, weighted by its
    volume this week; sources heard in only one week cannot have a within-source change. The overall
    change minus this one is the mix effect.
    """
    common = [k for k in now if now[k][1] and before.get(k, (0, 0))[1]]
    weight = sum(now[k][1] for k in common)
    if not weight:
        return None
    return sum(now[k][1] * (now[k][0] / now[k][1] - before[k][0] / before[k][1]) for k in common) / weight
