"""Fit the Chinese character n-gram model (`sentiment.ngrams`) and its stacking weight on train data only.

1. The n-gram model is fitted on the Chinese sets' train rows outside the selection slice (C by 5-fold CV
   on those rows).
2. The shipped heads read the selection slice (rows neither they nor the n-gram model were fitted on)
   through the whole analyzer path, without n-grams; the stacking weight is fitted by NLL on those rows.
3. Head alone, n-grams alone and stacked are scored on the slice, per set, into the training record.
Dev is never read here: `vocwatch eval --report` reads it once, afterwards.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.analyzer import load_analyzer
from sentiment.calibration import expected_calibration_error, fit_temperature
from sentiment.evaluation import LABELS
from sentiment.ngrams import NGRAMS_DIR, CharNgramModel, fit_char_ngrams, fit_weight, pool
from sentiment.training import CHINESE_SETS, DEFAULT_TRAIN_LIMITS, LabelledSet, select_sets
from sentiment.types import SentimentLabel


def train_char_ngrams(
    data_dir: Path, model_dir: Path, heads_dir: Path, *, command: str = ""
) -> CharNgramModel:
    """Fit the n-gram model and its weight on `heads_dir`'s heads; write it to `heads_dir/ngrams`."""
    started = time.monotonic()
    sets = select_sets(data_dir, limits={name: DEFAULT_TRAIN_LIMITS[name] for name in CHINESE_SETS})
    train = [row for s in sets for row in s.train]
    model = fit_char_ngrams([r.text for r in train], [r.label for r in train]).rounded()
    fitted_s = time.monotonic() - started
    analyzer = load_analyzer(model_dir, heads_dir=heads_dir, taxonomy=(), aspects=False)
    analyzer = dataclasses.replace(analyzer, ngrams=None)  # the head alone, as the weight will pool it
    slice_rows = [row for s in sets for row in s.selection]
    texts = [r.text for r in slice_rows]
    head = np.array(
        [[a.p_negative, a.p_neutral, a.p_positive] for a in analyzer.analyze(texts)], dtype=np.float32
    )
    log_odds = model.log_odds(texts)
    targets = [r.label for r in slice_rows]
    weight = round(fit_weight(head, log_odds, targets, LABELS), 4)
    pooled = np.log(pool(head, log_odds, weight, LABELS))
    gold = np.array([LABELS.index(label) for label in targets], dtype=np.int64)
    temperature = round(fit_temperature(pooled, gold), 4)
    model = model.with_weight(weight).with_temperature(temperature)
    record = {
        **model.metadata["training"],
        "selection": "train rows with sha1(id) % 20 == 0 (never fitted on): weight, then temperature, by NLL",
        "stacked_on": analyzer.sentiment.version,
        "selection_accuracy": _slice_figures(sets, head, log_odds, model),
        "seconds": round(time.monotonic() - started, 1),
        "fit_seconds": round(fitted_s, 1),
        "command": command,
    }
    model = model.with_metadata(training=record)
    model.save(heads_dir / NGRAMS_DIR)
    return model


def _slice_figures(
    sets: Sequence[LabelledSet],
    head: np.ndarray[Any, Any],
    log_odds: np.ndarray[Any, Any],
    model: CharNgramModel,
) -> dict[str, dict[str, float]]:
    """Per set, on its selection slice: accuracy (%) of the head, the n-grams alone and the two stacked,
    and the top-label ECE of the head and of the stack."""
    out: dict[str, dict[str, float]] = {}
    start = 0
    for s in sets:
        end = start + len(s.selection)
        gold = np.array([str(r.label) for r in s.selection])
        alone = head[start:end]
        stacked = pool(alone, log_odds[start:end], model.weight, LABELS, temperature=model.temperature)
        ngram = np.where(
            log_odds[start:end] > 0, SentimentLabel.POSITIVE.value, SentimentLabel.NEGATIVE.value
        )
        out[s.name] = {
            "rows": len(gold),
            "head": _pct(np.array(LABELS)[alone.argmax(axis=1)] == gold),
            "ngrams": _pct(ngram == gold),
            "stacked": _pct(np.array(LABELS)[stacked.argmax(axis=1)] == gold),
            "ece_head": _ece(alone, gold),
            "ece_stacked": _ece(stacked, gold),
        }
        start = end
    return out


def _ece(probabilities: np.ndarray[Any, Any], gold: np.ndarray[Any, Any]) -> float:
    correct = np.array(LABELS)[probabilities.argmax(axis=1)] == gold
    return round(expected_calibration_error(probabilities.max(axis=1), correct), 4)


def _pct(hits: np.ndarray[Any, Any]) -> float:
    return round(100 * float(hits.mean()), 1)
