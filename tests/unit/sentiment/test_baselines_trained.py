"""The TF-IDF + logistic regression baseline on small hand-written sets: it learns, and chooses C on train."""

from __future__ import annotations

import itertools

import pytest

from sentiment.errors import TrainSplitError
from sentiment.reference import (
    CV_FOLDS,
    TFIDF_LR,
    BaselineFit,
    TrainedBaseline,
    fit_baseline,
    tfidf_features,
    tfidf_vectorizer,
)

SUBJECTS = ("The delivery", "The support team", "The hotel room", "This phone", "The food", "The app")
PRAISE = ("was excellent", "is wonderful, I love it", "was great and fast", "is perfect, thank you")
COMPLAINTS = ("was terrible", "is awful, I hate it", "was broken and slow", "is useless, what a waste")

ZH_SUBJECTS = ("房间", "服务", "质量", "物流", "味道", "客服")
ZH_PRAISE = ("很好，非常满意", "不错，下次还来", "很棒，推荐")
ZH_COMPLAINTS = ("太差了，很失望", "很糟糕，再也不买了", "差劲，不推荐")


def sentences(subjects: tuple[str, ...], endings: tuple[str, ...], joiner: str = " ") -> list[str]:
    return [f"{subject}{joiner}{ending}" for subject, ending in itertools.product(subjects, endings)]


def labelled(positive: list[str], negative: list[str]) -> tuple[list[str], list[str]]:
    return positive + negative, ["positive"] * len(positive) + ["negative"] * len(negative)


def test_learns_clear_english_sentiment_and_answers_unseen_sentences() -> None:
    # Train on four subjects, answer sentences about two it never saw with those words.
    texts, labels = labelled(sentences(SUBJECTS[:4], PRAISE), sentences(SUBJECTS[:4], COMPLAINTS))
    dev = ["Honestly the checkout was excellent", "The refund process was terrible"]

    fit = fit_baseline(TFIDF_LR, texts, labels, dev, language="en", scoring="accuracy")

    assert fit.labels == ["positive", "negative"]
    assert fit.c in TFIDF_LR.c_grid
    assert fit.cv_score == 1.0
    assert fit.train_rows == len(texts)
    assert fit.name == "TF-IDF+LR" and fit.scoring == "accuracy"


def test_chooses_the_c_that_cross_validates_best_on_train() -> None:
    # A C of 1e-4 regularises the model into answering the majority class everywhere: on this set with
    # 60% positive rows that scores 0.6 in CV, far below the C that learns the words.
    positive, negative = sentences(SUBJECTS, PRAISE), sentences(SUBJECTS, COMPLAINTS)[:16]
    texts, labels = labelled(positive, negative)
    dev = ["The hotel room was great and fast"]

    def fit_with(*grid: float) -> BaselineFit:
        baseline = TrainedBaseline(name="LR", features=tfidf_features, c_grid=grid)
        return fit_baseline(baseline, texts, labels, dev, language="en", scoring="accuracy")

    assert fit_with(1e-4).cv_score == pytest.approx(0.6)
    chosen = fit_with(1e-4, 10.0)
    assert chosen.c == 10.0
    assert chosen.cv_score > 0.9
    assert chosen.labels == ["positive"]


def test_chinese_reads_character_ngrams() -> None:
    vocabulary = tfidf_vectorizer("zh").fit(["服务很好", "服务很好", "质量太差", "质量太差"]).vocabulary_
    assert {"好", "很好", "服务很", "差"} <= set(vocabulary)
    # A word tokenizer would see each unspaced sentence as one token and could not answer a new one.
    texts, labels = labelled(
        sentences(ZH_SUBJECTS[:4], ZH_PRAISE, joiner=""), sentences(ZH_SUBJECTS[:4], ZH_COMPLAINTS, joiner="")
    )

    fit = fit_baseline(TFIDF_LR, texts, labels, ["味道很好", "客服太差了"], language="zh", scoring="accuracy")

    assert fit.labels == ["positive", "negative"]


def test_english_reads_word_pairs_and_characters_within_words() -> None:
    features = tfidf_vectorizer("en").fit(["not good at all", "not good at all"])
    names = set(features.get_feature_names_out())
    assert "words__not good" in names
    assert "chars__ goo" in names  # char_wb pads words with a space


def test_refuses_a_train_split_it_cannot_cross_validate() -> None:
    with pytest.raises(TrainSplitError, match="one class only"):
        fit_baseline(TFIDF_LR, ["good"] * 10, ["positive"] * 10, ["good"], language="en", scoring="accuracy")
    texts, labels = labelled(sentences(SUBJECTS, PRAISE), sentences(SUBJECTS[:1], COMPLAINTS[: CV_FOLDS - 1]))
    with pytest.raises(TrainSplitError, match="fewer train rows than the 5 CV folds: negative"):
        fit_baseline(TFIDF_LR, texts, labels, ["good"], language="en", scoring="accuracy")
