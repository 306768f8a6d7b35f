"""The analyzer with real loading code on small models: tiny random XLM-R and all-MiniLM-L6-v2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentiment import Analyzer, ModelFormatError, SentimentLabel, load_analyzer
from sentiment.encoder import Encoder

MIXED_LENGTHS = [
    "good",
    "the service was awful and the delivery was slow, the food was bad, the service was bad",
    "great food",
    "",
    "the food was good, the service was great",
]


def test_encoder_gives_unit_vectors_in_input_order(tiny_model_dir: Path) -> None:
    encoder = Encoder.load(tiny_model_dir)

    together = encoder.encode(MIXED_LENGTHS, batch_size=2)  # sorted by length inside, several batches
    one_by_one = np.stack([encoder.encode([text])[0] for text in MIXED_LENGTHS])

    assert together.shape == (len(MIXED_LENGTHS), encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)


def test_long_texts_are_truncated_not_rejected(tiny_model_dir: Path) -> None:
    encoder = Encoder.load(tiny_model_dir, max_length=16)
    vectors = encoder.encode(["the food was good " * 200])
    assert np.isfinite(vectors).all()


def test_analyze_returns_one_result_per_text_with_versions(
    tiny_model_dir: Path, tiny_heads_dir: Path
) -> None:
    analyzer = load_analyzer(tiny_model_dir, heads_dir=tiny_heads_dir, batch_size=2)

    results = analyzer.analyze(MIXED_LENGTHS)

    assert len(results) == len(MIXED_LENGTHS)
    for result in results:
        assert result.p_negative + result.p_neutral + result.p_positive == pytest.approx(1.0, abs=1e-5)
        assert result.confidence == max(result.p_negative, result.p_neutral, result.p_positive)
        assert isinstance(result.label, SentimentLabel)
        assert result.model_version == f"{analyzer.encoder.version}+{analyzer.sentiment.version}"
    assert analyzer.model_version.startswith("tiny-e5s1.")
    assert [r.label for r in results] == [analyzer.analyze([t])[0].label for t in MIXED_LENGTHS]


def test_analyze_takes_a_sequence_not_a_string(tiny_model_dir: Path, tiny_heads_dir: Path) -> None:
    analyzer = load_analyzer(tiny_model_dir, heads_dir=tiny_heads_dir)
    assert analyzer.analyze([]) == []
    with pytest.raises(TypeError):
        analyzer.analyze("one text")  # type: ignore[arg-type]


def test_a_head_trained_on_another_encoder_is_refused(minilm_model_dir: Path, tiny_heads_dir: Path) -> None:
    with pytest.raises(ModelFormatError, match="trained on encoder"):
        load_analyzer(minilm_model_dir, heads_dir=tiny_heads_dir)


def test_minilm_analyzer_tells_clear_negatives_from_positives(
    minilm_model_dir: Path, minilm_heads_dir: Path
) -> None:
    analyzer = load_analyzer(minilm_model_dir, heads_dir=minilm_heads_dir)
    assert isinstance(analyzer, Analyzer)

    results = analyzer.analyze(
        [
            "The courier lost my parcel and customer service was rude. Never again.",
            "Lovely shop, the order came early and the quality is superb.",
        ]
    )

    assert [r.label for r in results] == [SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE]
