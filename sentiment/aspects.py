"""Aspect sentiment from clause scores: which clauses speak about a topic, and how they feel about it.

Pure numpy over what the analyzer already computed (per-clause sentiment probabilities, topic scores and
embeddings), so the rules are tested without a model. A text of one clause has one opinion for all its
topics; a text of several gets, per topic, the sentiment of the clauses about that topic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import regex
from numpy.typing import NDArray

from sentiment.types import SentimentLabel, TopicScore

LABELS = tuple(SentimentLabel)
"""Column order of every probability matrix in this module (negative, neutral, positive)."""

ASPECT_TEMPERATURE = 0.015
"""Softmax temperature over clause-aspect cosines: a 0.03 lead puts ~88% of the weight on a clause."""
WHOLE_TEXT_WEIGHT = 0.2
"""Share of the whole text's sentiment mixed into an aspect's: clause splits are not always right."""
_GENERAL_ASPECT = regex.compile(r"(?i)\b(?:misc|miscellaneous|anecdotes?|general|overall|other)\b")


def topics_for_text(
    rows: Sequence[int],
    scores: NDArray[np.float32],
    probabilities: NDArray[np.float32],
    names: Sequence[str],
    threshold: float,
) -> tuple[TopicScore, ...]:
    """Topics of one text whose clauses (or whole text) are rows `rows` of `scores`/`probabilities`.

    The first row is the whole text; any further rows are its clauses. A topic's score is its best score
    over all rows; its label is the score-weighted sentiment of the clauses that reach `threshold`
    (of the whole text when no single clause does). Sorted by score, best first.
    """
    whole, clauses = rows[0], list(rows[1:]) or [rows[0]]
    found: list[TopicScore] = []
    for j, name in enumerate(names):
        score = float(scores[list(rows), j].max())
        if score < threshold:
            continue
        about = [r for r in clauses if scores[r, j] >= threshold] or [whole]
        weights = scores[about, j] + 1e-6
        mixed = weights @ probabilities[about] / weights.sum()
        found.append(TopicScore(topic=name, score=round(score, 4), label=LABELS[int(mixed.argmax())]))
    return tuple(sorted(found, key=lambda t: -t.score))


def aspect_probabilities(
    aspect: str,
    aspect_vector: NDArray[np.float32],
    whole: NDArray[np.float32],
    clause_vectors: NDArray[np.float32],
    clause_probabilities: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Sentiment toward `aspect` (negative, neutral, positive) in a text of the given clauses.

    Clauses are weighted by a softmax over their similarity to the aspect; a general aspect
    ("anecdotes/miscellaneous") or a one-clause text takes the whole text's sentiment.
    """
    if len(clause_vectors) <= 1 or _GENERAL_ASPECT.search(aspect):
        return whole
    similarity = clause_vectors @ aspect_vector
    weights = np.exp((similarity - similarity.max()) / ASPECT_TEMPERATURE)
    weights /= weights.sum()
    focused = weights @ clause_probabilities
    mixed: NDArray[np.float32] = ((1 - WHOLE_TEXT_WEIGHT) * focused + WHOLE_TEXT_WEIGHT * whole).astype(
        np.float32
    )
    return mixed


def aspect_input(text: str, aspect: str) -> str:
    """What the aspect head reads for "the sentiment of `text` toward `aspect`": `"<aspect>: <text>"`.

    The pair goes through the encoder as one input (the encoder adds e5's `"query: "` prefix), so the
    pooled features already depend on the aspect; training (`training.train_aspect_head`) and inference
    (`Analyzer.score_aspects`) must build it the same way, hence this one function.
    """
    return f"{aspect_query(aspect)}: {text}"


def aspect_query(aspect: str) -> str:
    """Category names as the encoder reads them best: "anecdotes/miscellaneous" -> "anecdotes or ..."."""
    return regex.sub(r"\s*/\s*", " or ", aspect.replace("_", " ").replace("#", " ")).strip()
