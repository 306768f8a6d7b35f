"""The foundation alert rule: negative with p_negative ≥ threshold → one alert per mention."""

from __future__ import annotations

import enum

import pytest

from notifier.policy import (
    AlertDecision,
    ReviewReason,
    ReviewThresholds,
    Severity,
    decide_mention_alert,
    mention_dedup_key,
    review_reason,
    severity_for,
)


class Label(enum.StrEnum):  # stands in for storage's SentimentLabel: the policy compares by value
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


def decide(p_negative: float, label: str = "negative", threshold: float = 0.8) -> AlertDecision | None:
    return decide_mention_alert(
        mention_id=42, p_negative=p_negative, label=label, threshold=threshold, channel="#cx-alerts"
    )


@pytest.mark.parametrize("p_negative", [0.8, 0.81, 0.94, 1.0])
def test_negative_at_or_above_threshold_alerts(p_negative: float) -> None:
    decision = decide(p_negative)
    assert decision is not None
    assert decision.channel == "#cx-alerts"
    assert decision.dedup_key == "mention:42"


@pytest.mark.parametrize("p_negative", [0.0, 0.5, 0.799999])
def test_negative_below_threshold_does_not_alert(p_negative: float) -> None:
    assert decide(p_negative) is None


@pytest.mark.parametrize("label", ["neutral", "positive", Label.NEUTRAL, Label.POSITIVE])
def test_only_negative_label_alerts_even_with_high_p_negative(label: str) -> None:
    assert decide(0.9, label=label) is None


def test_label_enum_compares_by_value() -> None:
    assert decide(0.9, label=Label.NEGATIVE) is not None


def test_threshold_zero_and_one_are_inclusive_bounds() -> None:
    assert decide(0.0, threshold=0.0) is not None
    assert decide(0.999, threshold=1.0) is None
    assert decide(1.0, threshold=1.0) is not None


def test_severity_is_warning_above_threshold_and_critical_when_near_certain() -> None:
    warning = decide(0.85)
    critical = decide(0.97)
    assert warning is not None
    assert warning.severity is Severity.WARNING
    assert critical is not None
    assert critical.severity is Severity.CRITICAL


def test_severity_for_never_calls_a_below_threshold_mention_critical() -> None:
    assert severity_for(0.97, threshold=0.99) is Severity.INFO
    assert severity_for(0.99, threshold=0.99) is Severity.CRITICAL
    assert severity_for(0.5, threshold=0.8) is Severity.INFO


def test_same_mention_always_gets_the_same_dedup_key() -> None:
    first, second = decide(0.9), decide(0.95)
    assert first is not None and second is not None
    assert first.dedup_key == second.dedup_key == mention_dedup_key(42)


@pytest.mark.parametrize(
    ("p_negative", "threshold"),
    [(-0.1, 0.8), (1.1, 0.8), (float("nan"), 0.8), (0.9, 1.5), (0.9, -0.1), (0.9, float("nan"))],
)
def test_out_of_range_probabilities_are_rejected(p_negative: float, threshold: float) -> None:
    with pytest.raises(ValueError):
        decide(p_negative, threshold=threshold)


def test_empty_channel_is_rejected() -> None:
    with pytest.raises(ValueError):
        decide_mention_alert(mention_id=1, p_negative=0.9, label="negative", threshold=0.8, channel=" ")


THRESHOLDS = ReviewThresholds(negative_threshold=0.7, review_min_p_negative=0.4, churn_at=0.5)


def reason(label: str, p_negative: float, *, reliable: bool = True, churn: float | None = None) -> str | None:
    return review_reason(
        label=label, p_negative=p_negative, reliable=reliable, churn_risk=churn, thresholds=THRESHOLDS
    )


def test_a_confident_reliable_negative_is_reviewed_as_plain_negative() -> None:
    assert reason("negative", 0.9) is ReviewReason.NEGATIVE


def test_a_negative_below_the_alert_threshold_is_queued_for_low_confidence() -> None:
    assert reason("negative", 0.55) is ReviewReason.LOW_CONFIDENCE


def test_a_neutral_reading_that_leans_negative_is_queued_but_a_clear_positive_is_not() -> None:
    assert reason("neutral", 0.45) is ReviewReason.LOW_CONFIDENCE
    assert reason("positive", 0.05) is None
    assert reason("neutral", 0.39) is None


def test_a_negative_on_text_the_model_reads_badly_is_queued_as_unreliable_even_when_confident() -> None:
    assert reason("negative", 0.97, reliable=False) is ReviewReason.UNRELIABLE
    assert reason("positive", 0.02, reliable=False) is None


def test_churn_risk_queues_a_mention_whatever_its_sentiment() -> None:
    assert reason("positive", 0.1, churn=0.8) is ReviewReason.CHURN_RISK
    assert reason("neutral", 0.2, churn=0.49) is None
    assert reason("negative", 0.6, churn=0.9) is ReviewReason.CHURN_RISK
