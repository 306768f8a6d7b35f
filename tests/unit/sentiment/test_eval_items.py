"""Evaluation files (sentence and aspect lines) and routing items to a model's sentence or aspect scoring."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from sentiment.corpora import EvalItem, read_eval_jsonl
from sentiment.errors import ModelFormatError
from sentiment.evaluation import predict
from sentiment.types import Analysis, SentimentLabel


def write_jsonl(path: Path, rows: Sequence[object]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_reads_sentence_aspect_and_shared_aspect_set_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"text": "送餐太慢了", "label": "negative"},
            {"id": "r2", "text": "Food great, service slow", "aspect": "service", "label": "negative"},
            {
                "id": "s3",
                "text": "Great pasta, rude waiter, fair prices",
                "label": {
                    "aspects": [
                        {"category": "food", "polarity": "positive"},
                        {"category": "service", "polarity": "negative"},
                        {"category": "price", "polarity": "conflict"},
                    ]
                },
            },
        ],
    )
    data = read_eval_jsonl(path)
    assert data.items == [
        EvalItem(id="mixed-1", text="送餐太慢了", label=SentimentLabel.NEGATIVE),
        EvalItem(
            id="r2#service", text="Food great, service slow", label=SentimentLabel.NEGATIVE, aspect="service"
        ),
        EvalItem(
            id="s3#food",
            text="Great pasta, rude waiter, fair prices",
            label=SentimentLabel.POSITIVE,
            aspect="food",
        ),
        EvalItem(
            id="s3#service",
            text="Great pasta, rude waiter, fair prices",
            label=SentimentLabel.NEGATIVE,
            aspect="service",
        ),
    ]
    assert data.skipped_conflict == 1


@pytest.mark.parametrize(
    "line",
    [
        '{"text": "ok", "label": "meh"}',
        '{"label": "negative"}',
        '{"text": 3, "label": "negative"}',
        "not json",
        '{"text": "ok", "label": {"aspects": [{"category": "food"}]}}',
    ],
)
def test_a_bad_line_is_an_error_naming_the_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine", "label": "positive"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match=r"bad\.jsonl:2:"):
        read_eval_jsonl(path)


class KeywordModel:
    """A tiny real model for routing tests: "bad" anywhere is negative, "good" positive, else neutral."""

    def __init__(self) -> None:
        self.analyzed: list[str] = []

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        self.analyzed += texts
        return [Analysis.from_probabilities(self._probabilities(t), model_version="kw") for t in texts]

    @staticmethod
    def _probabilities(text: str) -> dict[SentimentLabel, float]:
        if "bad" in text:
            return {SentimentLabel.NEGATIVE: 0.8, SentimentLabel.NEUTRAL: 0.1, SentimentLabel.POSITIVE: 0.1}
        if "good" in text:
            return {SentimentLabel.NEGATIVE: 0.1, SentimentLabel.NEUTRAL: 0.2, SentimentLabel.POSITIVE: 0.7}
        return {SentimentLabel.NEGATIVE: 0.2, SentimentLabel.NEUTRAL: 0.6, SentimentLabel.POSITIVE: 0.2}


class ClauseKeywordModel(KeywordModel):
    """Scores an aspect by the comma-separated clause that names it."""

    def score_aspects(self, pairs: Sequence[tuple[str, str]]) -> list[dict[SentimentLabel, float]]:
        out = []
        for text, aspect in pairs:
            clause = next((c for c in text.split(",") if aspect in c), text)
            out.append(self._probabilities(clause))
        return out


ITEMS = [
    EvalItem("1", "good food, bad service", SentimentLabel.NEGATIVE, aspect="service"),
    EvalItem("2", "good food, bad service", SentimentLabel.POSITIVE, aspect="food"),
    EvalItem("3", "a good day", SentimentLabel.POSITIVE),
]


def test_aspect_items_go_through_score_aspects_when_the_model_has_it() -> None:
    model = ClauseKeywordModel()
    predictions = predict(model, ITEMS)
    assert predictions.aspect_method == "score_aspects"
    assert predictions.labels == ["negative", "positive", "positive"]
    assert predictions.confidence == [0.8, 0.7, 0.7]
    assert model.analyzed == ["a good day"]
    assert predictions.scores(ITEMS).accuracy == 1.0


def test_without_score_aspects_each_aspect_gets_the_sentence_sentiment_once_per_text() -> None:
    model = KeywordModel()
    predictions = predict(model, ITEMS)
    assert predictions.aspect_method == "sentence fallback"
    assert predictions.labels == ["negative", "negative", "positive"]
    assert sorted(model.analyzed) == ["a good day", "good food, bad service"]
    assert predict(model, ITEMS[2:]).aspect_method is None
