"""A Hugging Face sequence-classification model replaces the sentiment head (tiny random model, offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForSequenceClassification

from sentiment import ModelNotFoundError, SentimentLabel, load_analyzer
from sentiment.hf_classifier import SequenceClassifier

TEXTS = ["the food was good", "awful service, slow delivery", "great"]


def save_tiny_classifier(tokenizer_dir: Path, out: Path, id2label: dict[int, str]) -> Path:
    """A random 1-layer XLM-R classifier with `id2label`, saved with a tokenizer like any hub checkpoint."""
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=66,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(0)
    XLMRobertaForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def test_a_two_label_classifier_replaces_the_head_with_mapped_probabilities(
    tiny_model_dir: Path, tiny_heads_dir: Path, tmp_path: Path
) -> None:
    classifier_dir = save_tiny_classifier(tiny_model_dir, tmp_path / "clf", {0: "POSITIVE", 1: "NEGATIVE"})
    analyzer = load_analyzer(tiny_model_dir, heads_dir=tiny_heads_dir, classifier=classifier_dir)

    results = analyzer.analyze(TEXTS)

    model = XLMRobertaForSequenceClassification.from_pretrained(classifier_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(classifier_dir)
    with torch.inference_mode():
        expected = [torch.softmax(model(**tokenizer(t, return_tensors="pt")).logits, -1)[0] for t in TEXTS]
    for result, probabilities in zip(results, expected, strict=True):
        assert result.p_positive == pytest.approx(float(probabilities[0]), abs=1e-5)
        assert result.p_negative == pytest.approx(float(probabilities[1]), abs=1e-5)
        assert result.p_neutral == 0.0
        assert result.label in (SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE)
    assert "+hf:clf-" in analyzer.model_version
    assert results[0].model_version == analyzer.model_version


def test_anonymous_three_label_models_load_and_probabilities_sum_to_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    classifier_dir = save_tiny_classifier(
        tiny_model_dir, tmp_path / "clf3", {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    )
    classifier = SequenceClassifier.load(classifier_dir)

    probabilities = classifier.predict_proba(TEXTS, batch_size=2)

    assert classifier.label_map == tuple(SentimentLabel)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, classifier.predict_proba(TEXTS, batch_size=1), atol=1e-5)


def test_a_missing_classifier_is_a_clear_error_not_a_download(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"config\.json"):
        SequenceClassifier.load(tmp_path)
    with pytest.raises(ModelNotFoundError, match="local Hugging Face cache"):
        SequenceClassifier.load("nobody/no-such-model-vocwatch-test")
