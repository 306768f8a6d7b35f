"""ClassifierHead: fitting, probabilities, and the safetensors + JSON round trip (never pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sentiment.errors import ModelFormatError, ModelNotFoundError
from sentiment.heads import META_FILE, WEIGHTS_FILE, ClassifierHead, FeatureSpec

LABELS = ("negative", "neutral", "positive")


def _blobs(n_per_class: int = 40, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three well separated clusters, one per label."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, dim, dtype=np.float32) * 4
    inputs = np.concatenate([c + rng.normal(0, 0.5, size=(n_per_class, dim)) for c in centres]).astype(
        np.float32
    )
    targets = [label for label in LABELS for _ in range(n_per_class)]
    return inputs, targets


@pytest.mark.parametrize("hidden_dim", [None, 16], ids=["linear", "mlp"])
def test_fit_separates_clear_clusters(hidden_dim: int | None) -> None:
    inputs, targets = _blobs()
    head = ClassifierHead.fit(
        inputs, targets, labels=LABELS, features=FeatureSpec((1,)), hidden_dim=hidden_dim, epochs=30
    )
    assert head.kind == ("linear" if hidden_dim is None else "mlp")
    assert head.predict(inputs) == targets
    probabilities = head.predict_proba(inputs)
    assert probabilities.shape == (len(targets), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_fit_rejects_targets_outside_the_labels() -> None:
    inputs, targets = _blobs()
    targets[0] = "angry"
    with pytest.raises(ValueError, match="angry"):
        ClassifierHead.fit(inputs, targets, labels=LABELS, features=FeatureSpec((1,)))


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=["fp32", "fp16"])
def test_save_then_load_gives_the_same_head(tmp_path: Path, dtype: type[np.floating]) -> None:
    inputs, targets = _blobs()
    head = ClassifierHead.fit(
        inputs, targets, labels=LABELS, features=FeatureSpec((12,)), name="sentiment", encoder_version="enc-1"
    ).with_metadata(training={"data_sha256": "abc"})
    head.save(tmp_path / "sentiment", dtype=dtype)

    loaded = ClassifierHead.load(tmp_path / "sentiment")

    assert loaded.labels == LABELS
    assert loaded.features == FeatureSpec((12,))
    assert loaded.encoder_version == "enc-1"
    assert loaded.metadata["training"] == {"data_sha256": "abc"}
    assert loaded.predict(inputs) == head.predict(inputs)
    np.testing.assert_allclose(loaded.predict_proba(inputs), head.predict_proba(inputs), atol=2e-3)
    meta = json.loads((tmp_path / "sentiment" / META_FILE).read_text())
    assert meta["version"] == loaded.version
    assert meta["labels"] == list(LABELS)
    assert meta["input_dim"] == inputs.shape[1]
    assert not list((tmp_path / "sentiment").glob("*.pkl"))


def test_version_is_stable_across_save_and_changes_with_weights(tmp_path: Path) -> None:
    inputs, targets = _blobs()
    head = ClassifierHead.fit(inputs, targets, labels=LABELS, features=FeatureSpec((1,)), name="sentiment")
    head.save(tmp_path / "a")
    again = ClassifierHead.fit(inputs, targets, labels=LABELS, features=FeatureSpec((1,)), name="sentiment")
    other = ClassifierHead.fit(inputs[::-1], targets[::-1], labels=LABELS, features=FeatureSpec((1,)), l2=0.1)

    assert ClassifierHead.load(tmp_path / "a").version == head.version == again.version
    assert head.version.startswith("sentiment-linear.")
    assert other.version != head.version


def test_load_refuses_a_missing_head(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        ClassifierHead.load(tmp_path / "nothing")


def test_load_refuses_an_unknown_format(tmp_path: Path) -> None:
    inputs, targets = _blobs()
    ClassifierHead.fit(inputs, targets, labels=LABELS, features=FeatureSpec((1,))).save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ModelFormatError):
        ClassifierHead.load(tmp_path)


def test_load_notices_weights_that_do_not_match_the_recorded_version(tmp_path: Path) -> None:
    inputs, targets = _blobs()
    ClassifierHead.fit(inputs, targets, labels=LABELS, features=FeatureSpec((1,))).save(tmp_path / "a")
    ClassifierHead.fit(inputs, targets, labels=LABELS, features=FeatureSpec((1,)), l2=0.5).save(
        tmp_path / "b"
    )
    (tmp_path / "a" / WEIGHTS_FILE).write_bytes((tmp_path / "b" / WEIGHTS_FILE).read_bytes())
    with pytest.raises(ModelFormatError, match="version"):
        ClassifierHead.load(tmp_path / "a")


def test_feature_spec_normalises_each_layer_then_concatenates() -> None:
    pooled = np.array([[[3.0, 4.0], [0.0, 2.0]]], dtype=np.float32)  # one text, two layers
    spec = FeatureSpec((8, 12))
    np.testing.assert_allclose(spec.build(pooled), [[0.6, 0.8, 0.0, 1.0]])
    cache = np.array([[[1.0, 0.0], [3.0, 4.0], [0.0, 2.0]]], dtype=np.float32)  # layers 4, 8, 12
    np.testing.assert_allclose(spec.select(cache, available=(4, 8, 12)), pooled)
