"""`vocwatch eval`: measure the configured analyzer on a labelled file, on CX corrections, or on every set.

Three sources of truth, one set of figures (`sentiment.evaluation.Scores`):
- a JSONL file the user labelled (`{"text","label"}` or `{"text","aspect","label"}` lines);
- cases CX staff corrected in the review UI: the closest thing to ground truth on the brand's own
  traffic, so the figure that says whether the model can be trusted *here*;
- `--report`: every dev split under the shared data directory, with published figures, lexicon
  baselines and baselines trained on each set's train split, written to docs/accuracy.md;
  `--require-beat-baselines` then fails the command where a trained baseline beats the model.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

import sentiment
from sentiment.corpora import read_eval_jsonl
from sentiment.errors import ModelFormatError, TrainSplitError
from sentiment.evaluation import LABELS, Scores, predict, score
from sentiment.reference import TFIDF_LR, frozen_e5_lr
from sentiment.report import (
    DEV_SETS,
    SetResult,
    evaluate_dev_sets,
    experiments_section,
    render_markdown,
    shortfalls,
    speed_section,
    training_section,
)
from sentiment.speed import measure
from sentiment.types import SentimentLabel
from storage.corrections import list_corrections
from vocwatch.errors import VocwatchError


def eval_file(analyzer: sentiment.Analyzer, path: Path) -> tuple[Scores, int]:
    """Figures for the analyzer on a labelled JSONL file, and how many `conflict` aspect rows were skipped."""
    if not path.is_file():
        raise VocwatchError(f"{path} is not a file", fix="pass a JSONL file of {text, label} lines")
    try:
        data = read_eval_jsonl(path)
    except (ModelFormatError, UnicodeDecodeError) as problem:
        raise VocwatchError(
            str(problem), fix='one JSON object a line: {"text": ..., "label": "negative|neutral|positive"}'
        ) from None
    if not data.items:
        raise VocwatchError(f"{path} holds no labelled rows", fix="add lines with text and label")
    return predict(analyzer, data.items).scores(data.items), data.skipped_conflict


@dataclass(frozen=True)
class CorrectionScores:
    """The analyzer against CX corrections: sentiment where a label was corrected, topics where they were."""

    sentiment: Scores | None
    topics: dict[str, float] | None  # micro precision / recall / F1 over corrected topic sets
    cases: int


def eval_corrections(sessions: sessionmaker[Session], analyzer: sentiment.Analyzer) -> CorrectionScores:
    """Re-analyse every corrected case's text and compare with the label and topics CX staff set."""
    with sessions() as session:
        rows = list_corrections(session)
    if not rows:
        raise VocwatchError(
            "no corrected cases yet", fix="correct some cases in the review UI (`vocwatch serve`) first"
        )
    analyses = analyzer.analyze([row.text for row in rows])
    labelled = [(row, a) for row, a in zip(rows, analyses, strict=True) if row.label is not None]
    sentiment_scores = None
    if labelled:
        sentiment_scores = score(
            [str(SentimentLabel(str(row.label))) for row, _ in labelled],
            [str(a.label) for _, a in labelled],
            confidence=[a.confidence for _, a in labelled],
        )
    topic_pairs = [
        (set(row.topics), {t.topic for t in a.topics})
        for row, a in zip(rows, analyses, strict=True)
        if row.topics is not None
    ]
    return CorrectionScores(
        sentiment=sentiment_scores,
        topics=_topic_figures(topic_pairs) if topic_pairs else None,
        cases=len(rows),
    )


def _topic_figures(pairs: Sequence[tuple[set[str], set[str]]]) -> dict[str, float]:
    hits = sum(len(gold & found) for gold, found in pairs)
    found = sum(len(f) for _, f in pairs)
    gold = sum(len(g) for g, _ in pairs)
    precision = hits / found if found else 0.0
    recall = hits / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"cases": len(pairs), "precision": precision, "recall": recall, "f1": f1}


def write_report(
    analyzer: sentiment.Analyzer,
    data_dir: Path,
    out: Path,
    *,
    command: str,
    cache_dir: Path | None,
    heads_dir: Path,
    sections: Sequence[str] = (),
) -> list[SetResult]:
    """Evaluate every dev split under `data_dir` and write the markdown report to `out`; returns the figures.

    The trained baselines are fitted on the train splits; the frozen-encoder one embeds them through the
    cache in `cache_dir` (~25 min for the shared sets the first time, seconds after). `sections` are extra
    markdown sections for the report (see `render_markdown`).
    """
    absent = [
        name for name in ("sklearn", "vaderSentiment", "snownlp") if importlib.util.find_spec(name) is None
    ]
    if absent:
        raise VocwatchError(
            f"the report's baselines need {', '.join(absent)}", fix="pip install 'vocwatch[eval]'"
        )
    missing = [
        f"{s.name}/{split}.jsonl"
        for s in DEV_SETS
        for split in ("train", "dev")
        if not (data_dir / s.name / f"{split}.jsonl").is_file()
    ]
    if missing:
        raise VocwatchError(
            f"{data_dir} lacks {', '.join(missing)}",
            fix="pass --data-dir pointing at the labelled sets (e.g. ../shared/data)",
        )
    head = analyzer.sentiment
    # A configured Hugging Face classifier replaces the head: its probabilities carry no calibration.
    calibration: dict[str, Any] | None = (
        head.metadata.get("calibration") if analyzer.classifier is None else None
    )
    calibrated_on = set((calibration or {}).get("fitted_on", {}))
    if analyzer.aspect is not None:  # the aspect head's temperature was fitted on half the ACSA dev rows
        calibrated_on |= set(analyzer.aspect.metadata.get("calibration", {}).get("fitted_on", {}))
    trained = (TFIDF_LR, frozen_e5_lr(analyzer.encoder, cache_dir=cache_dir))
    started = time.monotonic()
    sections = [*sections, *model_sections(analyzer, heads_dir)]
    try:
        results = evaluate_dev_sets(
            labels_only(analyzer), data_dir, calibrated_on=calibrated_on, trained=trained
        )
    except TrainSplitError as problem:
        raise VocwatchError(
            f"cannot fit the trained baselines: {problem}",
            fix="pass --data-dir pointing at the full labelled sets (e.g. ../shared/data)",
        ) from None
    text = render_markdown(
        results,
        model_version=analyzer.model_version,
        temperature=head.temperature if analyzer.classifier is None else 1.0,
        calibration=calibration,
        command=command,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        seconds=time.monotonic() - started,
        sections=sections,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return results


def require_beats_baselines(results: Sequence[SetResult], report: Path) -> None:
    """Raise a VocwatchError naming each set where a trained baseline is above the model, and by how much."""
    below = shortfalls(results)
    if below:
        detail = "; ".join(
            f"{s.set_name} {s.baseline} {100 * s.baseline_figure:.1f} vs vocwatch {100 * s.model:.1f} "
            f"(-{100 * s.gap:.1f} points)"
            for s in below
        )
        raise VocwatchError(
            f"vocwatch is below a trained baseline: {detail}",
            fix=f"improve the model until it beats them on every set ({report} has the figures)",
        )


def print_scores(console: Console, scores: Scores, *, title: str, as_json: bool) -> None:
    """The figures of `vocwatch eval`: a summary line, per-class recall and F1, the confusion matrix."""
    if as_json:
        console.print_json(json.dumps(scores.as_dict()))
        return
    ece = "—" if scores.ece is None else f"{scores.ece:.3f}"
    console.print(
        f"[bold]{title}[/bold]: {scores.n} rows, accuracy {scores.accuracy:.3f}, macro-F1 "
        f"{scores.macro_f1:.3f}, macro recall {scores.macro_recall:.3f}, ECE {ece}"
    )
    table = Table("gold \\ predicted", *LABELS, "recall", "F1", title="confusion matrix")
    for gold, row in scores.confusion.items():
        table.add_row(
            gold,
            *(str(row[p]) for p in LABELS),
            f"{scores.recall[gold]:.3f}",
            f"{scores.f1[gold]:.3f}",
        )
    console.print(table)


def print_corrections(console: Console, result: CorrectionScores, *, as_json: bool) -> None:
    """The figures of `vocwatch eval --from-corrections`."""
    if as_json:
        payload = {
            "cases": result.cases,
            "sentiment": result.sentiment.as_dict() if result.sentiment else None,
            "topics": result.topics,
        }
        console.print_json(json.dumps(payload))
        return
    console.print(f"{result.cases} corrected case(s)")
    if result.sentiment is None:
        console.print("no corrected sentiment labels")
    else:
        print_scores(console, result.sentiment, title="sentiment vs corrections", as_json=False)
    if result.topics is not None:
        t = result.topics
        console.print(
            f"topics on {t['cases']:.0f} case(s): precision {t['precision']:.3f}, recall {t['recall']:.3f}, "
            f"F1 {t['f1']:.3f}"
        )


EXPERIMENTS_FILE = "experiments.json"


def labels_only(analyzer: sentiment.Analyzer) -> sentiment.Analyzer:
    """The analyzer without clauses, topics and churn: the same labels and probabilities, at half the cost.

    A text's sentiment is read from its whole-text row, which the clause pass does not change, and aspect
    pairs go through `score_aspects` either way; skipping the rest halves the report on long reviews.
    """
    return dataclasses.replace(analyzer, aspects=False, topics=None, churn=None)


def model_sections(analyzer: sentiment.Analyzer, heads_dir: Path) -> list[str]:
    """The report's speed table (measured now), the tuned layers' training and selection record, and the
    table of what was tried (`<heads_dir>/experiments.json`, kept beside the parts it led to)."""
    import torch  # loaded with the analyzer already; imported here to keep this module light

    encoder = analyzer.encoder

    def n_tokens(text: str) -> int:
        return min(len(encoder.tokenizer(encoder.prefix + text)["input_ids"]), encoder.max_length)

    rates = measure(analyzer, n_tokens)
    training = encoder.tuned.metadata.get("training") if encoder.tuned is not None else None
    sections = [
        speed_section(rates, backend=encoder.backend, threads=torch.get_num_threads()),
        training_section(training),
    ]
    experiments = heads_dir / EXPERIMENTS_FILE
    if experiments.is_file():
        sections.append(experiments_section(json.loads(experiments.read_text(encoding="utf-8"))))
    return sections
