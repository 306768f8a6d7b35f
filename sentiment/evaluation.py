"""Classification figures used to pick and report heads: accuracy, macro recall, per-class recall, confusion.

Macro-averaged recall is TweetEval's official sentiment metric (it rewards getting the small negative class
right, which is what alerting needs); accuracy is what the Chinese review sets are published with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """Figures for one evaluation set; recall per class only for classes present in the gold labels."""

    n: int
    accuracy: float
    macro_recall: float
    recall: dict[str, float]
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_recall": round(self.macro_recall, 4),
            "recall": {k: round(v, 4) for k, v in self.recall.items()},
            "confusion": self.confusion,
        }


def score(gold: Sequence[str], predicted: Sequence[str], *, labels: Sequence[str]) -> Scores:
    """Compare predictions to gold labels; `labels` fixes the order of the confusion matrix."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        raise ValueError("nothing to score")
    confusion = {g: dict.fromkeys(labels, 0) for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    present = [g for g in labels if sum(confusion[g].values())]
    recall = {g: confusion[g][g] / sum(confusion[g].values()) for g in present}
    correct = sum(confusion[g][g] for g in labels)
    return Scores(
        n=len(gold),
        accuracy=correct / len(gold),
        macro_recall=sum(recall.values()) / len(recall),
        recall=recall,
        confusion={g: confusion[g] for g in present},
    )
