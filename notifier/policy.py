"""Alert policy: which analysed mentions deserve a Slack alert, where it goes and how loud it is.

Pure functions over plain values (no ORM rows, no settings objects), so the rules can be unit-tested
exhaustively and the analysis job decides *and* enqueues in one transaction. The foundation rule is
"negative with p_negative ≥ threshold → alert"; severity scoring, routing rules and budgets (issue 6)
are meant to grow here behind the same `AlertDecision` value, so callers do not change when they do.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from storage.enums import Severity

__all__ = [
    "DEFAULT_CRITICAL_AT",
    "AlertDecision",
    "ReviewReason",
    "ReviewThresholds",
    "decide_mention_alert",
    "mention_dedup_key",
    "review_reason",
    "severity_for",
]

NEGATIVE = "negative"
DEFAULT_CRITICAL_AT = 0.95


@dataclass(frozen=True)
class AlertDecision:
    """What the policy decided for one mention: the outbox row to enqueue, minus the message body.

    `dedup_key` is the outbox's idempotency key: the same mention can be analysed again (a new model
    version, a retried batch) and must still produce at most one Slack message.
    """

    channel: str
    dedup_key: str
    severity: Severity
    reason: str


def mention_dedup_key(mention_id: int) -> str:
    """Outbox key of the alert for one mention.

    Our mention id is already unique per (source, external_id), so it identifies the mention across
    re-analysis; cross-posted copies are caught earlier by `mentions.duplicate_of_id`.
    """
    return f"mention:{mention_id}"


def severity_for(
    p_negative: float, *, threshold: float, critical_at: float = DEFAULT_CRITICAL_AT
) -> Severity:
    """Severity from the sentiment probability alone (the foundation's rule).

    Issue 6 replaces this with a documented formula over rating, reach, churn risk and topic weight; the
    threshold-crossing alert is a warning, a near-certain negative is critical, and below the threshold
    a mention is informational (no alert is sent for it today).
    """
    if p_negative >= max(critical_at, threshold):
        return Severity.CRITICAL
    if p_negative >= threshold:
        return Severity.WARNING
    return Severity.INFO


def decide_mention_alert(
    *,
    mention_id: int,
    p_negative: float,
    label: str,
    threshold: float,
    channel: str,
    critical_at: float = DEFAULT_CRITICAL_AT,
) -> AlertDecision | None:
    """Alert when the model labels a mention negative *and* is at least `threshold` sure of it.

    Requiring both keeps a mention whose largest class is neutral out of Slack even if its p_negative
    happens to clear a low threshold. Values outside [0, 1] are a bug upstream, so they raise rather than
    silently deciding either way. `label` is compared by value, so a `SentimentLabel` works as well.
    """
    _check_probability("p_negative", p_negative)
    _check_probability("threshold", threshold)
    _check_probability("critical_at", critical_at)
    if not channel.strip():
        raise ValueError("channel must not be empty")
    if str(label) != NEGATIVE or p_negative < threshold:
        return None
    return AlertDecision(
        channel=channel,
        dedup_key=mention_dedup_key(mention_id),
        severity=severity_for(p_negative, threshold=threshold, critical_at=critical_at),
        reason=f"negative with p_negative {p_negative:.2f} ≥ threshold {threshold:.2f}",
    )


class ReviewReason(enum.StrEnum):
    """Why a mention sits in the CX review queue; stored as the case's `reason`."""

    NEGATIVE = "negative"
    LOW_CONFIDENCE = "low_confidence"
    UNRELIABLE = "unreliable"
    CHURN_RISK = "churn_risk"
    SLACK_UNKNOWN = "slack_unknown"  # its alert may or may not be in Slack (notifier.dispatcher)


@dataclass(frozen=True)
class ReviewThresholds:
    """When a mention that is not (or not only) a Slack alert still deserves a human look."""

    negative_threshold: float
    review_min_p_negative: float
    churn_at: float


def review_reason(
    *,
    label: str,
    p_negative: float,
    reliable: bool,
    churn_risk: float | None,
    thresholds: ReviewThresholds,
) -> ReviewReason | None:
    """The queue reason for one analysed mention, or None when nobody needs to look at it.

    Slack only gets what the model is sure of (`decide_mention_alert`); the queue is where doubt goes:
    a negative below the alert threshold, a possibly-negative reading of a text the model is weak on
    (very short, emoji-only, sarcasm cues, a language it handles badly), or a churn signal. A confident,
    reliable negative is the plain "negative" case that accompanies its alert.
    """
    _check_probability("p_negative", p_negative)
    negative = str(label) == NEGATIVE
    possibly_negative = negative or p_negative >= thresholds.review_min_p_negative
    if negative and reliable and p_negative >= thresholds.negative_threshold:
        return ReviewReason.NEGATIVE
    if possibly_negative and not reliable:
        return ReviewReason.UNRELIABLE
    if churn_risk is not None and churn_risk >= thresholds.churn_at:
        return ReviewReason.CHURN_RISK
    if possibly_negative:
        return ReviewReason.LOW_CONFIDENCE
    return None


def _check_probability(name: str, value: float) -> None:
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
