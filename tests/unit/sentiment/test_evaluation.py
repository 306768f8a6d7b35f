"""Figures used to choose and report heads."""

from __future__ import annotations

import pytest

from sentiment.evaluation import score

LABELS = ("negative", "neutral", "positive")


def test_macro_recall_averages_classes_not_rows() -> None:
    gold = ["negative"] * 2 + ["positive"] * 8
    predicted = ["negative", "positive"] + ["positive"] * 8
    scores = score(gold, predicted, labels=LABELS)
    assert scores.accuracy == pytest.approx(0.9)
    assert scores.recall == {"negative": 0.5, "positive": 1.0}  # neutral absent from gold: not averaged
    assert scores.macro_recall == pytest.approx(0.75)
    assert scores.confusion["negative"] == {"negative": 1, "neutral": 0, "positive": 1}


def test_a_neutral_answer_on_a_binary_set_counts_as_wrong() -> None:
    assert score(["positive", "negative"], ["neutral", "negative"], labels=LABELS).accuracy == 0.5


def test_macro_f1_by_hand_over_gold_classes() -> None:
    # negative: tp 1, predicted 2, actual 2 -> F1 0.5; positive: tp 1, predicted 2, actual 3 -> F1 0.4.
    # The one neutral answer is not averaged in as a zero F1 (neutral is not a gold class here).
    gold = ["negative", "negative", "positive", "positive", "positive"]
    predicted = ["negative", "positive", "positive", "neutral", "negative"]
    scores = score(gold, predicted, labels=LABELS)
    assert scores.f1 == {"negative": pytest.approx(0.5), "positive": pytest.approx(0.4)}
    assert scores.macro_f1 == pytest.approx(0.45)


def test_ece_comes_with_confidences_only() -> None:
    assert score(["negative"], ["negative"], labels=LABELS).ece is None
    scores = score(["negative", "positive"], ["negative", "negative"], labels=LABELS, confidence=[0.9, 0.9])
    assert scores.ece == pytest.approx(0.4)
    assert scores.as_dict()["ece"] == 0.4


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="differ"):
        score(["negative"], ["negative"], labels=LABELS, confidence=[0.5, 0.5])
