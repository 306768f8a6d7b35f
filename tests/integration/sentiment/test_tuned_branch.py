"""The fine-tuned branch on a tiny model: exact before tuning, one pass for texts and clauses, end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from sentiment import ClassifierHead, load_analyzer
from sentiment.__main__ import main
from sentiment.encoder import Encoder
from sentiment.errors import ModelFormatError
from sentiment.training import train_sentiment_head
from sentiment.tuned import TUNED_DIR, TunedLayers
from tests.support.labelled import write_labelled_sets

TEXTS = ["the food was good", "awful", "the service was slow, the delivery was great, good food!"]


def test_an_untuned_branch_reproduces_the_base_layers_whatever_the_padding(tiny_model_dir: Path) -> None:
    encoder = Encoder.load(tiny_model_dir)
    branch = TunedLayers.copy_of(encoder.model, first=1, base_version=encoder.version)
    with_branch = dataclasses.replace(encoder, tuned=branch)

    pools = with_branch.pool_spans(TEXTS, [(), (), ()], layers=(1, 2), tuned_layers=(1, 2), batch_size=2)

    np.testing.assert_allclose(pools.tuned, pools.base, atol=1e-5)


def test_a_span_pools_its_own_tokens_and_the_whole_span_equals_the_text(tiny_model_dir: Path) -> None:
    encoder = Encoder.load(tiny_model_dir)
    text = TEXTS[2]
    spans = [(0, len(text)), (0, text.index(","))]

    pools = encoder.pool_spans([text], [spans], layers=(2,)).base

    assert pools.shape == (3, 1, encoder.dim)
    np.testing.assert_allclose(pools[1], pools[0], atol=1e-6)
    assert not np.allclose(pools[2], pools[0], atol=1e-3)
    np.testing.assert_allclose(encoder.pool_layers([text], layers=(2,))[0], pools[0], atol=1e-6)


def test_tuned_layers_survive_saving_and_refuse_another_base_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    encoder = Encoder.load(tiny_model_dir)
    branch = TunedLayers.copy_of(encoder.model, first=1, base_version=encoder.version)

    stored = branch.save(tmp_path / "encoder", metadata={"training": {"command": "test"}})
    loaded = TunedLayers.load(tmp_path / "encoder", encoder.model, base_version=encoder.version)

    assert loaded.version == stored.version and loaded.first == 1
    assert loaded.metadata["training"] == {"command": "test"}
    with pytest.raises(ModelFormatError, match="tuned on encoder"):
        TunedLayers.load(tmp_path / "encoder", encoder.model, base_version="another-model")


def test_finetune_writes_a_branch_and_heads_that_the_analyzer_runs(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    write_labelled_sets(tmp_path / "data", aspects=True)
    heads = tmp_path / "heads"
    argv = ["finetune", "--data-dir", str(tmp_path / "data"), "--model-dir", str(tiny_model_dir)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--out", str(heads), "--first", "1", "--epochs", "2"]

    assert main(argv) == 0

    analyzer = load_analyzer(tiny_model_dir, heads_dir=heads)
    assert analyzer.encoder.tuned is not None
    assert analyzer.sentiment.features.branch == "tuned"
    assert analyzer.encoder.tuned.version in analyzer.model_version
    results = analyzer.analyze(TEXTS)
    assert [r.model_version for r in results] == [analyzer.model_version] * 3
    assert len(analyzer.score_aspects([(TEXTS[0], "food")])) == 1
    training = json.loads((heads / TUNED_DIR / "tuned.json").read_text())["training"]
    assert [epoch["epoch"] for epoch in training["history"]] == [1, 2]
    assert training["chosen_epoch"] in (1, 2) and training["rows"]["selection"] > 0
    calibration = analyzer.sentiment.metadata["calibration"]
    assert "selection slice" in calibration["split"] and "dev" not in calibration["selection_slice"]
    assert list((tmp_path / "cache").rglob("*.npz"))  # token states cached for the next run
    quantized = load_analyzer(tiny_model_dir, heads_dir=heads, backend="int8")  # both parts quantised
    assert (
        quantized.encoder.tuned is not None
        and quantized.encoder.tuned.version == analyzer.encoder.tuned.version
    )
    assert "-int8+" in quantized.model_version and len(quantized.analyze(TEXTS)) == 3

    no_branch = tmp_path / "no-branch"
    (no_branch / "sentiment").mkdir(parents=True)
    for part in ("head.json", "head.safetensors"):
        (no_branch / "sentiment" / part).write_bytes((heads / "sentiment" / part).read_bytes())
    with pytest.raises(ModelFormatError, match="tuned layers"):
        load_analyzer(tiny_model_dir, heads_dir=no_branch)


def test_retraining_on_the_branch_with_corrections_gives_a_complete_heads_directory(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    write_labelled_sets(tmp_path / "data", aspects=True)
    heads = tmp_path / "heads"
    assert (
        main(
            [
                "finetune",
                "--data-dir",
                str(tmp_path / "data"),
                "--model-dir",
                str(tiny_model_dir),
                "--out",
                str(heads),
                "--first",
                "1",
                "--epochs",
                "1",
            ]
        )
        == 0
    )
    from sentiment.corpora import Example
    from sentiment.types import SentimentLabel

    corrections = [Example("case-1", "the delivery was slow", SentimentLabel.NEGATIVE)]

    report = train_sentiment_head(
        tmp_path / "data", tiny_model_dir, tmp_path / "out", tuned_from=heads, corrections=corrections
    )

    head = ClassifierHead.load(tmp_path / "out" / "sentiment")
    assert head.features.branch == "tuned" and head.version == report["version"]
    assert report["training"]["corrections"] == {"rows": 1, "weight": 5.0}
    assert report["training"]["rows"]["corrections"]["train"] == 1
    analyzer = load_analyzer(tiny_model_dir, heads_dir=tmp_path / "out")  # encoder/ and aspect/ came along
    assert analyzer.aspect is not None and analyzer.encoder.tuned is not None
