"""Classification figures, and running a model over labelled items to get them.

Macro-averaged recall is TweetEval's official sentiment metric (it rewards getting the small negative class
right, which is what alerting needs); accuracy is what the Chinese review sets and the aspect-category sets
are published with; macro-F1 also punishes a class that is over-called; ECE says whether the confidence
can be used as a threshold (see `sentiment.calibration`).

Binary sets (the Chinese review sets: gold labels negative/positive only) are read two ways. As the product
reads them: the 3-way argmax, so a `neutral` answer is wrong (`Predictions.scores`). As published figures
on those sets are measured: the model must pick one of the two, positive iff p(positive) > p(negative)
(`Predictions.binary_scores`). The gap between the two is what the product's neutral class costs there.

Aspect items (a text plus an aspect category) are scored through the model's `score_aspects` when it has
one; a model without it is scored on the whole sentence, which is the honest fallback for a model that
cannot look at one aspect: it is what such a model would tell a user about that text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from sentiment.calibration import expected_calibration_error
from sentiment.corpora import EvalItem
from sentiment.types import Analysis, SentimentLabel

LABELS: tuple[str, ...] = tuple(str(label) for label in SentimentLabel)
BINARY_LABELS: tuple[str, ...] = (str(SentimentLabel.NEGATIVE), str(SentimentLabel.POSITIVE))

Probabilities = tuple[float, float, float]
"""p(negative), p(neutral), p(positive) of one item: the order of `LABELS`."""


@dataclass(frozen=True)
class Scores:
    """Figures for one evaluation set; per-class figures only for classes present in the gold labels.

    Macro averages run over the gold classes too, so a neutral answer on a binary (negative/positive)
    set costs recall of the true class but does not add a zero "neutral F1" to the average.
    """

    n: int
    accuracy: float
    macro_recall: float
    macro_f1: float
    recall: dict[str, float]
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    ece: float | None = None  # only when the predictions came with confidences

    def as_dict(self) -> dict[str, object]:
        """Rounded figures for JSON (head.json dev figures, `vocwatch eval --json`)."""
        figures: dict[str, object] = {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_recall": round(self.macro_recall, 4),
            "macro_f1": round(self.macro_f1, 4),
            "recall": {k: round(v, 4) for k, v in self.recall.items()},
            "f1": {k: round(v, 4) for k, v in self.f1.items()},
            "confusion": self.confusion,
        }
        if self.ece is not None:
            figures["ece"] = round(self.ece, 4)
        return figures


def score(
    gold: Sequence[str],
    predicted: Sequence[str],
    *,
    labels: Sequence[str] = LABELS,
    confidence: Sequence[float] | None = None,
) -> Scores:
    """Compare predictions to gold labels; `labels` fixes the order of the confusion matrix.

    `confidence` (the probability the model gave its answer) adds the expected calibration error.
    """
    if len(gold) != len(predicted) or (confidence is not None and len(confidence) != len(gold)):
        raise ValueError("gold, predicted and confidence differ in length")
    if not gold:
        raise ValueError("nothing to score")
    confusion = {g: dict.fromkeys(labels, 0) for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    present = [g for g in labels if sum(confusion[g].values())]
    recall = {g: confusion[g][g] / sum(confusion[g].values()) for g in present}
    f1 = {g: _f1(confusion, g) for g in present}
    correct = sum(confusion[g][g] for g in labels)
    ece = None
    if confidence is not None:
        ece = expected_calibration_error(confidence, [g == p for g, p in zip(gold, predicted, strict=True)])
    return Scores(
        n=len(gold),
        accuracy=correct / len(gold),
        macro_recall=sum(recall.values()) / len(recall),
        macro_f1=sum(f1.values()) / len(f1),
        recall=recall,
        f1=f1,
        confusion={g: confusion[g] for g in present},
        ece=ece,
    )


def _f1(confusion: dict[str, dict[str, int]], label: str) -> float:
    true_positive = confusion[label][label]
    predicted = sum(row[label] for row in confusion.values())
    actual = sum(confusion[label].values())
    return 2 * true_positive / (predicted + actual) if predicted + actual else 0.0


class SentimentModel(Protocol):
    """What evaluation needs from a model: `Analyzer` is one."""

    def analyze(self, texts: Sequence[str]) -> list[Analysis]: ...


@runtime_checkable
class AspectScorer(Protocol):
    """A model that can say how a text feels about one aspect (category) of what it talks about."""

    def score_aspects(self, pairs: Sequence[tuple[str, str]]) -> list[dict[SentimentLabel, float]]: ...


AspectMethod = Literal["score_aspects", "sentence fallback"]


def is_binary(gold: Sequence[str]) -> bool:
    """Whether gold labels are negative/positive only, so that the binary protocol applies."""
    return all(label in BINARY_LABELS for label in gold)


def binary_label(p_negative: float, p_positive: float) -> str:
    """The binary protocol's answer: positive iff p(positive) > p(negative), whatever p(neutral) is."""
    return str(SentimentLabel.POSITIVE if p_positive > p_negative else SentimentLabel.NEGATIVE)


@dataclass(frozen=True)
class Predictions:
    """Per item: the model's answer, its probability and all three; and how aspect items were scored."""

    labels: list[str]
    confidence: list[float]
    probabilities: list[Probabilities]
    aspect_method: AspectMethod | None  # None when there were no aspect items

    def scores(self, items: Sequence[EvalItem]) -> Scores:
        """Figures against the items' gold labels (the items these predictions were for), 3-way argmax."""
        return score([str(item.label) for item in items], self.labels, confidence=self.confidence)

    def binary_scores(self, items: Sequence[EvalItem]) -> Scores:
        """Figures under the binary protocol (module docstring); only for negative/positive gold labels."""
        gold = [str(item.label) for item in items]
        if not is_binary(gold):
            raise ValueError("the binary protocol needs gold labels that are all negative or positive")
        predicted = [binary_label(negative, positive) for negative, _, positive in self.probabilities]
        return score(gold, predicted, labels=BINARY_LABELS)


def predict(model: SentimentModel, items: Sequence[EvalItem]) -> Predictions:
    """Run `model` over `items` (sentence items through `analyze`, aspect items see the module docstring)."""
    labels: list[str] = [""] * len(items)
    confidence: list[float] = [0.0] * len(items)
    probabilities: list[Probabilities] = [(0.0, 0.0, 0.0)] * len(items)
    sentences = [i for i, item in enumerate(items) if item.aspect is None]
    aspects = [i for i, item in enumerate(items) if item.aspect is not None]
    for i, analysis in zip(sentences, model.analyze([items[i].text for i in sentences]), strict=True):
        labels[i], confidence[i], probabilities[i] = _read(analysis)
    method: AspectMethod | None = None
    if aspects:
        if isinstance(model, AspectScorer):
            method = "score_aspects"
            pairs = [(items[i].text, str(items[i].aspect)) for i in aspects]
            for i, scored in zip(aspects, model.score_aspects(pairs), strict=True):
                best = max(SentimentLabel, key=lambda label: scored.get(label, 0.0))
                labels[i], confidence[i] = str(best), float(scored.get(best, 0.0))
                probabilities[i] = _in_label_order(scored)
        else:
            method = "sentence fallback"
            texts = sorted({items[i].text for i in aspects})
            by_text = dict(zip(texts, model.analyze(texts), strict=True))
            for i in aspects:
                labels[i], confidence[i], probabilities[i] = _read(by_text[items[i].text])
    return Predictions(
        labels=labels, confidence=confidence, probabilities=probabilities, aspect_method=method
    )


def _read(analysis: Analysis) -> tuple[str, float, Probabilities]:
    return (
        str(analysis.label),
        analysis.confidence,
        (analysis.p_negative, analysis.p_neutral, analysis.p_positive),
    )


def _in_label_order(probabilities: Mapping[SentimentLabel, float]) -> Probabilities:
    negative, neutral, positive = (float(probabilities.get(label, 0.0)) for label in SentimentLabel)
    return negative, neutral, positive
