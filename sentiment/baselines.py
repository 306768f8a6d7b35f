"""Lexicon baselines measured next to the model: VADER (English) and SnowNLP (Chinese).

These are what a team without a model would reach for, and roughly what the vendors' 60-75% figures
look like; the accuracy report runs them on the same rows in the same run so the comparison is fair.
Each is used with its authors' documented decision rule and no tuning on our data:
- VADER: compound >= 0.05 positive, <= -0.05 negative, else neutral (Hutto & Gilbert, README).
- SnowNLP: `sentiments` (P(positive), Naive Bayes) >= 0.5 positive, else negative; it has no neutral.
  Its training corpus contains many ChnSentiCorp and online-shopping reviews (../shared/data/README.md),
  so on those sets it has seen much of the test; the report flags it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from sentiment.types import SentimentLabel

VADER_THRESHOLD = 0.05


@dataclass(frozen=True)
class Baseline:
    """A named lexicon classifier for one language."""

    name: str
    language: str  # "en" or "zh": the only texts it is meant for
    classify: Callable[[Sequence[str]], list[SentimentLabel]]
    note: str = ""


@cache
def _vader() -> Callable[[str], dict[str, float]]:
    from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]  # no type hints
        SentimentIntensityAnalyzer,
    )

    return SentimentIntensityAnalyzer().polarity_scores  # type: ignore[no-any-return]


def vader_labels(texts: Sequence[str]) -> list[SentimentLabel]:
    """VADER's label for each text (see the module docstring for the rule)."""
    polarity = _vader()
    labels: list[SentimentLabel] = []
    for text in texts:
        compound = polarity(text)["compound"]
        if compound >= VADER_THRESHOLD:
            labels.append(SentimentLabel.POSITIVE)
        elif compound <= -VADER_THRESHOLD:
            labels.append(SentimentLabel.NEGATIVE)
        else:
            labels.append(SentimentLabel.NEUTRAL)
    return labels


def snownlp_labels(texts: Sequence[str]) -> list[SentimentLabel]:
    """SnowNLP's label for each text (see the module docstring for the rule)."""
    from snownlp import SnowNLP  # type: ignore[import-untyped]  # ships no type hints

    return [
        SentimentLabel.POSITIVE if SnowNLP(text).sentiments >= 0.5 else SentimentLabel.NEGATIVE
        for text in texts
    ]


VADER = Baseline(name="VADER", language="en", classify=vader_labels)
SNOWNLP = Baseline(
    name="SnowNLP",
    language="zh",
    classify=snownlp_labels,
    note="trained on a corpus that overlaps ChnSentiCorp and online_shopping_10_cats",
)
BASELINES: tuple[Baseline, ...] = (VADER, SNOWNLP)
