"""The aspect head: `python -m sentiment train-aspect` on a tiny model, then `score_aspects` through it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from sentiment import ClassifierHead, SentimentLabel, load_analyzer
from sentiment.__main__ import main
from sentiment.aspects import aspect_input
from sentiment.errors import ModelFormatError
from sentiment.training import ASPECT_SETS
from tests.support.models import LABELLED_REVIEWS, fit_test_head

CATEGORIES = ("food", "service", "anecdotes/miscellaneous")


def _write_aspect_sets(data_dir: Path) -> None:
    """The hand-written reviews in the shared ACSA format, one or two categories each, plus a conflict."""
    rows = [
        {
            "id": f"r-{i}",
            "text": text,
            "label": {"aspects": [{"category": CATEGORIES[i % 3], "polarity": label}]},
        }
        for i, (label, text) in enumerate(LABELLED_REVIEWS)
    ]
    rows.append(
        {
            "id": "r-conflict",
            "text": "Great food, awful service.",
            "label": {
                "aspects": [
                    {"category": "food", "polarity": "positive"},
                    {"category": "service", "polarity": "negative"},
                    {"category": "anecdotes/miscellaneous", "polarity": "conflict"},
                ]
            },
        }
    )
    for name in ASPECT_SETS:
        (data_dir / name).mkdir(parents=True)
        for split in ("train", "dev"):
            lines = "".join(json.dumps(row) + "\n" for row in rows)
            (data_dir / name / f"{split}.jsonl").write_text(lines, encoding="utf-8")


@pytest.fixture(scope="module")
def heads_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A heads directory with a test sentiment head and an aspect head trained by the CLI."""
    root = tmp_path_factory.mktemp("aspect-heads")
    _write_aspect_sets(root / "data")
    fit_test_head(tiny_model_dir, root / "heads")
    argv = ["train-aspect", "--data-dir", str(root / "data"), "--model-dir", str(tiny_model_dir)]
    argv += ["--cache-dir", str(root / "cache"), "--out", str(root / "heads"), "--layers", "1,2"]
    assert main(argv) == 0
    return root / "heads"


def test_train_aspect_writes_a_calibrated_head_with_its_provenance(heads_dir: Path) -> None:
    head = ClassifierHead.load(heads_dir / "aspect")

    assert head.name == "aspect" and head.labels == tuple(SentimentLabel)
    assert head.features.layers == (1, 2)
    assert head.temperature > 0
    training = head.metadata["training"]
    assert training["command"].startswith("python -m sentiment train-aspect --data-dir")
    # one example per aspect label, the conflict label left out; the selection slice is set aside from train
    assert {name: rows["train"] + rows["selection"] for name, rows in training["rows"].items()} == {
        name: 50 for name in ASPECT_SETS
    }
    assert all(rows["dev"] == 50 for rows in training["rows"].values())
    assert set(head.metadata["calibration"]["selection_slice"]) == {*ASPECT_SETS, "pooled"}
    assert set(head.metadata["dev"]) == set(ASPECT_SETS)


def test_score_aspects_reads_covered_pairs_through_the_aspect_head_and_others_from_clauses(
    tiny_model_dir: Path, heads_dir: Path
) -> None:
    analyzer = load_analyzer(tiny_model_dir, heads_dir=heads_dir, taxonomy=())
    head = ClassifierHead.load(heads_dir / "aspect")
    assert analyzer.aspect is not None and analyzer.aspect.version == head.version
    assert head.metadata["scope"] == {"categories": sorted(CATEGORIES), "languages": ["en"]}
    mixed = "The food was good, but the service was slow and the staff were rude to us."
    covered = [(mixed, "food"), (mixed, "Service"), (mixed, "anecdotes / miscellaneous"), (mixed, "food")]
    uncovered = [(mixed, "delivery"), ("菜很好吃，但是服务太慢了。", "food")]  # unseen category, language

    scores = analyzer.score_aspects([*covered, *uncovered])

    pooled = analyzer.encoder.pool_layers([aspect_input(t, a) for t, a in covered], layers=(1, 2))
    expected = head.predict_proba(head.features.build(pooled))  # head labels are in SentimentLabel order
    got = np.array([[s[label] for label in SentimentLabel] for s in scores[: len(covered)]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert scores[0] == scores[3]  # a repeated pair is encoded once and answered twice
    clause_based = dataclasses.replace(analyzer, aspect=None).score_aspects([*covered, *uncovered])
    for own, by_clauses in zip(scores[len(covered) :], clause_based[len(covered) :], strict=True):
        assert own == pytest.approx(by_clauses, abs=1e-6)  # other batch neighbours: float noise only
    assert scores[: len(covered)] != clause_based[: len(covered)]


def test_a_heads_dir_without_an_aspect_head_keeps_clause_weighting(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    analyzer = load_analyzer(tiny_model_dir, heads_dir=fit_test_head(tiny_model_dir, tmp_path), taxonomy=())
    assert analyzer.aspect is None
    assert len(analyzer.score_aspects([("The food was good.", "food")])) == 1


def test_an_aspect_head_trained_on_another_encoder_is_refused(
    tiny_model_dir: Path, heads_dir: Path, tmp_path: Path
) -> None:
    fit_test_head(tiny_model_dir, tmp_path)
    foreign = dataclasses.replace(ClassifierHead.load(heads_dir / "aspect"), encoder_version="another-model")
    foreign.save(tmp_path / "aspect")

    with pytest.raises(ModelFormatError, match="aspect"):
        load_analyzer(tiny_model_dir, heads_dir=tmp_path, taxonomy=())
