"""Severity of a negative mention: one documented score in [0, 1] and the level it maps to.

Why a weighted score instead of "p_negative ≥ 0.95 is critical": a furious review by an account with six
followers matters less to PR than a mildly negative post by a journalist with 80k followers, and a
one-star review with a cancellation threat matters more than a grumble. The formula:

    reach_raw  = followers + score_weight·max(score, 0) + reply_weight·replies + repost_weight·reposts
    reach      = min(1, ln(1 + reach_raw) / ln(1 + reach_saturation))          # log-scaled, 0..1
    components = {sentiment: p_negative, rating: 1 − rating, reach: reach, churn: churn_risk}
    base       = Σ weight_c · component_c / Σ weight_c      over the components that are KNOWN
    score      = min(1, base · topic_weight · source_weight)
    level      = critical if score ≥ critical_at, warning if score ≥ warning_at, else info

Unknown rating or churn risk are left out (their weight is not counted), so a tweet without stars is not
punished or favoured for lacking one. Unknown reach counts as reach 0: an author we know nothing about
is not assumed to be famous. `topic_weight` is the largest configured weight of the mention's topics
(1.0 when none is configured), so "billing" or "safety" can be made louder than "packaging".

Pure: plain values in, plain values out; the knobs come from `[alerts]` in the config via the
composition root.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from storage.enums import Severity

__all__ = [
    "MentionSignals",
    "SeverityKnobs",
    "SeverityScore",
    "level_for",
    "reach_score",
    "score_severity",
]


@dataclass(frozen=True)
class SeverityKnobs:
    """Weights and thresholds of the severity formula (module docstring); defaults match the config."""

    sentiment_weight: float = 0.4
    rating_weight: float = 0.15
    reach_weight: float = 0.3
    churn_weight: float = 0.15
    score_weight: float = 2.0
    reply_weight: float = 5.0
    repost_weight: float = 10.0
    reach_saturation: float = 100_000.0
    warning_at: float = 0.45
    critical_at: float = 0.75
    topic_weights: Mapping[str, float] = field(default_factory=dict)
    source_weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        weights = (self.sentiment_weight, self.rating_weight, self.reach_weight, self.churn_weight)
        if any(w < 0 for w in weights) or self.sentiment_weight + self.reach_weight <= 0:
            raise ValueError("severity weights must be ≥ 0, and sentiment + reach weights > 0")
        if self.reach_saturation <= 0:
            raise ValueError("reach_saturation must be > 0")
        if not 0.0 <= self.warning_at <= self.critical_at <= 1.0:
            raise ValueError("need 0 ≤ warning_at ≤ critical_at ≤ 1")
        if any(w < 0 for w in (*self.topic_weights.values(), *self.source_weights.values())):
            raise ValueError("topic and source weights must be ≥ 0")


@dataclass(frozen=True)
class MentionSignals:
    """What the formula reads about one mention; None means "not known for this mention"."""

    p_negative: float
    rating: float | None = None  # normalised 0..1 (1 = best)
    churn_risk: float | None = None
    followers: int | None = None
    score: int | None = None
    replies: int | None = None
    reposts: int | None = None
    topics: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class SeverityScore:
    """The score, its level, and the reach component (shown in the alert as "reach")."""

    score: float
    level: Severity
    reach: float
    reach_raw: float


def reach_score(signals: MentionSignals, knobs: SeverityKnobs) -> tuple[float, float]:
    """(log-scaled reach in 0..1, raw weighted audience): followers plus weighted engagement."""
    raw = float(max(signals.followers or 0, 0))
    raw += knobs.score_weight * max(signals.score or 0, 0)
    raw += knobs.reply_weight * max(signals.replies or 0, 0)
    raw += knobs.repost_weight * max(signals.reposts or 0, 0)
    return min(1.0, math.log1p(raw) / math.log1p(knobs.reach_saturation)), raw


def score_severity(signals: MentionSignals, knobs: SeverityKnobs) -> SeverityScore:
    """Apply the formula of the module docstring to one mention."""
    _unit("p_negative", signals.p_negative)
    reach, raw = reach_score(signals, knobs)
    parts: list[tuple[float, float]] = [
        (knobs.sentiment_weight, signals.p_negative),
        (knobs.reach_weight, reach),
    ]
    if signals.rating is not None:
        _unit("rating", signals.rating)
        parts.append((knobs.rating_weight, 1.0 - signals.rating))
    if signals.churn_risk is not None:
        _unit("churn_risk", signals.churn_risk)
        parts.append((knobs.churn_weight, signals.churn_risk))
    total_weight = sum(weight for weight, _ in parts)
    base = sum(weight * value for weight, value in parts) / total_weight
    multiplier = _topic_weight(signals.topics, knobs.topic_weights)
    if signals.source is not None:
        multiplier *= knobs.source_weights.get(signals.source, 1.0)
    score = min(1.0, base * multiplier)
    return SeverityScore(score=score, level=level_for(score, knobs), reach=reach, reach_raw=raw)


def level_for(score: float, knobs: SeverityKnobs) -> Severity:
    """The level of a score: thresholds are inclusive (a score equal to `critical_at` is critical)."""
    if score >= knobs.critical_at:
        return Severity.CRITICAL
    if score >= knobs.warning_at:
        return Severity.WARNING
    return Severity.INFO


def _topic_weight(topics: Iterable[str], weights: Mapping[str, float]) -> float:
    """The loudest configured topic wins: one "safety" topic makes the mention a safety mention."""
    known = [weights[topic] for topic in topics if topic in weights]
    return max(known) if known else 1.0


def _unit(name: str, value: float) -> None:
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
