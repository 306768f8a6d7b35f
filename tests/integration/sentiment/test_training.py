"""`python -m sentiment train` end to end on a tiny model and tiny data sets: cache, fit, report, load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentiment import ClassifierHead, load_analyzer
from sentiment.__main__ import main
from sentiment.corpora import SENTIMENT_SETS
from tests.support.labelled import write_labelled_sets


def test_train_writes_a_loadable_head_with_its_provenance(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_labelled_sets(tmp_path / "data")
    argv = ["train", "--data-dir", str(tmp_path / "data"), "--model-dir", str(tiny_model_dir)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "heads"), "--layers", "1,2"]

    assert main(argv) == 0

    printed = json.loads(capsys.readouterr().out)
    head = ClassifierHead.load(tmp_path / "heads" / "sentiment")
    assert printed["version"] == head.version
    assert set(printed["dev"]) >= {"tweeteval_macro_recall", "chinese_accuracy"}
    assert head.features.layers == (1, 2)
    assert head.metadata["training"]["command"].startswith("python -m sentiment train --data-dir")
    assert len(head.metadata["training"]["data_sha256"]) == 64
    assert list((tmp_path / "cache").rglob("*.npy"))  # features were cached for the next run
    analyzer = load_analyzer(tiny_model_dir, heads_dir=tmp_path / "heads")
    assert len(analyzer.analyze(["the food was good", "awful"])) == 2

    assert main(argv) == 0  # second run reads the cache and gives the same head
    assert ClassifierHead.load(tmp_path / "heads" / "sentiment").version == head.version


def test_training_calibrates_and_calibrate_refits_only_the_temperature(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_labelled_sets(tmp_path / "data")
    common = ["--data-dir", str(tmp_path / "data"), "--model-dir", str(tiny_model_dir)]
    common += ["--cache-dir", str(tmp_path / "cache")]
    assert main(["train", *common, "--out", str(tmp_path / "heads"), "--layers", "1,2"]) == 0
    trained = ClassifierHead.load(tmp_path / "heads" / "sentiment")
    calibration = trained.metadata["calibration"]
    assert trained.temperature > 0
    assert "never on dev" in calibration["split"]
    rows = trained.metadata["training"]["rows"]
    measured = {
        name: figures["n"] for name, figures in calibration["selection_slice"].items() if name != "pooled"
    }
    assert measured == {name: rows[name]["selection"] for name in rows if rows[name]["selection"]}
    assert measured and set(measured) <= set(SENTIMENT_SETS)  # the temperature saw train rows only
    pooled = calibration["selection_slice"]["pooled"]
    assert pooled["n"] == sum(measured.values())
    assert set(pooled["before"]) == set(pooled["after"]) == {"ece", "nll"}
    capsys.readouterr()

    assert main(["calibrate", *common, "--heads", str(tmp_path / "heads")]) == 0

    printed = json.loads(capsys.readouterr().out)
    recalibrated = ClassifierHead.load(tmp_path / "heads" / "sentiment")
    assert printed["temperature"] == recalibrated.temperature == trained.temperature
    assert recalibrated.version == trained.version  # same weights, same dev rows: the same head
    assert recalibrated.metadata["calibration"]["command"].startswith("python -m sentiment calibrate")
    assert recalibrated.metadata["training"] == trained.metadata["training"]  # provenance kept
