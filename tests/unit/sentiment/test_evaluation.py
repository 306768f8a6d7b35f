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
