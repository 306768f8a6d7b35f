"""The Chinese char n-gram model: it learns, scores like scikit-learn, stacks, and round-trips on disk."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from sentiment.errors import ModelFormatError, ModelNotFoundError
from sentiment.evaluation import LABELS
from sentiment.ngrams import CharNgramModel, char_ngrams, fit_char_ngrams, fit_weight, pool

SUBJECTS = ("房间", "服务", "质量", "物流", "味道", "客服", "包装", "价格")
PRAISE = ("很好，非常满意", "不错，下次还来", "很棒，推荐", "挺好的，值得")
COMPLAINTS = ("太差了，很失望", "很糟糕，再也不买了", "差劲，不推荐", "一般般，不值")


def corpus(subjects: tuple[str, ...]) -> tuple[list[str], list[str]]:
    positive = [s + e for s, e in itertools.product(subjects, PRAISE)]
    negative = [s + e for s, e in itertools.product(subjects, COMPLAINTS)]
    return positive + negative, ["positive"] * len(positive) + ["negative"] * len(negative)


@pytest.fixture(scope="module")
def model() -> CharNgramModel:
    texts, labels = corpus(SUBJECTS[:6])
    return fit_char_ngrams(texts, labels, min_df=2)


def test_char_ngrams_reads_one_two_and_three_characters_with_whitespace_folded() -> None:
    assert char_ngrams("很 好") == ["很", " ", "好", "很 ", " 好", "很 好"]
    assert char_ngrams("A\n\n  b") == char_ngrams("a b")


def test_reads_unseen_subjects_right(model: CharNgramModel) -> None:
    texts, labels = corpus(SUBJECTS[6:])  # subjects it never saw, phrasing it did

    predicted = ["positive" if s > 0 else "negative" for s in model.log_odds(texts)]

    assert predicted == labels
    assert model.metadata["training"]["c"] in model.metadata["training"]["c_grid"]


def test_scores_are_the_logistic_regression_on_scikit_learns_tfidf(model: CharNgramModel) -> None:
    # The hand-written inference must compute exactly what scikit-learn's transform + linear model would.
    vectorizer = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=2)
    vectorizer.fit(corpus(SUBJECTS[:6])[0])  # the rows the model was fitted on
    assert vectorizer.vocabulary_ == dict(model.vocabulary)
    texts = [*corpus(SUBJECTS)[0], "房间很好但是物流太差了，客服也很糟糕"]

    expected = vectorizer.transform(texts) @ model.coef.astype(np.float64) + model.intercept

    np.testing.assert_allclose(model.log_odds(texts), expected, rtol=1e-5, atol=1e-5)


def test_a_text_without_known_ngrams_gets_the_intercept(model: CharNgramModel) -> None:
    assert model.log_odds(["zzz qqq"])[0] == pytest.approx(model.intercept)


def test_stacking_moves_mass_between_negative_and_positive_only_for_its_language(
    model: CharNgramModel,
) -> None:
    stacked_model = model.with_weight(1.0)
    unsure = np.array([[0.3, 0.4, 0.3]] * 3, dtype=np.float32)
    texts = ["味道很棒，推荐", "物流太差了，很失望", "The delivery was late"]

    out = stacked_model.stack(unsure, texts, LABELS)

    positive, neutral, negative = LABELS.index("positive"), LABELS.index("neutral"), LABELS.index("negative")
    assert out[0, positive] > 0.3 > out[0, negative]
    assert out[1, negative] > 0.3 > out[1, positive]
    np.testing.assert_allclose(out[2], unsure[2])  # English: not this model's language
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    # the neutral-to-(negative + positive) balance moves only through the added evidence, never gains mass
    assert out[0, neutral] < 0.4 and out[1, neutral] < 0.4
    np.testing.assert_allclose(model.stack(unsure, texts, LABELS), unsure)  # weight 0: the head alone


def test_fit_weight_minimises_the_loss_and_ignores_noise() -> None:
    rng = np.random.default_rng(0)
    targets = ["positive", "negative"] * 100
    sign = np.array([1.0 if t == "positive" else -1.0 for t in targets])
    head = np.full((200, 3), 1 / 3, dtype=np.float32)  # a head that knows nothing
    informative = sign + rng.normal(0, 1.5, 200)  # n-grams right on most rows, not all
    noise = rng.normal(0, 2.0, 200)

    def loss(log_odds: np.ndarray, weight: float) -> float:
        pooled = pool(head, log_odds, weight, LABELS)
        return float(-np.log([pooled[i, LABELS.index(t)] for i, t in enumerate(targets)]).mean())

    weight = fit_weight(head, informative, targets, LABELS)
    assert 0.5 < weight < 5.0
    assert loss(informative, weight) < min(loss(informative, weight - 0.1), loss(informative, weight + 0.1))
    assert fit_weight(head, noise, targets, LABELS) < 0.1


def test_refuses_neutral_rows() -> None:
    with pytest.raises(ValueError, match="positive and negative"):
        fit_char_ngrams(["还行", "很好"], ["neutral", "positive"])


def test_save_and_load_round_trip(model: CharNgramModel, tmp_path: Path) -> None:
    weighted = model.with_weight(0.5)
    weighted.save(tmp_path)

    loaded = CharNgramModel.load(tmp_path)

    texts, _ = corpus(SUBJECTS)
    assert loaded.version == weighted.rounded().version
    assert loaded.weight == 0.5 and loaded.language == "zh"
    np.testing.assert_allclose(loaded.log_odds(texts), weighted.rounded().log_odds(texts), rtol=1e-6)
    assert loaded.metadata["training"]["rows"] == model.metadata["training"]["rows"]


def test_load_refuses_a_hand_edited_file_and_a_missing_one(model: CharNgramModel, tmp_path: Path) -> None:
    model.save(tmp_path)
    meta = json.loads((tmp_path / "ngrams.json").read_text(encoding="utf-8"))
    (tmp_path / "ngrams.json").write_text(json.dumps({**meta, "weight": 3.0}), encoding="utf-8")

    with pytest.raises(ModelFormatError, match="edited by hand"):
        CharNgramModel.load(tmp_path)
    with pytest.raises(ModelNotFoundError):
        CharNgramModel.load(tmp_path / "missing")


def test_a_temperature_flattens_the_stack_without_changing_its_answer(model: CharNgramModel) -> None:
    unsure = np.array([[0.3, 0.4, 0.3]] * 2, dtype=np.float32)
    texts = ["味道很棒，推荐", "物流太差了，很失望"]
    sharp = model.with_weight(1.0).stack(unsure, texts, LABELS)

    flat = model.with_weight(1.0).with_temperature(2.0).stack(unsure, texts, LABELS)

    assert (flat.argmax(axis=1) == sharp.argmax(axis=1)).all()
    assert (flat.max(axis=1) < sharp.max(axis=1)).all()
    with pytest.raises(ModelFormatError, match="temperature"):
        model.with_temperature(0.0)


def test_the_temperature_is_saved_and_part_of_the_version(model: CharNgramModel, tmp_path: Path) -> None:
    tempered = model.with_weight(0.5).with_temperature(1.25)
    tempered.save(tmp_path)

    loaded = CharNgramModel.load(tmp_path)

    assert loaded.temperature == 1.25
    assert loaded.version != model.with_weight(0.5).rounded().version
