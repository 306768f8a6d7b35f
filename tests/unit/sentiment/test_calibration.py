"""Temperature scaling and the expected calibration error, and the head applying its temperature."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sentiment.calibration import (
    calibration_half,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    softmax,
)
from sentiment.errors import ModelFormatError
from sentiment.heads import META_FILE, ClassifierHead, FeatureSpec

LABELS = ("negative", "neutral", "positive")


def overconfident_rows(n: int, *, true_temperature: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits with labels drawn from softmax(logits / true_temperature): a model too sure by that much."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, size=(n, 3)).astype(np.float32)
    p = softmax(logits, true_temperature)
    targets = np.array([rng.choice(3, p=row / row.sum()) for row in p.astype(np.float64)], dtype=np.int64)
    return logits, targets


def test_fit_temperature_recovers_the_temperature_the_labels_were_drawn_with() -> None:
    logits, targets = overconfident_rows(4000, true_temperature=2.5, seed=0)
    assert fit_temperature(logits, targets) == pytest.approx(2.5, rel=0.1)


def test_fit_temperature_minimises_the_weighted_loss() -> None:
    logits, targets = overconfident_rows(2000, true_temperature=1.7, seed=1)
    weights = np.random.default_rng(2).uniform(0.1, 2.0, size=len(targets))
    t = fit_temperature(logits, targets, weights=weights)
    best = negative_log_likelihood(logits, targets, temperature=t, weights=weights)
    for other in (t * 0.9, t * 1.1):
        assert negative_log_likelihood(logits, targets, temperature=other, weights=weights) > best


def test_fit_temperature_refuses_no_rows() -> None:
    with pytest.raises(ValueError, match="no rows"):
        fit_temperature(np.zeros((0, 3), dtype=np.float32), np.zeros(0, dtype=np.int64))


def test_ece_by_hand() -> None:
    # Bin [0.8667, 0.9333): two rows at 0.9, one right -> gap 0.4; bin [0.6, 0.6667): two at 0.6, both
    # right -> gap 0.4. Weighted mean 0.4.
    assert expected_calibration_error([0.9, 0.9, 0.6, 0.6], [True, False, True, True]) == pytest.approx(0.4)
    bins = reliability_bins([0.9, 0.9, 0.6, 0.6], [True, False, True, True])
    assert [(b.count, b.accuracy) for b in bins] == [(2, 1.0), (2, 0.5)]


def test_ece_is_zero_when_confidence_matches_accuracy_and_one_at_the_extremes() -> None:
    assert expected_calibration_error([0.75] * 4, [True, True, True, False]) == pytest.approx(0.0)
    assert expected_calibration_error([1.0, 1.0], [False, False]) == pytest.approx(1.0)


def test_temperature_fitted_on_one_half_lowers_ece_on_the_other() -> None:
    logits, targets = overconfident_rows(6000, true_temperature=3.0, seed=3)
    fit, report = slice(0, 3000), slice(3000, None)
    t = fit_temperature(logits[fit], targets[fit])

    def ece(temperature: float) -> float:
        p = softmax(logits[report], temperature)
        return expected_calibration_error(p.max(axis=1), p.argmax(axis=1) == targets[report])

    assert ece(1.0) > 0.15
    assert ece(t) < 0.03


def test_calibration_half_is_stable_and_splits_about_evenly() -> None:
    halves = [calibration_half(f"tweeteval-val-{i}") for i in range(2000)]
    assert halves == [calibration_half(f"tweeteval-val-{i}") for i in range(2000)]
    assert 900 < halves.count("fit") < 1100


def make_head(temperature: float = 1.0) -> ClassifierHead:
    rng = np.random.default_rng(0)
    return ClassifierHead(
        labels=LABELS,
        features=FeatureSpec((12,)),
        input_mean=np.zeros(4, dtype=np.float32),
        input_scale=np.ones(4, dtype=np.float32),
        weights=(rng.normal(0, 3, size=(3, 4)).astype(np.float32),),
        biases=(np.zeros(3, dtype=np.float32),),
        name="sentiment",
        temperature=temperature,
    )


def test_head_temperature_softens_probabilities_but_never_changes_the_answer() -> None:
    inputs = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    sharp, soft = make_head(), make_head().with_temperature(3.0)
    assert soft.predict(inputs) == sharp.predict(inputs)
    np.testing.assert_allclose(soft.predict_proba(inputs), softmax(sharp.logits(inputs), 3.0), rtol=1e-6)
    assert soft.predict_proba(inputs).max(axis=1).mean() < sharp.predict_proba(inputs).max(axis=1).mean()
    np.testing.assert_allclose(soft.predict_proba(inputs).sum(axis=1), 1.0, rtol=1e-6)


def test_head_temperature_is_saved_loaded_and_part_of_the_version(tmp_path: Path) -> None:
    head = make_head()
    calibrated = head.with_temperature(1.8)
    calibrated.save(tmp_path / "c")
    loaded = ClassifierHead.load(tmp_path / "c")

    assert loaded.temperature == 1.8
    assert loaded.version == calibrated.version != head.version
    assert json.loads((tmp_path / "c" / META_FILE).read_text())["temperature"] == 1.8


def test_a_head_file_without_temperature_loads_uncalibrated_with_its_old_version(tmp_path: Path) -> None:
    head = make_head()
    head.save(tmp_path / "h")
    meta = json.loads((tmp_path / "h" / META_FILE).read_text())
    del meta["temperature"]  # head.json as written before calibration existed
    (tmp_path / "h" / META_FILE).write_text(json.dumps(meta))

    loaded = ClassifierHead.load(tmp_path / "h")
    assert loaded.temperature == 1.0
    assert loaded.version == head.version


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_head_refuses_a_temperature_that_is_not_a_positive_number(temperature: float) -> None:
    with pytest.raises(ModelFormatError, match="temperature"):
        make_head(temperature)
