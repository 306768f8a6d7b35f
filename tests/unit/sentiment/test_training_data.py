"""Reading labelled JSONL and weighting the training rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sentiment.corpora import Example, fingerprint, read_sentiment_jsonl
from sentiment.errors import ModelFormatError
from sentiment.training import LabelledSet, sample_weights, select_sets
from sentiment.types import SentimentLabel


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_reads_labelled_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", [{"id": "1", "text": "差评", "label": "negative"}])
    assert read_sentiment_jsonl(path) == [Example("1", "差评", SentimentLabel.NEGATIVE)]


def test_unknown_label_is_an_error_with_the_line_number(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.jsonl", [{"text": "ok", "label": "neutral"}, {"text": "x", "label": "mixed"}])
    with pytest.raises(ModelFormatError, match=":2:"):
        read_sentiment_jsonl(path)


def test_weights_balance_classes_within_each_set() -> None:
    neg, pos = SentimentLabel.NEGATIVE, SentimentLabel.POSITIVE
    rows = [Example(str(i), "t", neg) for i in range(3)] + [Example("p", "t", pos)]
    weights = sample_weights([LabelledSet("s", train=rows, dev=[])])
    assert weights[:3].sum() == pytest.approx(weights[3:].sum())
    assert weights.sum() == pytest.approx(len(rows))


def test_selection_is_a_seeded_prefix_so_more_rows_keep_the_earlier_ones(tmp_path: Path) -> None:
    rows = [{"id": str(i), "text": f"text {i}", "label": "positive"} for i in range(50)]
    _write(tmp_path / "waimai_10k" / "train.jsonl", rows)
    _write(tmp_path / "waimai_10k" / "dev.jsonl", rows[:5])
    small = select_sets(tmp_path, limits={"waimai_10k": 10})[0]
    large = select_sets(tmp_path, limits={"waimai_10k": 30})[0]
    assert large.train[:10] == small.train
    assert [r.id for r in small.train] != [str(i) for i in range(10)]  # shuffled, not the file's head
    assert len(large.dev) == 5
    assert fingerprint(small.train) != fingerprint(large.train)
    assert isinstance(sample_weights([small]), np.ndarray)
