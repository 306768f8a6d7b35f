"""The accuracy report: every labelled set's dev split, the model next to published figures and baselines.

`evaluate_dev_sets` runs the model and the lexicon baselines on the same rows in one run;
`render_markdown` writes docs/accuracy.md from the result. Published figures are the ones named in issue 5,
each on its set's *test* split, which is held back from this project: our figures are on the dev splits,
so the columns are comparable in kind, not row for row, and the report says so.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sentiment.baselines import BASELINES, Baseline
from sentiment.calibration import calibration_half, expected_calibration_error
from sentiment.corpora import EvalItem, read_eval_jsonl
from sentiment.evaluation import LABELS, AspectMethod, Scores, SentimentModel, predict, score

Metric = Literal["accuracy", "macro_recall"]


@dataclass(frozen=True)
class Published:
    """A literature figure for a set: value, metric, the model that reached it, and where it is from."""

    value: float
    model: str
    source: str


@dataclass(frozen=True)
class DevSet:
    """One set under ../shared/data: its language, its official metric and its published figure."""

    name: str
    language: Literal["en", "zh"]
    metric: Metric
    description: str
    published: Published | None = None


DEV_SETS: tuple[DevSet, ...] = (
    DevSet(
        "tweeteval_sentiment",
        "en",
        "macro_recall",
        "English tweets, 3 classes",
        Published(0.737, "TimeLMs-2021 RoBERTa", "Loureiro et al. 2022, TweetEval test"),
    ),
    DevSet(
        "chnsenticorp_htl",
        "zh",
        "accuracy",
        "Chinese hotel reviews, binary",
        Published(0.956, "RoBERTa-wwm-ext", "Cui et al. 2020, ChnSentiCorp test (ERNIE split)"),
    ),
    DevSet("waimai_10k", "zh", "accuracy", "Chinese food-delivery reviews, binary"),
    DevSet("online_shopping_10_cats", "zh", "accuracy", "Chinese e-commerce reviews, binary"),
    DevSet(
        "semeval14_restaurants_acsa",
        "en",
        "accuracy",
        "English restaurant reviews, polarity given aspect category, 3-way",
        Published(0.899, "BERT-pair", "Sun et al. 2019, SemEval-2014 restaurants test, 3-way"),
    ),
    DevSet("mams_acsa", "en", "accuracy", "MAMS restaurant reviews, polarity given aspect category, 3-way"),
)


@dataclass(frozen=True)
class SetResult:
    """The model's and the baselines' figures on one dev split.

    `held_out_ece` is measured only on rows the head's temperature was not fitted on: the "report" half
    for sets in the calibration, every row for the others.
    """

    spec: DevSet
    model: Scores
    held_out_ece: float
    held_out_n: int
    baselines: dict[str, Scores] = field(default_factory=dict)
    skipped_conflict: int = 0
    aspect_method: AspectMethod | None = None


def evaluate_dev_sets(
    model: SentimentModel,
    data_dir: Path,
    *,
    calibrated_on: Collection[str] = (),
    sets: Sequence[DevSet] = DEV_SETS,
    baselines: Sequence[Baseline] = BASELINES,
) -> list[SetResult]:
    """Score `model` and the baselines for the set's language on each set's dev split."""
    results: list[SetResult] = []
    for spec in sets:
        data = read_eval_jsonl(data_dir / spec.name / "dev.jsonl")
        items = data.items
        predictions = predict(model, items)
        gold = [str(item.label) for item in items]
        held_out = [
            i for i, item in enumerate(items) if spec.name not in calibrated_on or _in_report_half(item)
        ]
        held_out_ece = expected_calibration_error(
            [predictions.confidence[i] for i in held_out],
            [predictions.labels[i] == gold[i] for i in held_out],
        )
        baseline_scores = {
            b.name: score(gold, [str(x) for x in b.classify([item.text for item in items])])
            for b in baselines
            if b.language == spec.language
        }
        results.append(
            SetResult(
                spec=spec,
                model=predictions.scores(items),
                held_out_ece=held_out_ece,
                held_out_n=len(held_out),
                baselines=baseline_scores,
                skipped_conflict=data.skipped_conflict,
                aspect_method=predictions.aspect_method,
            )
        )
    return results


def _in_report_half(item: EvalItem) -> bool:
    return calibration_half(item.id) == "report"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _figure(scores: Scores, metric: Metric) -> float:
    return scores.accuracy if metric == "accuracy" else scores.macro_recall


def render_markdown(
    results: Sequence[SetResult],
    *,
    model_version: str,
    temperature: float,
    calibration: Mapping[str, Any] | None,
    command: str,
    generated_at: str,
    seconds: float,
) -> str:
    """docs/accuracy.md: headline table, calibration, per-set detail, and what the numbers do not say.

    `temperature` and `calibration` are the head's (head.json `temperature` and `calibration` record).
    """
    baseline_names = [b.name for b in BASELINES]
    lines = [
        "# Accuracy report",
        "",
        f"Generated by `{command}` on {generated_at} in {seconds:.0f} s; model `{model_version}`.",
        "Every figure below was measured in that one run, on the dev split of each set in `../shared/data`",
        "(the test splits are held back). Regenerate it with the same command after changing the model.",
        "",
        "## Headline: each set's official metric (%)",
        "",
        "| set | rows | metric | vocwatch | published (test split) | "
        + " | ".join(baseline_names)
        + " | macro-F1 | ECE held out |",
        "|---|---:|---|---:|---|" + "---:|" * len(baseline_names) + "---:|---:|",
    ]
    for r in results:
        published = f"{_pct(r.spec.published.value)} ({r.spec.published.model})" if r.spec.published else "—"
        baseline_cells = [
            _pct(_figure(r.baselines[name], r.spec.metric)) if name in r.baselines else "n/a"
            for name in baseline_names
        ]
        lines.append(
            f"| {r.spec.name} | {r.model.n:,} | {r.spec.metric.replace('_', ' ')} | "
            f"**{_pct(_figure(r.model, r.spec.metric))}** | {published} | "
            + " | ".join(baseline_cells)
            + f" | {_pct(r.model.macro_f1)} | {r.held_out_ece:.3f} (n={r.held_out_n:,}) |"
        )
    lines += ["", *_notes(results), "", *_calibration_section(temperature, calibration), "", "## Per set", ""]
    for r in results:
        lines += _detail(r)
    return "\n".join(lines) + "\n"


def _notes(results: Sequence[SetResult]) -> list[str]:
    notes = [
        "Notes:",
        "- Published figures are on the sets' test splits with the named fine-tuned models",
        "  (BERT/RoBERTa-base, ~110-125M parameters, one model per set); vocwatch is one frozen",
        "  multilingual-e5-small encoder (~118M) with one small head for all sets, measured on dev. The",
        "  head was chosen on these dev splits (see sentiment/heads/README.md), so it is a bit optimistic.",
        "- Published ChnSentiCorp figure: the ERNIE/Chinese-BERT split of ChnSentiCorp, a sibling of",
        "  chnsenticorp_htl (hotel reviews from the same author), not the same rows.",
        "- SnowNLP was trained on a corpus that contains many ChnSentiCorp and online-shopping reviews",
        "  (../shared/data/README.md: 32% and 15% of the test splits): its figures on those two sets are",
        "  inflated and it is not an independent baseline there. It has no neutral class.",
        "- VADER and SnowNLP score the whole sentence (they cannot look at one aspect);",
        "  n/a = wrong language for that lexicon.",
        "- Chinese sets are binary: a `neutral` answer counts as wrong. Macro averages run over the gold",
        "  classes.",
        "- ECE: expected calibration error of the top label, 15 equal-width bins, on rows not used to fit",
        "  the temperature (the odd sha1(id) half for calibrated sets, all rows otherwise); lower is better.",
    ]
    for r in results:
        if r.aspect_method == "sentence fallback":
            notes.append(
                f"- {r.spec.name}: the analyzer has no `score_aspects`, so each aspect got the sentiment of"
                " the whole sentence (documented fallback)."
            )
        if r.skipped_conflict:
            notes.append(
                f"- {r.spec.name}: {r.skipped_conflict} `conflict` aspect labels left out (3-way metric)."
            )
    return notes


def _calibration_section(temperature: float, calibration: Mapping[str, Any] | None) -> list[str]:
    lines = ["## Calibration (temperature scaling)", ""]
    if not calibration:
        return [*lines, "The head carries no calibration record (probabilities are uncalibrated)."]
    lines += [
        f"Temperature T = {temperature} divides the head's logits. It was fitted on one half of the dev",
        f"splits ({calibration.get('split', '')}) and measured on the other half, with the head's own",
        "features (before = T 1.0, after = the fitted T; the argmax, hence accuracy, is unchanged):",
        "",
        "| set | rows | ECE before | ECE after | NLL before | NLL after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, figures in calibration.get("report_half", {}).items():
        before, after = figures["before"], figures["after"]
        lines.append(
            f"| {name} | {figures['n']:,} | {before['ece']:.3f} | {after['ece']:.3f} | "
            f"{before['nll']:.3f} | {after['nll']:.3f} |"
        )
    return lines


def _detail(r: SetResult) -> list[str]:
    lines = [
        f"### {r.spec.name} — {r.spec.description}",
        "",
        f"vocwatch: accuracy {_pct(r.model.accuracy)}, macro recall {_pct(r.model.macro_recall)}, macro-F1 "
        f"{_pct(r.model.macro_f1)}, recall per class "
        + ", ".join(f"{label} {_pct(value)}" for label, value in r.model.recall.items())
        + ".",
    ]
    for name, scores in r.baselines.items():
        lines.append(
            f"{name}: accuracy {_pct(scores.accuracy)}, macro recall {_pct(scores.macro_recall)}, "
            f"macro-F1 {_pct(scores.macro_f1)}."
        )
    lines += ["", "| gold \\ predicted | " + " | ".join(LABELS) + " |", "|---|" + "---:|" * len(LABELS)]
    for gold, row in r.model.confusion.items():
        lines.append(f"| {gold} | " + " | ".join(str(row[p]) for p in LABELS) + " |")
    return [*lines, ""]
