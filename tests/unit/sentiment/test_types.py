"""Analysis: label choice, confidence and the mapping from head labels to SentimentLabel."""

from __future__ import annotations

import pytest

from sentiment.types import Analysis, SentimentLabel


def test_label_is_the_most_probable_and_confidence_its_probability() -> None:
    analysis = Analysis.from_probabilities(
        {SentimentLabel.NEGATIVE: 0.7, SentimentLabel.NEUTRAL: 0.2, SentimentLabel.POSITIVE: 0.1},
        model_version="v",
    )
    assert analysis.label is SentimentLabel.NEGATIVE
    assert analysis.confidence == pytest.approx(0.7)
    assert (analysis.p_negative, analysis.p_neutral, analysis.p_positive) == pytest.approx((0.7, 0.2, 0.1))
    assert analysis.model_version == "v"
    assert analysis.topics == ()
    assert analysis.lang is None and analysis.churn_risk is None


def test_a_label_the_head_does_not_have_gets_probability_zero() -> None:
    analysis = Analysis.from_probabilities(
        {SentimentLabel.NEGATIVE: 0.2, SentimentLabel.POSITIVE: 0.8}, model_version="binary-head"
    )
    assert analysis.label is SentimentLabel.POSITIVE
    assert analysis.p_neutral == 0.0


def test_labels_are_the_stored_strings() -> None:
    assert [str(label) for label in SentimentLabel] == ["negative", "neutral", "positive"]
    assert SentimentLabel("negative") is SentimentLabel.NEGATIVE
