"""Mapping a Hugging Face model's id2label onto negative / neutral / positive."""

from __future__ import annotations

import pytest

from sentiment.errors import ModelFormatError
from sentiment.hf_classifier import map_labels
from sentiment.types import SentimentLabel

NEG, NEU, POS = SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        ({0: "negative", 1: "neutral", 2: "positive"}, (NEG, NEU, POS)),
        ({0: "POSITIVE", 1: "NEGATIVE"}, (POS, NEG)),
        ({0: "Neg", 1: "Neu", 2: "Pos"}, (NEG, NEU, POS)),
        ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, (NEG, NEU, POS)),
        ({0: "LABEL_0", 1: "LABEL_1"}, (NEG, POS)),
        ({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}, (NEG, NEG, NEU, POS, POS)),
    ],
)
def test_labels_are_mapped_from_the_config(
    id2label: dict[int, str], expected: tuple[SentimentLabel, ...]
) -> None:
    assert map_labels(id2label) == expected


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "joy", 1: "anger"},
        {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3"},
        {0: "neutral", 1: "positive"},
        {1: "negative", 2: "positive"},
    ],
)
def test_labels_that_are_not_sentiment_are_refused(id2label: dict[int, str]) -> None:
    with pytest.raises(ModelFormatError):
        map_labels(id2label)
