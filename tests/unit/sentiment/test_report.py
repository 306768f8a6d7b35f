"""The accuracy report: both protocols on binary sets, trained baselines beside the model, the gate."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from sentiment.corpora import EvalItem
from sentiment.evaluation import predict, score
from sentiment.reference import E5_LR_NAME, TFIDF_LR, BaselineFit
from sentiment.report import DevSet, SetResult, evaluate_dev_sets, render_markdown, shortfalls
from sentiment.types import Analysis, SentimentLabel
from tests.support.labelled import headline

NEG, NEU, POS = SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE


class CautiousModel:
    """Says neutral whenever unsure, but leans the right way: "好" leans positive, anything else negative."""

    def analyze(self, texts: Sequence[str]) -> list[Analysis]:
        return [Analysis.from_probabilities(self._lean(text), model_version="cautious") for text in texts]

    @staticmethod
    def _lean(text: str) -> Mapping[SentimentLabel, float]:
        if "好" in text:
            return {NEG: 0.2, NEU: 0.5, POS: 0.3}
        return {NEG: 0.3, NEU: 0.5, POS: 0.2}


def write_set(data_dir: Path, name: str, split: str, rows: Sequence[tuple[str, str]]) -> None:
    path = data_dir / name / f"{split}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"id": f"{split}-{i}", "text": t, "label": y}, ensure_ascii=False)
        for i, (y, t) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


BINARY = DevSet("hotel_zh", "zh", "accuracy", "Chinese hotel reviews, binary")
THREE_WAY = DevSet("tweets_en", "en", "macro_recall", "English tweets, 3 classes")
ZH_DEV = [
    ("positive", "房间很好"),
    ("positive", "服务很好"),
    ("negative", "房间太差"),
    ("negative", "服务太差"),
]


def test_binary_protocol_counts_the_leaning_answer_the_three_way_one_does_not(tmp_path: Path) -> None:
    write_set(tmp_path, BINARY.name, "dev", ZH_DEV)

    (result,) = evaluate_dev_sets(CautiousModel(), tmp_path, sets=[BINARY], baselines=())

    assert result.model.accuracy == 0.0  # every answer is neutral: wrong as the product reads it
    assert result.binary is not None
    assert result.binary.accuracy == 1.0  # p(positive) > p(negative) exactly on the positive rows
    assert result.binary.confusion == {
        "negative": {"negative": 2, "positive": 0},
        "positive": {"negative": 0, "positive": 2},
    }


def test_binary_protocol_is_only_for_sets_without_neutral_gold(tmp_path: Path) -> None:
    write_set(tmp_path, THREE_WAY.name, "dev", [("neutral", "ok"), ("positive", "好"), ("negative", "no")])

    (result,) = evaluate_dev_sets(CautiousModel(), tmp_path, sets=[THREE_WAY], baselines=())

    assert result.binary is None
    items = [EvalItem("1", "ok", NEU)]
    with pytest.raises(ValueError, match="negative or positive"):
        predict(CautiousModel(), items).binary_scores(items)


def test_trained_baseline_is_fitted_on_train_and_gates_the_model(tmp_path: Path) -> None:
    train = [("positive", f"{thing}很好") for thing in ["房间", "服务", "早餐", "位置", "床", "价格"]]
    train += [("negative", f"{thing}太差") for thing in ["房间", "服务", "早餐", "位置", "床", "价格"]]
    write_set(tmp_path, BINARY.name, "train", train)
    write_set(tmp_path, BINARY.name, "dev", [*ZH_DEV, ("positive", "早餐很好"), ("negative", "早餐太差")])

    (result,) = evaluate_dev_sets(CautiousModel(), tmp_path, sets=[BINARY], baselines=(), trained=[TFIDF_LR])

    fit = result.fits[TFIDF_LR.name]
    assert fit.train_rows == 12 and fit.c in TFIDF_LR.c_grid
    assert result.baselines[TFIDF_LR.name].accuracy == 1.0
    (gap,) = shortfalls([result])
    assert (gap.set_name, gap.baseline, gap.model, gap.baseline_figure) == (
        BINARY.name,
        TFIDF_LR.name,
        0.0,
        1.0,
    )
    assert gap.gap == 1.0


def fit(name: str, c: float, labels: list[str]) -> BaselineFit:
    return BaselineFit(
        name=name,
        c=c,
        c_grid=(1.0, 3.0, 10.0),
        scoring="accuracy",
        cv_score=0.9,
        train_rows=1200,
        seconds=2.0,
        labels=labels,
    )


def binary_result() -> SetResult:
    gold = ["negative", "negative", "positive", "positive"]
    tfidf, e5 = fit(TFIDF_LR.name, 3.0, gold), fit(E5_LR_NAME, 10.0, ["negative"] * 4)
    return SetResult(
        spec=BINARY,
        model=score(gold, ["neutral", "negative", "positive", "positive"]),
        held_out_ece=0.05,
        held_out_n=4,
        baselines={
            "SnowNLP": score(gold, gold),
            TFIDF_LR.name: score(gold, tfidf.labels),
            E5_LR_NAME: score(gold, e5.labels),
        },
        fits={TFIDF_LR.name: tfidf, E5_LR_NAME: e5},
        binary=score(gold, ["negative", "negative", "positive", "positive"], labels=("negative", "positive")),
    )


def render(results: Sequence[SetResult], sections: Sequence[str] = ()) -> str:
    return render_markdown(
        results,
        model_version="m",
        temperature=1.0,
        calibration=None,
        command="vocwatch eval --report",
        generated_at="today",
        seconds=1.0,
        sections=sections,
    )


def test_headline_shows_trained_and_lexicon_baselines_and_both_protocols_on_every_row() -> None:
    three_way = SetResult(
        spec=THREE_WAY,
        model=score(["neutral", "positive"], ["neutral", "positive"]),
        held_out_ece=0.1,
        held_out_n=2,
    )
    report = render([binary_result(), three_way], sections=["## Speed\n\nfast enough\n"])

    rows = headline(report)
    assert rows[BINARY.name]["vocwatch"] == "**75.0**"
    assert rows[BINARY.name]["vocwatch binary acc"] == "100.0"
    assert rows[BINARY.name]["TF-IDF+LR"] == "100.0"
    assert rows[BINARY.name]["frozen e5+LR"] == "50.0"
    assert rows[BINARY.name]["SnowNLP"] == "100.0" and rows[BINARY.name]["VADER"] == "n/a"
    assert rows[THREE_WAY.name]["vocwatch binary acc"] == "—"
    assert rows[THREE_WAY.name]["TF-IDF+LR"] == "n/a"  # no baseline was fitted for this set
    assert rows[THREE_WAY.name]["ECE held out"] == "0.100 (n=2)"
    assert "- Selection: each trained baseline's C is chosen by 5-fold stratified" in report
    assert (
        "TF-IDF+LR: accuracy 100.0, macro recall 100.0, macro-F1 100.0. C = 3, chosen from {1, 3, 10}"
        in report
    )
    assert "frozen e5+LR: accuracy 50.0" in report and "C = 10 (edge of the grid)" in report
    assert (
        report.index("## Calibration")
        < report.index("## Speed\n\nfast enough\n")
        < report.index("## Per set")
    )


def test_without_trained_baselines_the_report_says_nothing_about_them() -> None:
    gold = ["negative", "positive"]
    lexicon_only = SetResult(spec=BINARY, model=score(gold, gold), held_out_ece=0.0, held_out_n=2)

    report = render([lexicon_only])

    assert "TF-IDF" not in report and "Selection" not in report
    assert set(headline(report)[BINARY.name]) >= {"vocwatch", "vocwatch binary acc", "VADER", "SnowNLP"}
