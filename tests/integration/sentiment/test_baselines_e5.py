"""The frozen-encoder baseline on a real small encoder: its standard sentence embedding, cached; a probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentiment.encoder import Encoder
from sentiment.reference import E5_C_GRID, e5_features, fit_baseline, frozen_e5_lr
from tests.support.models import LABELLED_REVIEWS


@pytest.fixture(scope="module")
def encoder(minilm_model_dir: Path) -> Encoder:
    return Encoder.load(minilm_model_dir)


def test_features_are_the_encoders_sentence_embedding_and_are_cached(
    encoder: Encoder, tmp_path: Path
) -> None:
    texts = [text for _, text in LABELLED_REVIEWS]

    train, dev = e5_features(encoder, cache_dir=tmp_path)(texts, texts[:3], "en")

    # L2-normalised mean pool of the last layer, as `Encoder.encode` defines it (cache stores float16).
    np.testing.assert_allclose(train, encoder.encode(texts), atol=2e-3)
    np.testing.assert_allclose(dev, train[:3], atol=2e-3)
    assert list(tmp_path.rglob("*.npy")), "embeddings are cached for the next report"


def test_probe_learns_from_train_and_answers_new_sentences(encoder: Encoder, tmp_path: Path) -> None:
    labels, texts = zip(*LABELLED_REVIEWS, strict=True)
    dev = ["Horrible experience, the staff were rude and nothing worked.", "Lovely service, I am delighted!"]

    fit = fit_baseline(
        frozen_e5_lr(encoder, cache_dir=tmp_path), texts, labels, dev, language="en", scoring="accuracy"
    )

    assert fit.labels == ["negative", "positive"]
    assert fit.name == "frozen e5+LR" and fit.c in E5_C_GRID
    assert fit.train_rows == len(LABELLED_REVIEWS)
